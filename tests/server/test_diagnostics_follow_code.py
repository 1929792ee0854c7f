"""Review diagnostics and their quick fixes, following the code: an edit that rewrites a
finding's lines drops it, and a review replaces only its own reviewers' findings on the lines
it reviewed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

from lsprotocol import types

from tests.server.conftest import FINDINGS, Editor, apply_quick_fix

STATS = """def add(a, b):
    return a + b


def mean(values):
    if not values:
        pass
    total = sum(values)
    count = len(values)
    return total / count
"""
# The implementer's rewrite of mean() happens to keep `total = sum(values)` (line 8).
REWRITTEN = """def add(a, b):
    return a + b


def mean(values: list[float]) -> float:
    \"\"\"The average of values, 0.0 for none.\"\"\"
    total = sum(values)
    return total / len(values) if values else 0.0
"""
MEAN_LINES = {"start": {"line": 4, "character": 0}, "end": {"line": 10, "character": 0}}


def findings(*found: tuple[int, str]) -> str:
    items = [{"line": line, "severity": "warning", "message": message} for line, message in found]
    return "```json\n" + json.dumps({"findings": items}) + "\n```"


async def published(
    editor: Editor, uri: str, check: Callable[[list[types.Diagnostic]], bool]
) -> list[types.Diagnostic]:
    """``uri``'s diagnostics once ``check`` holds for what the server last published."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while loop.time() < deadline:
        diagnostics = list(editor.client.diagnostics.get(uri, []))
        if check(diagnostics):
            return diagnostics
        await asyncio.sleep(0.05)
    raise AssertionError(f"diagnostics never matched: {editor.client.diagnostics.get(uri)}")


async def handled(editor: Editor, uri: str) -> None:
    """Once this returns, the server has handled what the editor sent before (it answers in
    order) and published what that changed."""
    await editor.client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(start=types.Position(0, 0), end=types.Position(0, 0)),
            context=types.CodeActionContext(diagnostics=[]),
        )
    )


def shown(diagnostics: list[types.Diagnostic]) -> set[tuple[int, str]]:
    return {(d.range.start.line + 1, d.message) for d in diagnostics}


async def review(editor: Editor, uri: str, agent: str, **target: object) -> None:
    answer = await editor.command("agentls.runTask", uri=uri, task="review", agent=agent, **target)
    await editor.finished(answer["runId"])


async def test_review_diagnostics_and_their_quick_fix(editor: Editor) -> None:
    editor.scenario("gemini", FINDINGS)
    uri = editor.open("calc.py")
    answer = await editor.command("agentls.runTask", uri=uri, task="review", agent="gemini")
    await editor.finished(answer["runId"])
    [diagnostic] = editor.client.diagnostics[uri]
    assert diagnostic.source == "agentls" and diagnostic.code == "zero-div"
    assert diagnostic.severity == types.DiagnosticSeverity.Error
    assert diagnostic.range.start.line == 5 and "(gemini)" in diagnostic.message
    await apply_quick_fix(editor, uri, diagnostic)
    assert "    return sum(values) / max(len(values), 1)\n" in editor.text(uri)
    cleared = await editor.command("agentls.clearDiagnostics", uri=uri)
    assert cleared == {"cleared": 1}


async def test_a_findings_hover_shows_the_suggested_code(editor: Editor) -> None:
    editor.scenario("gemini", FINDINGS)
    uri = editor.open("calc.py")
    answer = await editor.command("agentls.runTask", uri=uri, task="review", agent="gemini")
    await editor.finished(answer["runId"])
    hover = await editor.client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=5, character=8),
        )
    )
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    assert hover.contents.value == (
        "**gemini suggests** for zero\\-div (lines 6-6):\n\n"
        "```\n    return sum(values) / max(len(values), 1)\n```"
    )
    elsewhere = await editor.client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=0, character=0),
        )
    )
    assert elsewhere is None


async def test_editing_a_flagged_line_drops_its_diagnostic(editor: Editor) -> None:
    editor.scenario("gemini", FINDINGS)
    uri = editor.open("calc.py")
    answer = await editor.command("agentls.runTask", uri=uri, task="review", agent="gemini")
    await editor.finished(answer["runId"])
    text = editor.text(uri)
    editor.type(uri, "import math\n" + text)  # above: the diagnostic moves down
    await asyncio.sleep(0.3)
    [moved] = editor.client.diagnostics[uri]
    assert moved.range.start.line == 6
    editor.type(uri, editor.text(uri).replace("len(values)", "len(values) or 1"))
    await asyncio.sleep(0.3)
    assert list(editor.client.diagnostics[uri]) == []


async def test_an_applied_edit_that_rewrites_a_finding_drops_it(editor: Editor) -> None:
    editor.scenario("gemini", findings((2, "add has no type hints"), (8, "mean of nothing")))
    editor.scenario("codex", f"Here:\n```python\n{REWRITTEN}```\n")
    (editor.workspace / "stats.py").write_text(STATS)
    uri = editor.open("stats.py")
    await review(editor, uri, "gemini")
    await published(editor, uri, lambda found: len(found) == 2)
    answer = await editor.command(
        "agentls.runTask", uri=uri, task="implement", agent="codex", instruction="fix mean"
    )
    await editor.finished(answer["runId"])
    assert editor.text(uri) == REWRITTEN
    kept = await published(editor, uri, lambda found: len(found) == 1)
    assert shown(kept) == {(2, "add has no type hints (gemini)")}


async def test_typing_that_rewrites_a_finding_drops_it_and_small_edits_around_keep_it(
    editor: Editor,
) -> None:
    editor.scenario("gemini", findings((8, "mean of nothing")))
    (editor.workspace / "stats.py").write_text(STATS)
    uri = editor.open("stats.py")
    await review(editor, uri, "gemini")
    await published(editor, uri, lambda found: len(found) == 1)
    around = STATS.replace("        pass\n", "        return 0.0\n").replace(
        "    count = len", "    n = len"
    )
    editor.type(uri, around)  # one line changed above it and one below: it stays
    await handled(editor, uri)
    [kept] = editor.client.diagnostics[uri]
    assert kept.range.start.line == 7
    editor.type(uri, REWRITTEN)
    assert await published(editor, uri, lambda found: not found) == []


async def test_a_range_review_replaces_only_that_agents_findings_in_that_range(
    editor: Editor,
) -> None:
    editor.scenario(
        "gemini",
        findings((2, "add has no type hints"), (8, "mean of nothing")),
        findings((9, "count shadows nothing")),
    )
    editor.scenario("claude", findings((8, "sum of floats loses precision")))
    (editor.workspace / "stats.py").write_text(STATS)
    uri = editor.open("stats.py")
    await review(editor, uri, "gemini")
    await review(editor, uri, "claude")
    await published(editor, uri, lambda found: len(found) == 3)
    await review(editor, uri, "gemini", range=MEAN_LINES)
    after = await published(
        editor, uri, lambda found: (9, "count shadows nothing (gemini)") in shown(found)
    )
    assert shown(after) == {
        (2, "add has no type hints (gemini)"),
        (8, "sum of floats loses precision (claude)"),
        (9, "count shadows nothing (gemini)"),
    }


async def test_quick_fixes_of_overlapping_findings_name_their_finding(editor: Editor) -> None:
    fix = "    return sum(values) / max(len(values), 1)\n"
    reply = {
        "findings": [
            {"line": 6, "message": "empty list", "code": "zero-div", "suggestion": fix},
            {"line": 5, "end_line": 6, "message": "mean of an empty list", "suggestion": fix},
        ]
    }
    editor.scenario("gemini", "```json\n" + json.dumps(reply) + "\n```")
    uri = editor.open("calc.py")
    await review(editor, uri, "gemini")
    diagnostics = await published(editor, uri, lambda found: len(found) == 2)
    result = await editor.client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=diagnostics[1].range,
            context=types.CodeActionContext(
                diagnostics=diagnostics, only=[types.CodeActionKind.QuickFix]
            ),
        )
    )
    titles = sorted(a.title for a in result or [])
    assert titles == [
        "agentls: apply gemini's suggestion for mean of an empty list",
        "agentls: apply gemini's suggestion for zero-div",
    ]
