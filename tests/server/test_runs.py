"""Runs driven as editors drive them: progress, one versioned edit, what a run sees, two runs at
once, a failed agent, and cancelling (a run, every run, the progress's cancel button)."""

from __future__ import annotations

import asyncio

from lsprotocol import types

from tests.adapters.test_agent_adapters import fake_processes
from tests.server.conftest import FINDINGS, NEW_MEAN, Editor, code, code_actions


async def test_a_workflow_run_reports_progress_and_applies_one_versioned_edit(
    editor: Editor,
) -> None:
    editor.scenario("codex", code(NEW_MEAN))
    editor.scenario("gemini", '{"findings": []}')
    editor.scenario("claude", code(NEW_MEAN))
    uri = editor.open("calc.py")
    lsp_range = {"start": {"line": 4, "character": 0}, "end": {"line": 6, "character": 0}}
    answer = await editor.command(
        "agentls.runWorkflow",
        uri=uri,
        range=lsp_range,
        workflow="default",
        instruction="handle empty lists",
    )
    run_id = answer["runId"]
    params = await editor.wait_edit()
    assert params.label == "agentls: default"
    if params.edit.document_changes:
        [change] = params.edit.document_changes
        assert isinstance(change, types.TextDocumentEdit)
        assert change.text_document.version == 1
    reports = await editor.finished(run_id)
    assert isinstance(reports[0], types.WorkDoneProgressBegin) and reports[0].cancellable
    messages = [r.message for r in reports if isinstance(r, types.WorkDoneProgressReport)]
    assert any("step 1/3 implement (codex)" in (m or "") for m in messages)
    assert "applied to calc.py" in (reports[-1].message or "")
    assert "if values else 0.0" in editor.text(uri)
    assert "def add(a, b):" in editor.text(uri)
    assert "if values" not in (editor.workspace / "calc.py").read_text()  # the editor saves
    report = await editor.command("agentls.showRun", runId=run_id)
    assert report["status"] == "ok" and "# default — ok" in report["markdown"]


async def test_cancel_stops_the_run_and_its_processes(editor: Editor) -> None:
    editor.scenario("codex", behavior="hang")
    uri = editor.open("calc.py")
    answer = await editor.command("agentls.runWorkflow", uri=uri, workflow="default")
    run_id = answer["runId"]
    for _ in range(100):
        if editor.calls("codex"):
            break
        await asyncio.sleep(0.05)
    assert await editor.command("agentls.cancel", runId=run_id) == {"cancelled": True}
    reports = await editor.finished(run_id)
    assert "cancelled" in (reports[-1].message or "")
    assert fake_processes("codex") == []
    assert editor.edits == [] and editor.text(uri) == (editor.workspace / "calc.py").read_text()


async def test_cancel_without_a_run_id_stops_every_run(editor: Editor) -> None:
    editor.scenario("codex", behavior="hang")
    uri = editor.open("calc.py")
    first = (await editor.command("agentls.runTask", uri=uri, task="implement"))["runId"]
    second = (await editor.command("agentls.runTask", uri=uri, task="implement"))["runId"]
    for _ in range(100):
        if len(editor.calls("codex")) == 2:
            break
        await asyncio.sleep(0.05)
    assert await editor.command("agentls.cancel") == {"cancelled": True}
    for run_id in (first, second):
        reports = await editor.finished(run_id)
        assert "cancelled" in (reports[-1].message or "")
    assert fake_processes("codex") == []
    assert await editor.command("agentls.cancel") == {"cancelled": False}


async def test_the_progress_cancel_button_stops_the_run(editor: Editor) -> None:
    editor.scenario("codex", behavior="hang")
    uri = editor.open("calc.py")
    run_id = (await editor.command("agentls.runWorkflow", uri=uri))["runId"]
    token = None
    for _ in range(100):
        token = next((t for t in editor.client.progress_reports if run_id in str(t)), None)
        if token and editor.calls("codex"):
            break
        await asyncio.sleep(0.05)
    assert token is not None
    editor.client.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token=token))
    reports = await editor.finished(run_id)
    assert "cancelled" in (reports[-1].message or "")
    assert fake_processes("codex") == []


async def test_two_runs_at_once(editor: Editor) -> None:
    editor.scenario("codex", code(NEW_MEAN), delay_s=0.5)
    editor.scenario("gemini", FINDINGS, delay_s=0.5)
    uri = editor.open("calc.py")
    first = await editor.command("agentls.runTask", uri=uri, task="review", agent="gemini")
    second = await editor.command(
        "agentls.runTask", uri=uri, task="implement", agent="codex", range={"start": 5, "end": 6}
    )
    assert first["runId"] != second["runId"]
    await editor.finished(first["runId"])
    await editor.finished(second["runId"])
    assert len(editor.edits) == 1 and "if values else 0.0" in editor.text(uri)


async def test_a_failed_agent_leaves_the_document_untouched(editor: Editor) -> None:
    editor.scenario("codex", behavior="crash")
    uri = editor.open("calc.py")
    before = editor.text(uri)
    run_id = (await editor.command("agentls.runTask", uri=uri, task="implement", agent="codex"))[
        "runId"
    ]
    reports = await editor.finished(run_id)
    assert "failed" in (reports[-1].message or "")
    assert editor.edits == [] and editor.text(uri) == before
    assert any("codex crashed" in m.message for m in editor.client.messages)


async def test_a_run_sees_unsaved_text_other_open_files_and_editor_diagnostics(
    editor: Editor,
) -> None:
    editor.scenario("claude", "It averages numbers.")
    (editor.workspace / "helpers.py").write_text("HELPER = 1\n")
    editor.open("helpers.py", "HELPER = 2  # unsaved\n")
    uri = editor.open("calc.py", "def add(a, b):\n    return a + b  # unsaved edit\n")
    other = types.Diagnostic(
        range=types.Range(
            start=types.Position(line=1, character=0), end=types.Position(line=1, character=5)
        ),
        message="Unused thing",
        source="pyright",
    )
    whole = types.Range(
        start=types.Position(line=0, character=0), end=types.Position(line=2, character=0)
    )
    actions = await code_actions(editor, uri, whole, diagnostics=[other])
    explain = next(a for a in actions if a.title.startswith("agentls: explain"))
    assert explain.command is not None
    [arguments] = explain.command.arguments or []
    run_id = (await editor.command(explain.command.command, **arguments))["runId"]
    await editor.finished(run_id)
    [call] = editor.calls("claude")
    assert "return a + b  # unsaved edit" in call["prompt"]
    assert "HELPER = 2  # unsaved" in call["prompt"]
    assert "pyright: line 2: Unused thing" in call["prompt"]
