"""The apply modes the editor chooses: ``ask`` asks before applying, ``preview`` annotates the
edits."""

from __future__ import annotations

from lsprotocol import types

from tests.server.conftest import NEW_MEAN, Editor, code


async def test_ask_mode_asks_before_applying(editor: Editor) -> None:
    editor.client.set_configuration({"applyMode": "ask"}, section="agentls")
    editor.client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings=None)
    )
    editor.scenario("codex", code(NEW_MEAN))
    uri = editor.open("calc.py")
    editor.answer = "Discard"
    lines = {"start": 5, "end": 6}
    run_id = (
        await editor.command("agentls.runTask", uri=uri, range=lines, agent="codex",
                             task="implement")
    )["runId"]  # fmt: skip
    reports = await editor.finished(run_id)
    assert editor.edits == [] and "not applied" in (reports[-1].message or "")
    editor.answer = "Apply"
    run_id = (
        await editor.command("agentls.runTask", uri=uri, range=lines, agent="codex",
                             task="implement")
    )["runId"]  # fmt: skip
    await editor.finished(run_id)
    assert "if values else 0.0" in editor.text(uri)


async def test_preview_mode_annotates_the_edits(editor: Editor) -> None:
    """What the annotations hold: tests/server/test_follow_ups_and_apply.py."""
    editor.client.set_configuration({"applyMode": "preview"}, section="agentls")
    editor.client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings=None)
    )
    editor.scenario("codex", code(NEW_MEAN))
    uri = editor.open("calc.py")
    run_id = (
        await editor.command("agentls.runTask", uri=uri, range={"start": 5, "end": 6},
                             agent="codex", task="implement")
    )["runId"]  # fmt: skip
    await editor.finished(run_id)
    supports_annotations = editor.client.capabilities.workspace and (
        editor.client.capabilities.workspace.workspace_edit
        and editor.client.capabilities.workspace.workspace_edit.change_annotation_support
    )
    [params] = editor.edits
    if supports_annotations:
        annotations = params.edit.change_annotations or {}
        assert annotations["agentls-preview"].needs_confirmation
        _opener, change = params.edit.document_changes or []
        assert isinstance(change, types.TextDocumentEdit)
        assert all(isinstance(e, types.AnnotatedTextEdit) for e in change.edits)
    assert "if values else 0.0" in editor.text(uri)
