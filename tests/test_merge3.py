"""Undoing agentls's change onto a text the user changed since (``domain.merge3``)."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import count

from hypothesis import assume, given
from hypothesis import strategies as st

from agentls.domain.merge3 import describe, overlaps, undo_onto
from agentls.domain.results import LineRange

BEFORE = "".join(f"line {n}\n" for n in range(1, 11))
WRITTEN = BEFORE.replace("line 5\nline 6\n", "FIVE\nSIX\nSIX+\n")  # lines 5-7 are agentls's


def test_an_unchanged_file_gets_the_text_before() -> None:
    assert undo_onto(WRITTEN, BEFORE, WRITTEN) == BEFORE
    assert overlaps(WRITTEN, BEFORE, WRITTEN) == []


def test_edits_above_and_below_are_kept() -> None:
    current = "import os\n" + WRITTEN.replace("line 9\n", "line 9 mine\n")
    assert undo_onto(WRITTEN, BEFORE, current) == "import os\n" + BEFORE.replace(
        "line 9\n", "line 9 mine\n"
    )


def test_edits_right_next_to_agentls_lines_are_kept() -> None:
    current = WRITTEN.replace("line 4\n", "line 4 mine\n").replace("line 7\n", "")
    assert undo_onto(WRITTEN, BEFORE, current) == BEFORE.replace(
        "line 4\n", "line 4 mine\n"
    ).replace("line 7\n", "")


def test_an_edit_of_agentls_lines_overlaps_and_says_which_lines() -> None:
    current = "new first line\n" + WRITTEN.replace("SIX\n", "six, mine\n")
    assert undo_onto(WRITTEN, BEFORE, current) is None
    assert overlaps(WRITTEN, BEFORE, current) == [LineRange(start=7, end=7)]
    assert describe(overlaps(WRITTEN, BEFORE, current)) == "line 7"


def test_removing_agentls_lines_overlaps_at_the_line_where_they_were() -> None:
    current = WRITTEN.replace("FIVE\nSIX\n", "")
    assert undo_onto(WRITTEN, BEFORE, current) is None
    assert overlaps(WRITTEN, BEFORE, current) == [LineRange(start=5, end=5)]


def test_several_overlaps_are_listed() -> None:
    before = BEFORE.replace("line 2\n", "")  # agentls added line 2 and changed 5-6
    written = WRITTEN
    current = written.replace("line 2\n", "two\n2\n").replace("FIVE\nSIX\nSIX+\n", "5\n")
    assert undo_onto(written, before, current) is None
    assert overlaps(written, before, current) == [
        LineRange(start=2, end=3),
        LineRange(start=6, end=6),
    ]
    assert describe(overlaps(written, before, current)) == "lines 2-3 and 6"


def test_lines_inserted_where_agentls_removed_lines_overlap() -> None:
    written = BEFORE.replace("line 5\n", "")  # undoing puts line 5 back before line 6
    current = written.replace("line 6\n", "mine\nline 6\n")
    assert undo_onto(written, BEFORE, current) is None
    assert overlaps(written, BEFORE, current) == [LineRange(start=5, end=5)]
    # one line away, the order is clear
    current = written.replace("line 7\n", "mine\nline 7\n")
    assert undo_onto(written, BEFORE, current) == BEFORE.replace("line 7\n", "mine\nline 7\n")
    # lines removed by agentls go back before a line the user replaced after them
    current = written.replace("line 6\n", "six, mine\n")
    assert undo_onto(written, BEFORE, current) == BEFORE.replace("line 6\n", "six, mine\n")


def test_a_file_without_a_final_line_ending() -> None:
    before, written = "a\nb\nc", "a\nB\nc"
    assert undo_onto(written, before, "top\na\nB\nc") == "top\na\nb\nc"
    assert undo_onto(written, before, "a\nB\nc\nmore") == "a\nb\nc\nmore"
    # a line added after agentls's last line changes it: it gains a line ending
    assert undo_onto("a\nB", "a\nb", "a\nB\nmore") is None
    assert describe([LineRange(start=1, end=2), LineRange(start=4, end=4)]) == "lines 1-2 and 4"


# -- properties -------------------------------------------------------------------------------
#
# A file is a sequence of blocks: lines both texts share, and agentls's hunks (the lines it
# wrote, the lines it replaced). Every line is unique, so a diff finds exactly these blocks.
# The user edits the shared blocks only: any slice of one, replaced by new lines.


@dataclass
class Hunk:
    written: list[str]
    before: list[str]


@dataclass
class Edit:
    block: int
    start: int
    end: int
    new: list[str]


Block = list[str] | Hunk


def text(blocks: list[Block], side: str) -> str:
    out: list[str] = []
    for block in blocks:
        out += getattr(block, side) if isinstance(block, Hunk) else block
    return "".join(out)


@st.composite
def files(draw: st.DrawFn) -> list[Block]:
    names = count()

    def fresh(size: int) -> list[str]:
        return [f"line {next(names)}\n" for _ in range(size)]

    hunks = draw(st.integers(1, 3))
    blocks: list[Block] = [fresh(draw(st.integers(0, 3)))]
    for index in range(hunks):
        written, before = draw(st.integers(0, 3)), draw(st.integers(0, 3))
        if written == before == 0:
            before = 1
        blocks.append(Hunk(fresh(written), fresh(before)))
        last = index == hunks - 1
        blocks.append(fresh(draw(st.integers(0 if last else 1, 3))))  # hunks never touch
    return blocks


@st.composite
def user_edits(draw: st.DrawFn, blocks: list[Block]) -> Edit:
    """An edit of a shared block that touches none of agentls's lines."""
    shared = [i for i, block in enumerate(blocks) if not isinstance(block, Hunk)]
    index = draw(st.sampled_from(shared))
    block = blocks[index]
    assert not isinstance(block, Hunk)
    start = draw(st.integers(0, len(block)))
    end = draw(st.integers(start, len(block)))
    new = [f"typed {n}\n" for n in range(draw(st.integers(0 if end > start else 1, 3)))]
    # An insertion at the edge of a block, where agentls removed lines next to it, is
    # ambiguous (before or after the lines undo puts back): it overlaps, tested apart.
    if end == start:
        sides = [index - 1] * (start == 0) + [index + 1] * (start == len(block))
        neighbours = [blocks[side] for side in sides if 0 <= side < len(blocks)]
        assume(not any(isinstance(n, Hunk) and not n.written for n in neighbours))
    return Edit(index, start, end, new)


def edited(blocks: list[Block], edit: Edit) -> list[Block]:
    changed = list(blocks)
    block = changed[edit.block]
    assert not isinstance(block, Hunk)
    changed[edit.block] = block[: edit.start] + edit.new + block[edit.end :]
    return changed


@given(st.data())
def test_a_user_edit_away_from_agentls_lines_is_kept_by_undo(data: st.DataObject) -> None:
    blocks = data.draw(files())
    edit = data.draw(user_edits(blocks))
    user = edited(blocks, edit)
    written, before = text(blocks, "written"), text(blocks, "before")
    assert undo_onto(written, before, text(user, "written")) == text(user, "before")
    assert overlaps(written, before, text(user, "written")) == []


@given(st.data())
def test_a_user_edit_of_agentls_lines_gives_none(data: st.DataObject) -> None:
    blocks = data.draw(files())
    hunks = [i for i, block in enumerate(blocks) if isinstance(block, Hunk)]
    index = data.draw(st.sampled_from(hunks))
    hunk = blocks[index]
    assert isinstance(hunk, Hunk)
    changed = list(blocks)
    if hunk.written:  # a line agentls wrote changed or removed, or lines typed inside
        at = data.draw(st.integers(0, len(hunk.written) - 1))
        how = data.draw(st.sampled_from(["change", "remove", "insert"]))
        if how == "insert" and at > 0:
            written = [*hunk.written[:at], "typed\n", *hunk.written[at:]]
        else:
            new = [] if how == "remove" else ["typed\n"]
            written = [*hunk.written[:at], *new, *hunk.written[at + 1 :]]
    else:  # lines typed where agentls removed lines
        written = ["typed\n"]
    changed[index] = Hunk(written, hunk.before)
    current = text(changed, "written")
    written_text, before = text(blocks, "written"), text(blocks, "before")
    assert undo_onto(written_text, before, current) is None
    assert overlaps(written_text, before, current)
