"""Cached answers in the editor: labelled where the user sees them, and a way to ask afresh."""

from __future__ import annotations

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from tests.server.conftest import Editor, code_actions

RERUN = "agentls: run again without the cache"


async def review(editor: Editor, uri: str, **arguments: object) -> tuple[str, str]:
    """A ruff review of ``uri``: its run id and its progress's end message."""
    answer = await editor.command(
        "agentls.runTask", uri=uri, task="review", agent="ruff", **arguments
    )
    return answer["runId"], await end_message(editor, answer["runId"])


async def end_message(editor: Editor, run_id: str) -> str:
    reports = await editor.finished(run_id)
    assert isinstance(reports[-1], types.WorkDoneProgressEnd)
    return reports[-1].message or ""


def only_diagnostic(editor: Editor, uri: str) -> types.Diagnostic:
    [diagnostic] = editor.client.diagnostics[uri]
    assert diagnostic.code == "F401"
    return diagnostic


def is_cached(diagnostic: types.Diagnostic) -> bool:
    labelled = diagnostic.message.endswith("(cached)")
    assert labelled == bool(isinstance(diagnostic.data, dict) and diagnostic.data.get("cached"))
    return labelled


async def rerun_actions(
    editor: Editor, uri: str, diagnostic: types.Diagnostic
) -> list[types.CodeAction]:
    actions = await code_actions(editor, uri, diagnostic.range, diagnostics=[diagnostic])
    return [action for action in actions if action.title == RERUN]


@pytest.fixture
def uri(editor: Editor) -> str:
    (editor.workspace / "bad.py").write_text("import os\n")
    return editor.open("bad.py")


async def test_a_cached_review_says_so_and_runs_again_without_the_cache(
    editor: Editor, uri: str
) -> None:
    _, first_end = await review(editor, uri)
    fresh = only_diagnostic(editor, uri)
    assert not is_cached(fresh) and "cached" not in first_end
    assert await rerun_actions(editor, uri, fresh) == []

    cached_run, cached_end = await review(editor, uri)
    cached = only_diagnostic(editor, uri)
    assert is_cached(cached) and "cached answer of ruff" in cached_end
    reports = await editor.finished(cached_run)
    steps = [r.message for r in reports if isinstance(r, types.WorkDoneProgressReport)]
    assert any(step.startswith("review: ok (cached) · ") for step in steps)
    [action] = await rerun_actions(editor, uri, cached)
    assert action.kind == types.CodeActionKind.QuickFix
    assert list(action.diagnostics or []) == [cached]
    assert action.command is not None and action.command.command == "agentls.rerun"
    assert list(action.command.arguments or []) == [{"runId": cached_run, "noCache": True}]

    answer = await editor.client.workspace_execute_command_async(
        types.ExecuteCommandParams(
            command=action.command.command, arguments=action.command.arguments
        )
    )
    assert answer["runId"] != cached_run
    assert "cached" not in await end_message(editor, answer["runId"])
    assert not is_cached(only_diagnostic(editor, uri))
    report = await editor.command("agentls.showRun", runId=answer["runId"])
    assert "Cached answers" not in report["markdown"]

    _, after = await review(editor, uri)  # the fresh answer was kept
    assert is_cached(only_diagnostic(editor, uri)) and "cached answer of ruff" in after


async def test_no_cache_asks_afresh_and_the_report_labels_a_cached_step(
    editor: Editor, uri: str
) -> None:
    await review(editor, uri)
    _, fresh_end = await review(editor, uri, noCache=True)
    assert "cached" not in fresh_end and not is_cached(only_diagnostic(editor, uri))
    answer = await editor.command("agentls.runWorkflow", uri=uri, workflow="offline", noCache=False)
    await end_message(editor, answer["runId"])
    report = await editor.command("agentls.showRun", runId=answer["runId"])
    assert "Cached answers, no agent ran: review (ruff)" in report["markdown"]


async def test_rerun_of_an_unknown_run_is_a_clear_error(editor: Editor, uri: str) -> None:
    with pytest.raises(JsonRpcException, match="no run 'nope' in this session"):
        await editor.command("agentls.rerun", runId="nope", noCache=True)
