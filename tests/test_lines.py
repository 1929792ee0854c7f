"""One definition of a line (LSP's: \\n, \\r\\n, \\r) in prompts, findings, edits and ruff."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentls.domain.edits import (
    apply_edit,
    apply_edits,
    diff_edits,
    remap_range,
    unified_diff,
)
from agentls.domain.lines import (
    LineIndex,
    line_count,
    lines,
    lsp_lines,
    newline_of,
    to_lf,
    with_newline,
)
from agentls.domain.rebase import LineMap, rebase
from agentls.domain.results import LineRange, ProposedEdit, TaskKind, TaskResult
from agentls.orchestration.config_loader import load_config
from agentls.orchestration.prompts import PromptContext, build_prompt
from agentls.orchestration.replies import interpret_reply
from agentls.orchestration.tasks import TaskSpec, run_task
from agentls.server.convert import finding_diagnostic, lines_range, text_edit

# Characters str.splitlines breaks at that end no line (editors, git and Python agree).
NOT_BREAKS = ["\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]
# Line 2 is a page break (a form feed alone), line 3 holds \u2028 and \x1c inside it.
TEXT = "import os\n\x0c\nx = 1  # a\u2028b\x1c\nimport sys\n"


@given(
    text=st.lists(st.sampled_from(["a", "b", "\n", "\r", "\r\n", *NOT_BREAKS])).map("".join),
    start=st.integers(0, 12),
    length=st.integers(0, 12) | st.none(),
    read_first=st.booleans(),
)
def test_a_line_index_reads_the_lines_lines_gives(
    text: str, start: int, length: int | None, read_first: bool
) -> None:
    index = LineIndex(text)
    if read_first:  # in any order: its length, then lines; or lines, then its length
        assert len(index) == len(lines(text))
    end = start + 1 if length is None else start + length
    assert index.span(start, end) == "".join(lines(text, keepends=True)[start:end])
    assert index.start(start) == len("".join(lines(text, keepends=True)[:start]))
    assert len(index) == len(lines(text))


@pytest.mark.parametrize("char", NOT_BREAKS)
def test_only_lf_crlf_and_cr_end_a_line(char: str) -> None:
    text = f"a{char}b\r\nc\rd\ne"
    assert lines(text) == [f"a{char}b", "c", "d", "e"]
    assert lines(text, keepends=True) == [f"a{char}b\r\n", "c\r", "d\n", "e"]
    assert lsp_lines(text + "\n") == [f"a{char}b", "c", "d", "e", ""]
    assert line_count(text) == 4 and len(text.splitlines()) == 5  # what it replaces


def test_like_splitlines_at_the_ends() -> None:
    for text in ["", "\n", "a", "a\n", "a\n\n", "\r\n", "a\rb"]:
        assert lines(text) == text.splitlines()
        assert lines(text, keepends=True) == text.splitlines(keepends=True)
    assert lsp_lines("") == [""] and lsp_lines("a\n") == ["a", ""]


pieces = st.lists(st.sampled_from(["a", "b", "\n", "\r\n", "\r", *NOT_BREAKS]), max_size=16)


@given(pieces)
def test_keepends_rebuilds_the_text(parts: list[str]) -> None:
    text = "".join(parts)
    assert "".join(lines(text, keepends=True)) == text
    assert [line.rstrip("\r\n") for line in lines(text, keepends=True)] == lines(text)


@given(pieces, pieces)
def test_edits_round_trip_whatever_the_characters(before: list[str], after: list[str]) -> None:
    old, new = "".join(before), "".join(after)
    assert apply_edits(old, diff_edits("f", old, new)) == new


@pytest.mark.parametrize(
    "before",
    [TEXT, TEXT.replace("\n", "\r\n"), TEXT.rstrip("\n"), TEXT.replace("\n", "\r")],
    ids=["lf", "crlf", "no-final-newline", "cr"],
)
def test_an_edit_on_the_line_after_a_form_feed_replaces_that_line(before: str) -> None:
    ending = "\r\n" if "\r\n" in before else "\r" if "\r" in before else "\n"
    edit = ProposedEdit(path="m.py", range=LineRange(start=3, end=3), new_text="x = 2" + ending)
    after = apply_edit(before, edit)
    assert lines(after) == ["import os", "\x0c", "x = 2", "import sys"]
    [diffed] = diff_edits("m.py", before, after)
    assert diffed.range == LineRange(start=3, end=3)
    assert apply_edits(before, [diffed]) == after
    diff = unified_diff("m.py", before, after)
    assert "@@ -1,4 +1,4 @@" in diff and "-x = 1  # a\u2028b\x1c" in diff  # 4 lines, not 6
    # Lines after the form feed keep their numbers when lines are inserted above.
    assert remap_range(before, "# new\n" + before, LineRange(start=3, end=4)) == LineRange(
        start=4, end=5
    )


def test_the_prompt_numbers_lines_as_the_file_does() -> None:
    prompt = build_prompt(TaskKind.REVIEW, PromptContext(path="m.py", file_text=TEXT), 10_000)
    assert "2 | \x0c\n3 | x = 1  # a\u2028b\x1c\n4 | import sys\n" in prompt
    assert "5 |" not in prompt


def test_findings_are_kept_up_to_the_files_last_line_and_no_further(workspace: Path) -> None:
    reply = '{"findings": [{"line": 4, "message": "unused"}, {"line": 5, "message": "past"}]}'
    interpreted = interpret_reply(TaskKind.REVIEW, reply, workspace, "calc.py", TEXT, None)
    assert [f.line for f in interpreted.findings] == [4]


def test_an_implement_reply_replaces_the_selected_line_after_a_form_feed(
    workspace: Path,
) -> None:
    reply = "```python\nx = 2\n```"
    selection = LineRange(start=3, end=3)
    interpreted = interpret_reply(TaskKind.IMPLEMENT, reply, workspace, "calc.py", TEXT, selection)
    [edit] = interpreted.edits
    assert apply_edit(TEXT, edit) == "import os\n\x0c\nx = 2\nimport sys\n"


def ruff_review(workspace: Path, text: str, selection: LineRange | None = None) -> TaskResult:
    (workspace / "ruff.toml").write_text('[lint]\nselect = ["F401", "E711"]\n')
    spec = TaskSpec(
        agent="ruff",
        task=TaskKind.REVIEW,
        workspace=workspace,
        path="m.py",
        file_text=text,
        selection=selection,
    )
    return asyncio.run(run_task(load_config(workspace), spec))


@pytest.mark.parametrize(
    "newline, final", [("\n", "\n"), ("\r\n", "\r\n"), ("\n", "")], ids=["lf", "crlf", "no-eol"]
)
def test_ruffs_findings_and_fixes_land_on_the_files_lines(
    workspace: Path, newline: str, final: str
) -> None:
    text = newline.join(["import os", "\x0c", "x = 1  # a\u2028b\x1c", "if x == None:", " 0"])
    text += final
    result = ruff_review(workspace, text)
    assert result.ok, result.error
    by_code = {f.code: f for f in result.findings}
    assert (by_code["F401"].line, by_code["E711"].line, by_code["E711"].last_line) == (1, 4, 4)
    comparison = by_code["E711"]
    assert comparison.suggestion == "if x is None:" + newline  # from line 4, not from "b\x1c"
    fixed = apply_edit(
        text, ProposedEdit(path="m.py", range=LineRange(start=4, end=4), new_text="")
    )
    assert lines(fixed) == ["import os", "\x0c", "x = 1  # a\u2028b\x1c", " 0"]


def test_a_selection_is_checked_against_the_real_line_count(workspace: Path) -> None:
    assert ruff_review(workspace, TEXT, LineRange(start=4, end=4)).ok
    with pytest.raises(Exception, match="which has 4 lines"):
        ruff_review(workspace, TEXT, LineRange(start=5, end=5))


@pytest.mark.parametrize(
    "text",
    [TEXT, TEXT.replace("\n", "\r\n"), TEXT.rstrip("\n")],
    ids=["lf", "crlf", "no-final-newline"],
)
def test_the_servers_lsp_lines_are_the_domains_lines(text: str) -> None:
    from agentls.domain.results import Finding

    finding = Finding(path="m.py", line=3, message="m", agent="gemini")
    diagnostic = finding_diagnostic(finding, lsp_lines(text), "r")
    assert (diagnostic.range.start.line, diagnostic.range.end.line) == (2, 2)
    assert diagnostic.range.end.character == len("x = 1  # a\u2028b\x1c")
    edit = ProposedEdit(path="m.py", range=LineRange(start=4, end=4), new_text="")
    rng = text_edit(text, edit).range
    assert rng.start.line == 3 and rng.start.character == 0
    if text.endswith("\n"):
        assert (rng.end.line, rng.end.character) == (4, 0)
    else:
        assert (rng.end.line, rng.end.character) == (3, len("import sys"))
    whole = lines_range(text, None)
    assert whole.end.line == len(lsp_lines(text)) - 1


def test_the_server_follows_edits_above_a_form_feed() -> None:
    edited = "import re\n" + TEXT
    mapping = LineMap(TEXT, edited)
    assert mapping.position(2) == 3 and not mapping.changed(2, 3)
    edit = ProposedEdit(path="m.py", range=LineRange(start=3, end=3), new_text="x = 2\n")
    [moved] = rebase(TEXT, edited, [edit]) or []
    assert moved.range == LineRange(start=4, end=4)
    assert apply_edit(edited, moved) == "import re\nimport os\n\x0c\nx = 2\nimport sys\n"


@pytest.mark.parametrize(
    ("text", "newline"),
    [("", "\n"), ("a", "\n"), ("a\r\nb\r\nc\n", "\r\n"), ("a\nb\r\n", "\n"), ("a\rb\r", "\r")],
)
def test_a_texts_own_line_ending_and_new_text_in_it(text: str, newline: str) -> None:
    assert newline_of(text) == newline
    assert with_newline("x\ny\r\nz\r", newline) == f"x{newline}y{newline}z{newline}"
    assert lines(to_lf(text)) == lines(text) and "\r" not in to_lf(text)


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_lines_added_at_the_end_are_inserted_on_the_last_line_not_after_it(newline: str) -> None:
    """A position past the last line ending is a line Neovim's buffer does not have."""
    from tests.server.conftest import apply_text_edits

    text = f"a{newline}b{newline}"
    insertion = ProposedEdit(path="x", range=LineRange(start=3, end=2), new_text="c\nd\n")
    edit = text_edit(text, insertion)
    assert edit.range.start.line == 1 and edit.range.start == edit.range.end
    assert apply_text_edits(text, [edit]) == f"a{newline}b{newline}c{newline}d{newline}"
