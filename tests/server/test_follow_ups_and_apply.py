"""Follow-ups on quick tasks and applied runs, the runs' listing, and applying a proposal
later (agentls.listRuns, agentls.followUp, agentls.applyRun), driven as editors drive them."""

from __future__ import annotations

import asyncio

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from tests.conftest import SAMPLE
from tests.server.conftest import Editor

OLD_MEAN = "def mean(values):\n    return sum(values) / len(values)\n"
ONE_LINE = "def mean(values): return sum(values) / len(values) if values else 0.0\n"
SHORTER = "def mean(values):\n    return sum(values) / len(values) if values else 0\n"
MEAN_LINES = {"start": 5, "end": 6}


def code(text: str) -> str:
    return f"Here:\n```python\n{text}```\n"


async def ended(editor: Editor, run_id: str, count: int, timeout: float = 30) -> str:
    """The end message of the ``count``th progress of ``run_id`` (a follow-up has its own)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        ends = [
            reports[-1].message or ""
            for token, reports in editor.client.progress_reports.items()
            if run_id in str(token)
            and reports
            and isinstance(reports[-1], types.WorkDoneProgressEnd)
        ]
        if len(ends) >= count:
            return ends[count - 1]
        await asyncio.sleep(0.05)
    raise AssertionError(f"run {run_id} did not end {count} time(s) in {timeout} s")


async def implement(editor: Editor, uri: str) -> str:
    """Implement (a quick task) on lines 5-6, as the editor's command sends it; the run id."""
    answer = await editor.command("agentls.runTask", uri=uri, range=MEAN_LINES, task="implement")
    return str(answer["runId"])


async def _called(editor: Editor, agent: str) -> None:
    while not editor.calls(agent):
        await asyncio.sleep(0.05)


async def set_apply_mode(editor: Editor, mode: str) -> None:
    editor.client.set_configuration({"applyMode": mode}, section="agentls")
    editor.client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings=None)
    )
    await asyncio.sleep(0.2)  # the server asks for the settings


async def test_a_quick_task_is_followed_up_on_the_lines_its_applied_edit_left(
    editor: Editor,
) -> None:
    """Review, Explain, Implement and Refine can be followed up like workflows; here the
    applied edit made lines 5-6 one line, the last of the file."""
    editor.scenario("codex", code(ONE_LINE), code(SHORTER))
    uri = editor.open("calc.py")
    run_id = await implement(editor, uri)
    assert "applied to calc.py" in await ended(editor, run_id, 1)
    assert editor.text(uri) == SAMPLE.replace(OLD_MEAN, ONE_LINE)
    [listed] = await editor.command("agentls.listRuns")
    assert listed["runId"] == run_id and listed["title"] == "agentls: implement with codex"
    assert listed["followable"] is True and listed["applicable"] is False

    again = await editor.command("agentls.followUp", runId=run_id, message="two lines please")
    assert again == {"runId": run_id}
    assert "applied to calc.py" in await ended(editor, run_id, 2)
    assert editor.text(uri) == SAMPLE.replace(OLD_MEAN, SHORTER)
    assert "lines 5-5 of calc.py" in editor.calls("codex")[-1]["prompt"]
    [listed] = await editor.command("agentls.listRuns")
    assert listed["title"] == "agentls: implement with codex (follow-up)"


async def test_the_listing_says_which_runs_can_be_followed_up_and_applied(
    editor: Editor,
) -> None:
    await set_apply_mode(editor, "ask")
    editor.answer = "Discard"
    editor.scenario("codex", code(SHORTER))
    editor.scenario("gemini", behavior="hang")
    uri = editor.open("calc.py")
    declined = await implement(editor, uri)
    note = await ended(editor, declined, 1)
    assert "not applied; Apply run (in a terminal: `agentls apply " in note
    going = (await editor.command("agentls.runTask", uri=uri, task="review"))["runId"]
    await asyncio.wait_for(_called(editor, "gemini"), 15)

    listed = {run["runId"]: run for run in await editor.command("agentls.listRuns")}
    assert [run["runId"] for run in listed.values()] == [going, declined], "newest first"
    assert listed[going]["status"] == "running"
    assert not listed[going]["followable"] and not listed[going]["applicable"]
    assert listed[declined]["followable"] and listed[declined]["applicable"]
    report = await editor.command("agentls.showRun", runId=declined)
    assert report["applicable"] is True and "Apply run" in report["markdown"]
    assert "agentls.applyRun" not in report["markdown"]

    assert await editor.command("agentls.applyRun", runId=declined) == {
        "applied": True,
        "note": "applied to calc.py",
    }
    assert editor.text(uri) == SAMPLE.replace(OLD_MEAN, SHORTER)
    assert len(editor.calls("codex")) == 1, "applied without running the agent again"
    listed = {run["runId"]: run for run in await editor.command("agentls.listRuns")}
    assert listed[declined]["applicable"] is False
    with pytest.raises(JsonRpcException, match="is applied already"):
        await editor.command("agentls.applyRun", runId=declined)
    await editor.command("agentls.cancel", runId=going)
    await ended(editor, going, 1)


async def test_a_proposal_the_editor_did_not_apply_is_told_once_and_applies_later(
    editor: Editor,
) -> None:
    editor.refuse_edits = True
    editor.scenario("codex", code(SHORTER))
    uri = editor.open("calc.py")
    run_id = await implement(editor, uri)
    note = await ended(editor, run_id, 1)
    assert "not applied: user said no; Apply run" in note
    await asyncio.sleep(0.3)
    shown = [m.message for m in editor.client.messages]
    assert not [m for m in shown if "not applied" in m], "the progress's end says it, once"
    assert not [m for m in shown if "agentls." in m.replace("agentls: ", "")], shown

    editor.type(uri, "# typed since\n" + editor.text(uri))  # beside the changed lines
    editor.refuse_edits = False
    await editor.command("agentls.applyRun", runId=run_id)
    assert editor.text(uri) == "# typed since\n" + SAMPLE.replace(OLD_MEAN, SHORTER)


async def test_apply_run_refuses_in_one_line_when_the_lines_changed_since(editor: Editor) -> None:
    await set_apply_mode(editor, "ask")
    editor.answer = "Discard"
    editor.scenario("codex", code(SHORTER))
    uri = editor.open("calc.py")
    run_id = await implement(editor, uri)
    await ended(editor, run_id, 1)
    mine = editor.text(uri).replace("len(values)\n", "len(values)  # mine\n")
    editor.type(uri, mine)
    with pytest.raises(JsonRpcException, match=r"calc\.py changed where the agents worked"):
        await editor.command("agentls.applyRun", runId=run_id)
    assert editor.text(uri) == mine
    shown = [m.message for m in editor.client.messages if "changed where" in m.message]
    assert len(shown) == 1


async def test_preview_opens_with_every_change_ticked(editor: Editor) -> None:
    """VS Code's refactor preview unticks each change that needs confirmation: the changes do
    not need it; a no-op create of calc.py (ignoreIfExists) does, which opens the preview."""
    await set_apply_mode(editor, "preview")
    editor.scenario("codex", code(SHORTER))
    uri = editor.open("calc.py")
    run_id = await implement(editor, uri)
    await ended(editor, run_id, 1)
    [params] = editor.edits
    workspace_edit = editor.client.capabilities.workspace and (
        editor.client.capabilities.workspace.workspace_edit
    )
    if not (workspace_edit and workspace_edit.change_annotation_support):
        assert editor.asked, "no preview: asked instead"
        return
    annotations = params.edit.change_annotations or {}
    opener, change = params.edit.document_changes or []
    assert isinstance(opener, types.CreateFile) and opener.uri == uri
    assert opener.options is not None and opener.options.ignore_if_exists
    assert annotations[opener.annotation_id or ""].needs_confirmation is True
    assert isinstance(change, types.TextDocumentEdit)
    for text_edit in change.edits:
        assert isinstance(text_edit, types.AnnotatedTextEdit)
        assert annotations[text_edit.annotation_id].needs_confirmation is False
    assert editor.text(uri) == SAMPLE.replace(OLD_MEAN, SHORTER)


async def test_ask_asks_again_after_show_report(editor: Editor) -> None:
    """Show report no longer ends the run unapplied: the question comes back, and a proposal
    declined then stays applicable."""
    await set_apply_mode(editor, "ask")
    editor.answer = "Show report"  # and then no answer it offers: declined
    editor.scenario("codex", code(SHORTER))
    uri = editor.open("calc.py")
    run_id = await implement(editor, uri)
    assert "not applied; Apply run" in await ended(editor, run_id, 1)
    assert [[a.title for a in q.actions or []] for q in editor.asked] == [
        ["Apply", "Show report", "Discard"],
        ["Apply", "Discard"],
    ]
    [report] = editor.client.shown_documents
    assert report.uri.endswith(f"/reports/{run_id}.md")
    [listed] = await editor.command("agentls.listRuns")
    assert listed["applicable"] is True
