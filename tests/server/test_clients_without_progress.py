"""A client with neither work-done progress nor ``codeAction/resolve``: the capabilities Emacs
28's eglot 1.9 sends (tests/data). Runs begin and end with messages, quick fixes carry their
edit, and edits come versioned."""

from __future__ import annotations

import asyncio
from typing import Any

from lsprotocol import types

from tests.server.conftest import FINDINGS, MEAN_RANGE, NEW_MEAN, Editor, code, code_actions


async def messages_until(editor: Editor, part: str, timeout: float = 30) -> list[str]:
    """The messages shown so far, once one contains ``part``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        shown = [m.message for m in editor.client.messages]
        if any(part in m for m in shown):
            return shown
        await asyncio.sleep(0.05)
    raise AssertionError(f"no message with {part!r}: {editor.client.messages}")


async def test_a_review_is_announced_and_its_quick_fix_needs_no_resolve(eglot: Any) -> None:
    editor: Editor = eglot.editor
    editor.scenario("gemini", FINDINGS)
    uri = editor.open("calc.py")
    answer = await editor.command("agentls.runTask", uri=uri, task="review", agent="gemini")
    run_id = answer["runId"]
    shown = await messages_until(editor, "review (gemini): ok")
    assert shown == [
        f"agentls: review with gemini: started (run {run_id})",
        "agentls: review (gemini): ok, 1 iteration, 1 finding, 0 files changed",
    ]
    assert not editor.client.progress_reports, "no progress for a client that did not ask"
    [diagnostic] = editor.client.diagnostics[uri]
    actions = await code_actions(editor, uri, diagnostic.range, diagnostics=[diagnostic])
    [fix] = [a for a in actions if a.kind == types.CodeActionKind.QuickFix]
    assert fix.edit is not None and fix.edit.document_changes, "versioned, in the action itself"
    editor.apply(types.ApplyWorkspaceEditParams(edit=fix.edit))
    assert "    return sum(values) / max(len(values), 1)\n" in editor.text(uri)


async def test_an_applied_run_and_a_cancelled_one_end_with_a_message(eglot: Any) -> None:
    editor: Editor = eglot.editor
    editor.scenario("codex", code(NEW_MEAN))
    uri = editor.open("calc.py")
    lines = {"start": MEAN_RANGE.start, "end": MEAN_RANGE.end}
    await editor.command("agentls.runTask", uri=uri, task="implement", agent="codex", range=lines)
    await editor.wait_edit()
    shown = await messages_until(editor, "applied to calc.py")
    assert shown[-1] == (
        "agentls: implement (codex): ok, 1 iteration, 0 findings, 1 file changed; "
        "applied to calc.py"
    )
    assert "if values else 0.0" in editor.text(uri)

    editor.scenario("codex", behavior="hang")
    await editor.command("agentls.runTask", uri=uri, task="implement", agent="codex")
    await messages_until(editor, "started", timeout=10)
    while not editor.calls("codex")[1:]:
        await asyncio.sleep(0.05)
    assert await editor.command("agentls.cancel") == {"cancelled": True}
    shown = await messages_until(editor, "cancelled")
    assert shown[-1].startswith("agentls: implement (codex): cancelled")
    assert len(shown) == 4, "one message at each start and end, none twice"


async def test_a_failed_run_is_told_once(eglot: Any) -> None:
    editor: Editor = eglot.editor
    editor.scenario("codex", behavior="crash")
    uri = editor.open("calc.py")
    await editor.command("agentls.runTask", uri=uri, task="implement", agent="codex")
    shown = await messages_until(editor, "failed")
    await asyncio.sleep(0.3)
    shown = [m.message for m in editor.client.messages]
    assert len(shown) == 2 and "codex crashed" in shown[-1], shown


async def test_a_follow_up_that_cannot_start_is_told_once(eglot: Any) -> None:
    editor: Editor = eglot.editor
    editor.answer = "Discard"
    editor.client.set_configuration({"applyMode": "ask"}, section="agentls")
    editor.client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings=None)  # eglot's pull model
    )
    await asyncio.sleep(0.2)
    editor.scenario("codex", code(NEW_MEAN))
    uri = editor.open("calc.py")
    answer = await editor.command("agentls.runTask", uri=uri, task="implement", agent="codex")
    await messages_until(editor, "not applied; Apply run")
    editor.type(uri, "# mine\n" + editor.text(uri))
    await editor.command("agentls.followUp", runId=answer["runId"], message="shorter")
    await messages_until(editor, "changed since run")
    await asyncio.sleep(0.3)
    shown = [m.message for m in editor.client.messages]
    assert shown[2] == f"agentls: implement with codex (follow-up): started (run {answer['runId']})"
    assert len(shown) == 4 and "calc.py changed since run" in shown[3], shown
