from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from agentls.domain.edits import apply_edits, diff_edits, unified_diff

lines = st.lists(st.sampled_from(["a\n", "b\n", "c\n", "d\n", "e", "\n"]), max_size=12)


@given(lines, lines)
def test_diff_edits_rebuild_the_new_text(before: list[str], after: list[str]) -> None:
    old, new = "".join(before), "".join(after)
    assert apply_edits(old, diff_edits("f", old, new)) == new


def test_diff_edits_are_minimal_hunks() -> None:
    numbers = [f"{n}\n" for n in range(1, 21)]
    before = "".join(numbers)
    after = "".join([*numbers[:2], "three\n", *numbers[3:17], "and a half\n", *numbers[17:]])
    edits = diff_edits("f", before, after)
    assert [(e.range.start, e.range.end, e.new_text) for e in edits if e.range] == [
        (3, 3, "three\n"),
        (18, 17, "and a half\n"),  # an insertion before line 18
    ]


def test_unified_diff_marks_created_files() -> None:
    assert unified_diff("n.py", "", "x = 1\n").startswith("--- /dev/null\n+++ b/n.py\n")


def test_remap_range_follows_edits_around_and_inside_the_selection() -> None:
    from agentls.domain.edits import remap_range
    from agentls.domain.results import LineRange

    before = "a\nb\nc\nd\ne\n"
    # two lines inserted above: the selection moves down
    assert remap_range(before, "x\ny\n" + before, LineRange(start=3, end=4)) == LineRange(
        start=5, end=6
    )
    # the selection itself grows
    after = "a\nb\nc1\nc2\nc3\nd\ne\n"
    assert remap_range(before, after, LineRange(start=3, end=4)) == LineRange(start=3, end=6)
    # everything selected was deleted
    assert remap_range(before, "a\nb\ne\n", LineRange(start=3, end=4)) is None
