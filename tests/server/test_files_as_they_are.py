"""Files as they are (issue 13) in the editor: a binary document, a Markdown document."""

from __future__ import annotations

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from tests.server.conftest import Editor

PNG_TEXT = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01"


@pytest.mark.parametrize("command", ["agentls.runWorkflow", "agentls.runTask"])
async def test_a_binary_document_is_refused_with_a_warning(editor: Editor, command: str) -> None:
    uri = editor.open("logo.png", PNG_TEXT)
    with pytest.raises(JsonRpcException) as caught:
        await editor.command(command, uri=uri, workflow="offline", task="review", agent="ruff")
    assert "logo.png is not a text file (binary)" in str(caught.value)
    warnings = [m.message for m in editor.client.messages if m.type == types.MessageType.Warning]
    assert "agentls: logo.png is not a text file (binary); agentls reviews and edits text" in (
        warnings
    )
    assert not [m for m in editor.client.messages if m.type == types.MessageType.Error]


async def test_a_markdown_document_is_skipped_by_the_offline_reviewer(editor: Editor) -> None:
    uri = editor.open("notes.md", "# Notes\n\nimport os\nif x == None: pass\n")
    run_id = (await editor.command("agentls.runWorkflow", uri=uri, workflow="offline"))["runId"]
    reports = await editor.finished(run_id)
    assert "ruff reviews Python files; notes.md is not one" in (reports[-1].message or "")
    assert not editor.client.diagnostics.get(uri)  # no bogus findings
