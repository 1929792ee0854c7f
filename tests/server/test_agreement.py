"""Two reviewers in a parallel group, as an editor sees them: what both report is one
diagnostic that says who confirmed it, one level more severe; what one reports says so; their
differing fixes arrive side by side, as related information and a quick fix each."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import yaml
from lsprotocol import types

from tests.conftest import write_trusted
from tests.server.conftest import Editor, code_actions

DIVISION = types.Range(start=types.Position(5, 0), end=types.Position(5, 36))
GEMINI_FIX = "    return sum(values) / max(len(values), 1)\n"
CLAUDE_FIX = "    return sum(values) / len(values) if values else 0.0\n"
CONFIRMED = "Division by zero when values is empty (confirmed by gemini and claude)"
CLAUDE_NOTE = "claude suggests instead: return sum(values) / len(values) if values else 0.0"


def reply(*findings: dict[str, Any]) -> str:
    return "```json\n" + json.dumps({"findings": list(findings)}) + "\n```"


GEMINI = reply(
    {
        "line": 6,
        "severity": "warning",
        "message": "Division by zero when values is empty",
        "code": "zero-div",
        "suggestion": GEMINI_FIX,
    },
    {"line": 2, "severity": "hint", "message": "add has no type hints"},
)
CLAUDE = reply(
    {
        "line": 6,
        "severity": "warning",
        "message": "division by zero if values empty",
        "suggestion": CLAUDE_FIX,
    }
)


async def review_in_pairs(editor: Editor) -> tuple[str, list[types.Diagnostic]]:
    """gemini and claude review calc.py side by side; the diagnostics published."""
    editor.scenario("gemini", GEMINI)
    editor.scenario("claude", CLAUDE)
    config_file = editor.workspace / ".agentls.yaml"
    config = yaml.safe_load(config_file.read_text())
    pair = [
        {"agent": "gemini", "task": "review", "id": "gemini_review"},
        {"agent": "claude", "task": "review", "id": "claude_review"},
    ]
    config["workflows"] = {"pair": {"steps": [{"parallel": pair}]}}
    write_trusted(config_file, yaml.safe_dump(config))
    uri = editor.open("calc.py")
    await editor.command("agentls.runWorkflow", uri=uri, workflow="pair")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30  # a client without progress hears of the end in a message
    while len(editor.client.diagnostics.get(uri, [])) < 2 and loop.time() < deadline:
        await asyncio.sleep(0.05)
    return uri, sorted(editor.client.diagnostics[uri], key=lambda d: d.range.start.line)


async def quick_fixes(editor: Editor, uri: str, diagnostic: types.Diagnostic) -> list[Any]:
    """The diagnostic's quick fixes, each with its edit (resolved as an editor would)."""
    actions = await code_actions(editor, uri, diagnostic.range, diagnostics=[diagnostic])
    fixes = []
    for action in actions:
        if action.kind != types.CodeActionKind.QuickFix:
            continue
        if action.edit is None:
            action = await editor.client.code_action_resolve_async(action)
        fixes.append(action)
    return fixes


def new_text(action: types.CodeAction) -> str:
    assert action.edit is not None
    changes = action.edit.document_changes or []
    edits = [e for c in changes if isinstance(c, types.TextDocumentEdit) for e in c.edits]
    edits += [e for found in (action.edit.changes or {}).values() for e in found]
    [edit] = edits
    return edit.new_text if isinstance(edit, types.TextEdit) else ""


async def test_what_both_reviewers_report_is_one_raised_diagnostic_with_both_fixes(
    editor: Editor,
) -> None:
    uri, [alone, agreed] = await review_in_pairs(editor)
    assert alone.message == "add has no type hints (only gemini reported this)"
    assert alone.severity == types.DiagnosticSeverity.Hint  # kept as reported
    assert agreed.message == CONFIRMED
    assert agreed.severity == types.DiagnosticSeverity.Error  # two warnings: an error
    assert agreed.range == DIVISION
    [related] = agreed.related_information or []
    assert related.message == CLAUDE_NOTE
    assert related.location == types.Location(uri=uri, range=DIVISION)

    fixes = await quick_fixes(editor, uri, agreed)
    assert [fix.title for fix in fixes] == [
        "agentls: apply gemini's suggestion for zero-div",
        "agentls: apply claude's suggestion for zero-div",
    ]
    assert [new_text(fix) for fix in fixes] == [GEMINI_FIX, CLAUDE_FIX]
    assert not any(fix.is_preferred for fix in fixes)  # they disagree: the user chooses
    assert fixes[1].edit is not None
    editor.apply(types.ApplyWorkspaceEditParams(edit=fixes[1].edit))
    assert CLAUDE_FIX in editor.text(uri)


async def test_the_other_fix_moves_with_the_code(editor: Editor) -> None:
    uri, [_, agreed] = await review_in_pairs(editor)
    editor.type(uri, "import math\n" + editor.text(uri))
    await asyncio.sleep(0.3)
    [_, moved] = sorted(editor.client.diagnostics[uri], key=lambda d: d.range.start.line)
    below = types.Range(start=types.Position(6, 0), end=types.Position(6, 36))
    assert moved.range == below and moved.message == agreed.message
    [related] = moved.related_information or []
    assert related.location.range == below and related.message == CLAUDE_NOTE
    claude = (await quick_fixes(editor, uri, moved))[1]
    assert claude.edit is not None
    editor.apply(types.ApplyWorkspaceEditParams(edit=claude.edit))
    assert editor.text(uri).splitlines()[6] == CLAUDE_FIX.rstrip("\n")


async def test_a_client_without_related_information_reads_the_other_fix_in_the_message(
    eglot: Any,
) -> None:
    editor: Editor = eglot.editor
    uri, [alone, agreed] = await review_in_pairs(editor)
    assert alone.message == "add has no type hints (only gemini reported this)"
    assert agreed.message == (
        f"Division by zero when values is empty (confirmed by gemini and claude; {CLAUDE_NOTE})"
    )
    assert agreed.related_information is None
    fixes = await quick_fixes(editor, uri, agreed)
    assert [new_text(fix) for fix in fixes] == [GEMINI_FIX, CLAUDE_FIX]


async def test_a_forged_alternative_sent_back_offers_no_fix(editor: Editor) -> None:
    uri, [_, agreed] = await review_in_pairs(editor)
    assert isinstance(agreed.data, dict)
    forged: list[dict[str, Any]] = [
        {"agent": "x", "line": 0, "endLine": 1, "suggestion": "rm -rf\n"},  # no line 0
        {"agent": "x", "line": 6, "endLine": 2, "suggestion": "rm -rf\n"},  # ends before
        {"agent": "x", "line": 6, "endLine": 6},  # no suggestion
        "not an object",
    ]
    for alternative in forged:
        data = {**agreed.data, "alternatives": [alternative]}
        sent = types.Diagnostic(
            range=agreed.range, message=agreed.message, source="agentls", data=data
        )
        assert await quick_fixes(editor, uri, sent) == []
    assert len(await quick_fixes(editor, uri, agreed)) == 2  # the server still answers
