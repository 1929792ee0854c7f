from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from agentls.domain.edits import apply_edits
from agentls.domain.rebase import rebase
from agentls.domain.results import LineRange, ProposedEdit

BASE = "".join(f"line {n}\n" for n in range(1, 11))
EDIT = ProposedEdit(path="f", range=LineRange(start=5, end=6), new_text="FIVE\nSIX\nSIX+\n")


def test_unchanged_document_keeps_the_edits() -> None:
    assert rebase(BASE, BASE, [EDIT]) == [EDIT]


def test_typing_above_moves_the_edit_down() -> None:
    current = "new import\n" + BASE.replace("line 2\n", "line 2 edited\n")
    [moved] = rebase(BASE, current, [EDIT]) or []
    assert moved.range == LineRange(start=6, end=7)
    result = apply_edits(current, [moved])
    assert "new import\nline 1\nline 2 edited\n" in result and "FIVE\nSIX\nSIX+\nline 7" in result


def test_typing_below_leaves_the_edit_in_place() -> None:
    current = BASE + "appended\n"
    assert rebase(BASE, current, [EDIT]) == [EDIT]


def test_typing_inside_the_edited_lines_refuses() -> None:
    assert rebase(BASE, BASE.replace("line 6\n", "line 6 mine\n"), [EDIT]) is None
    assert rebase(BASE, BASE.replace("line 5\nline 6\n", "line 5\nmine\nline 6\n"), [EDIT]) is None


def test_a_whole_file_edit_refuses_any_change() -> None:
    whole = ProposedEdit(path="f", new_text="x\n")
    assert rebase(BASE, BASE + "more\n", [whole]) is None


@given(st.integers(0, 9), st.integers(0, 3))
def test_rebased_edits_never_lose_user_lines(at: int, count: int) -> None:
    lines = BASE.splitlines(keepends=True)
    typed = [f"typed {i}\n" for i in range(count)]
    current = "".join(lines[:at] + typed + lines[at:])
    moved = rebase(BASE, current, [EDIT])
    if moved is None:
        assert 4 < at < 6 and count  # only typing between lines 5 and 6 conflicts
        return
    result = apply_edits(current, moved)
    for line in typed:
        assert line in result
    assert "FIVE\nSIX\nSIX+\n" in result


def test_an_insertion_before_a_line_the_user_replaced_stays_before_the_replacement() -> None:
    insert = ProposedEdit(path="f", range=LineRange(start=5, end=4), new_text="inserted\n")
    current = BASE.replace("line 5\n", "line 5 mine\n")
    [moved] = rebase(BASE, current, [insert]) or []
    assert "line 4\ninserted\nline 5 mine\n" in apply_edits(current, [moved])
