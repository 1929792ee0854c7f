from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentls.domain.edits import apply_edit
from agentls.domain.results import ErrorKind, LineRange, TaskKind
from agentls.orchestration.code_blocks import code_blocks, edits_from_blocks
from agentls.orchestration.replies import interpret_reply

TEXT = "a = 1\nb = 2\nc = 3\n"


def test_unnamed_block_replaces_the_selection(tmp_path: Path) -> None:
    reply = "Done:\n```python\nb = 20\nb2 = 21\n```\nThis keeps c."
    result = edits_from_blocks(reply, tmp_path, "m.py", TEXT, LineRange(start=2, end=2))
    [edit] = result.edits
    assert edit.path == "m.py" and edit.range == LineRange(start=2, end=2)
    assert apply_edit(TEXT, edit) == "a = 1\nb = 20\nb2 = 21\nc = 3\n"


def test_without_selection_the_block_replaces_the_file(tmp_path: Path) -> None:
    [edit] = edits_from_blocks("```\nx = 1\n```", tmp_path, "m.py", TEXT, None).edits
    assert edit.range is None and apply_edit(TEXT, edit) == "x = 1\n"


def test_named_blocks_create_or_replace_other_files(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "old.py").write_text("old\n")
    reply = (
        "```python path=pkg/new.py\nnew\n```\n"
        "```python file=pkg/old.py\nnewer\n```\n"
        "```python:pkg/third.py\nthird\n```\n"
    )
    edits = edits_from_blocks(reply, tmp_path, "m.py", TEXT, None).edits
    assert [(e.path, e.kind, e.new_text) for e in edits] == [
        ("pkg/new.py", "create", "new\n"),
        ("pkg/old.py", "replace", "newer\n"),
        ("pkg/third.py", "create", "third\n"),
    ]


@pytest.mark.parametrize("path", ["../outside.py", "/etc/passwd", ".git/config", "a/../../x"])
def test_paths_outside_the_workspace_are_refused(tmp_path: Path, path: str) -> None:
    result = edits_from_blocks(f"```python path={path}\nx\n```", tmp_path, "m.py", TEXT, None)
    assert result.edits == [] and result.refused


def test_symlink_out_of_the_workspace_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "link").symlink_to(outside)
    result = edits_from_blocks("```py path=link/x.py\nx\n```", workspace, "m.py", TEXT, None)
    assert result.edits == [] and "outside the workspace" in result.refused[0].reason


def test_unchanged_code_is_no_edit(tmp_path: Path) -> None:
    reply = "```\nb = 2\n```"
    assert edits_from_blocks(reply, tmp_path, "m.py", TEXT, LineRange(start=2, end=2)).edits == []


def test_a_missing_final_newline_is_kept(tmp_path: Path) -> None:
    text = "a = 1\nb = 2"
    [edit] = edits_from_blocks(
        "```\nb = 3\n```", tmp_path, "m.py", text, LineRange(start=2, end=2)
    ).edits
    assert apply_edit(text, edit) == "a = 1\nb = 3"


def test_longer_fences_and_unclosed_blocks() -> None:
    blocks = code_blocks("````md\n```\ninner\n```\n````\n~~~\nlast line")
    assert [b.code for b in blocks] == ["```\ninner\n```\n", "last line\n"]
    assert blocks[0].language == "md"


def test_implement_reply_without_code_is_bad_output(tmp_path: Path) -> None:
    outcome = interpret_reply(
        TaskKind.IMPLEMENT, "I would add a check.", tmp_path, "m.py", TEXT, None
    )
    assert outcome.error is not None and outcome.error.kind is ErrorKind.BAD_OUTPUT
    assert "no fenced code block" in outcome.error.message


def test_review_reply_without_findings_is_bad_output(tmp_path: Path) -> None:
    outcome = interpret_reply(TaskKind.REVIEW, "Looks fine to me!", tmp_path, "m.py", TEXT, None)
    assert outcome.error is not None and outcome.error.kind is ErrorKind.BAD_OUTPUT
    assert "Looks fine to me!" in outcome.error.message


def test_review_findings_outside_the_workspace_are_dropped(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(TEXT)
    reply = json.dumps(
        {
            "findings": [
                {"line": 1, "message": "ok"},
                {"path": "../x.py", "line": 1, "message": "no"},
            ]
        }
    )
    outcome = interpret_reply(TaskKind.REVIEW, reply, tmp_path, "m.py", TEXT, None)
    assert [f.message for f in outcome.findings] == ["ok"]
