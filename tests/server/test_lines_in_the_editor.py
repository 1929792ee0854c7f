"""A file with form feeds, \\u2028 and \\x1c: findings and edits on the editor's own lines."""

from __future__ import annotations

import json

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from tests.server.conftest import Editor, apply_quick_fix

# Line 2 is a page break (a form feed alone); line 3 holds \u2028 and \x1c, which end no line.
TEXT = "import os\n\x0c\nx = 1  # a\u2028b\x1c\nimport sys\n"
FINDING = json.dumps(
    {"findings": [{"line": 3, "message": "x is unused", "code": "unused", "suggestion": "x = 2\n"}]}
)


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
async def test_a_finding_after_a_form_feed_and_its_fix_land_on_its_line(
    editor: Editor, newline: str
) -> None:
    text = TEXT.replace("\n", newline)
    (editor.workspace / "m.py").write_bytes(text.encode())
    editor.scenario("gemini", f"```json\n{FINDING}\n```")
    uri = editor.open("m.py", text)
    answer = await editor.command("agentls.runTask", uri=uri, task="review", agent="gemini")
    await editor.finished(answer["runId"])
    [diagnostic] = editor.client.diagnostics[uri]
    assert (diagnostic.range.start.line, diagnostic.range.end.line) == (2, 2)
    assert diagnostic.range.end.character == len("x = 1  # a\u2028b\x1c")
    assert diagnostic.message == "x is unused (gemini)"
    await apply_quick_fix(editor, uri, diagnostic)
    assert editor.text(uri) == text.replace("x = 1  # a\u2028b\x1c", "x = 2")  # its own endings


async def test_ruffs_findings_after_a_form_feed_are_on_the_editors_lines(editor: Editor) -> None:
    text = TEXT.replace("import sys", "if x == None:\n    pass")
    (editor.workspace / "m.py").write_text(text)
    (editor.workspace / "ruff.toml").write_text('[lint]\nselect = ["F401", "E711"]\n')
    uri = editor.open("m.py", text)
    answer = await editor.command("agentls.runTask", uri=uri, task="review", agent="ruff")
    await editor.finished(answer["runId"])
    diagnostics = sorted(editor.client.diagnostics[uri], key=lambda d: d.range.start.line)
    assert [(d.range.start.line, d.code) for d in diagnostics] == [(0, "F401"), (3, "E711")]
    await apply_quick_fix(editor, uri, diagnostics[1])
    assert editor.text(uri) == text.replace("x == None", "x is None")  # made from line 4


async def test_a_selection_past_the_last_line_is_refused(editor: Editor) -> None:
    uri = editor.open("m.py", TEXT)
    past = {"start": 5, "end": 5}  # line 5 of a file of 4 (str.splitlines sees 6)
    with pytest.raises(JsonRpcException, match="which has 4 lines"):
        await editor.command("agentls.runTask", uri=uri, task="review", agent="ruff", range=past)


async def test_a_crlf_buffer_gets_only_the_changed_lines_in_its_own_endings(
    editor: Editor,
) -> None:
    """An editor sends a Windows file's text with \\r\\n; the agent answers with \\n."""
    text = "def add(a, b):\r\n    return a + b\r\n\r\n\r\ndef mean(values):\r\n    return 0\r\n"
    (editor.workspace / "w.py").write_bytes(text.encode())
    refined = "def add(a, b):\n    return a + b\n\n\ndef mean(values):\n    return 1\n"
    editor.scenario("claude", f"Here:\n```python\n{refined}```\n")
    uri = editor.open("w.py", text)
    answer = await editor.command("agentls.runTask", uri=uri, task="refine", agent="claude")
    params = await editor.wait_edit()
    await editor.finished(answer["runId"])
    if params.edit.document_changes:
        [change] = params.edit.document_changes
        assert isinstance(change, types.TextDocumentEdit)
        [edit] = change.edits
    else:
        [edit] = (params.edit.changes or {})[uri]
    assert (edit.range.start.line, edit.range.end.line) == (5, 6)  # line 6 only
    assert edit.new_text == "    return 1\r\n"
    assert editor.text(uri) == text.replace("return 0", "return 1")
