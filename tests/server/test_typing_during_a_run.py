"""The user types while an agent runs: the typing is kept, and the edit is rebased around it or,
where the agent worked, refused."""

from __future__ import annotations

import asyncio

from lsprotocol import types

from tests.server.conftest import NEW_MEAN, Editor, code


async def test_typing_during_a_run_is_kept_and_the_edit_rebased(editor: Editor) -> None:
    editor.scenario("codex", code(NEW_MEAN), delay_s=1.5)
    uri = editor.open("calc.py")
    one = {"agent": "codex", "task": "implement"}
    lines = {"start": 5, "end": 6}
    run_id = (await editor.command("agentls.runTask", uri=uri, range=lines, **one))["runId"]
    await asyncio.sleep(0.3)
    editor.type(uri, "# typed while the agent ran\n" + editor.text(uri))
    params = await editor.wait_edit()
    await editor.finished(run_id)
    text = editor.text(uri)
    assert text.startswith("# typed while the agent ran\ndef add(a, b):")
    assert text.endswith(NEW_MEAN)
    if params.edit.document_changes:
        change = params.edit.document_changes[0]
        assert isinstance(change, types.TextDocumentEdit) and change.text_document.version == 2


async def test_typing_where_the_agent_worked_refuses_the_edit(editor: Editor) -> None:
    editor.scenario("codex", code(NEW_MEAN), delay_s=1.5)
    uri = editor.open("calc.py")
    lines = {"start": 5, "end": 6}
    run_id = (
        await editor.command("agentls.runTask", uri=uri, range=lines, agent="codex",
                             task="implement")
    )["runId"]  # fmt: skip
    await asyncio.sleep(0.3)
    mine = editor.text(uri).replace("len(values)", "len(values)  # mine")
    editor.type(uri, mine)
    reports = await editor.finished(run_id)
    assert editor.edits == [] and editor.text(uri) == mine
    assert "changed where the agents worked" in (reports[-1].message or "")
    assert "your text is untouched" in (reports[-1].message or "")
    told = [m for m in editor.client.messages if "your text is untouched" in m.message]
    assert told == [], "the progress's end says it: once"
    report = await editor.command("agentls.showRun", runId=run_id)
    assert "if values else 0.0" in report["markdown"]  # the proposal is kept
