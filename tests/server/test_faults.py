"""What happens to documents while agents run: closed, deleted, many requests at once."""

from __future__ import annotations

import asyncio

from lsprotocol import types

from tests.adapters.test_agent_adapters import fake_processes
from tests.server.conftest import Editor
from tests.server.test_server import NEW_MEAN, code, code_actions

LINES = {"start": 5, "end": 6}


async def start_implement(editor: Editor, uri: str) -> str:
    answer = await editor.command(
        "agentls.runTask", uri=uri, range=LINES, agent="codex", task="implement"
    )
    return str(answer["runId"])


def close(editor: Editor, uri: str) -> None:
    editor.client.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    editor.documents.pop(uri, None)


async def test_a_document_closed_during_a_run_gets_the_edit_on_its_file(editor: Editor) -> None:
    editor.scenario("codex", code(NEW_MEAN), delay_s=1.0)
    uri = editor.open("calc.py")
    run_id = await start_implement(editor, uri)
    await asyncio.sleep(0.3)
    close(editor, uri)
    params = await editor.wait_edit()
    await editor.finished(run_id)
    if params.edit.document_changes:
        [change] = params.edit.document_changes
        assert isinstance(change, types.TextDocumentEdit)
        assert change.text_document.version is None  # the file, not a buffer
    else:
        assert params.edit.changes and uri in params.edit.changes


async def test_an_edit_made_for_text_the_user_discarded_is_not_applied(editor: Editor) -> None:
    editor.scenario("codex", code(NEW_MEAN), delay_s=1.0)
    unsaved = (editor.workspace / "calc.py").read_text().replace("len(values)", "len(values) + 0")
    uri = editor.open("calc.py", unsaved)
    run_id = await start_implement(editor, uri)
    await asyncio.sleep(0.3)
    close(editor, uri)  # the editor threw the unsaved text away; the disk differs from the run's
    reports = await editor.finished(run_id)
    assert editor.edits == []
    assert "not applied" in (reports[-1].message or "")


async def test_a_file_deleted_during_a_run(editor: Editor) -> None:
    editor.scenario("codex", code(NEW_MEAN), delay_s=1.0)
    uri = editor.open("calc.py")
    run_id = await start_implement(editor, uri)
    await asyncio.sleep(0.3)
    close(editor, uri)
    (editor.workspace / "calc.py").unlink()
    reports = await editor.finished(run_id)
    assert editor.edits == [] and "not applied" in (reports[-1].message or "")
    assert not (editor.workspace / "calc.py").exists()
    assert await editor.command("agentls.listWorkflows", uri=editor.uri("calc.py"))


async def test_fifty_code_actions_and_eight_runs_at_once(editor: Editor) -> None:
    editor.scenario("gemini", '{"findings": []}', delay_s=0.3)
    editor.scenario("codex", behavior="hang")
    uri = editor.open("calc.py")
    quick = [
        editor.command("agentls.runTask", uri=uri, task="review", agent="gemini") for _ in range(4)
    ]
    hanging = [editor.command("agentls.runWorkflow", uri=uri, workflow="default") for _ in range(4)]
    listings = [code_actions(editor, uri, diagnostics=[]) for _ in range(50)]
    answers = await asyncio.gather(*quick, *hanging, *listings)
    runs = [a["runId"] for a in answers[:8]]
    assert all(isinstance(listing, list) and listing for listing in answers[8:])
    for run_id in runs[4:]:
        await editor.command("agentls.cancel", runId=run_id)
    for run_id in runs:
        await editor.finished(run_id)
    assert fake_processes("codex") == [] and fake_processes("gemini") == []
