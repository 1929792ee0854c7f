"""A file with form feeds, \\u2028 and \\x1c: findings and edits on the editor's own lines."""

from __future__ import annotations

import json

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from agentls.lines import lines
from tests.server.conftest import Editor
from tests.server.test_server import code_actions

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
    actions = await code_actions(editor, uri, diagnostic.range, diagnostics=[diagnostic])
    [fix] = [a for a in actions if a.kind == types.CodeActionKind.QuickFix]
    if fix.edit is None:
        fix = await editor.client.code_action_resolve_async(fix)
    assert fix.edit is not None
    editor.apply(types.ApplyWorkspaceEditParams(edit=fix.edit))
    # (the suggestion's own "\n" ends the new line: editors write it in the buffer's style)
    assert lines(editor.text(uri)) == ["import os", "\x0c", "x = 2", "import sys"]


async def test_ruffs_findings_after_a_form_feed_are_on_the_editors_lines(editor: Editor) -> None:
    text = TEXT.replace("import sys", "if x == None:\n    pass")
    (editor.workspace / "m.py").write_text(text)
    (editor.workspace / "ruff.toml").write_text('[lint]\nselect = ["F401", "E711"]\n')
    uri = editor.open("m.py", text)
    answer = await editor.command("agentls.runTask", uri=uri, task="review", agent="ruff")
    await editor.finished(answer["runId"])
    diagnostics = sorted(editor.client.diagnostics[uri], key=lambda d: d.range.start.line)
    assert [(d.range.start.line, d.code) for d in diagnostics] == [(0, "F401"), (3, "E711")]
    actions = await code_actions(editor, uri, diagnostics[1].range, diagnostics=[diagnostics[1]])
    [fix] = [a for a in actions if a.kind == types.CodeActionKind.QuickFix]
    if fix.edit is None:
        fix = await editor.client.code_action_resolve_async(fix)
    assert fix.edit is not None
    editor.apply(types.ApplyWorkspaceEditParams(edit=fix.edit))
    assert editor.text(uri) == text.replace("x == None", "x is None")  # made from line 4


async def test_a_selection_past_the_last_line_is_refused(editor: Editor) -> None:
    uri = editor.open("m.py", TEXT)
    past = {"start": 5, "end": 5}  # line 5 of a file of 4 (str.splitlines sees 6)
    with pytest.raises(JsonRpcException, match="which has 4 lines"):
        await editor.command("agentls.runTask", uri=uri, task="review", agent="ruff", range=past)
