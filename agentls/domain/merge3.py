"""Undoing what agentls wrote to a file the user changed since: a 3-way merge (pure functions).

Three texts of one file: ``before`` (what it held before agentls wrote it), ``written`` (what
agentls wrote) and ``current`` (what it holds now). Undoing is applying the change
``written -> before`` to ``current``: each of its hunks moves with the user's lines around it
(as ``rebase`` moves proposed edits, a line's ending being part of the line), so every change
the user made since that touches none of the lines agentls changed is kept. A user change that
touches them is an overlap, and then nothing is undone: ``overlaps`` says which lines of
``current`` they are, for the message.

One place is an overlap although no line is shared: where agentls removed lines (so undoing
puts them back) and the user inserted lines at that very place since, as nothing says whether
the user's lines go before or after the ones put back.
"""

from __future__ import annotations

from agentls.domain.edits import apply_edits, diff_edits
from agentls.domain.lines import line_count
from agentls.domain.rebase import LineMap
from agentls.domain.results import LineRange, ProposedEdit


def undo_onto(written: str, before: str, current: str) -> str | None:
    """``current`` with agentls's change ``written -> before`` undone and the user's changes
    since kept; None when they overlap (``overlaps`` says where)."""
    if current == written:
        return before
    undoing = diff_edits("", written, before)
    mapping = LineMap(written, current, keepends=True)
    if _overlapping(mapping, undoing):
        return None
    moved = []
    for edit in undoing:
        assert edit.range is not None  # diff_edits gives line ranges only
        start = mapping.position(edit.range.start - 1) + 1
        length = edit.range.end - edit.range.start
        moved.append(edit.model_copy(update={"range": LineRange(start=start, end=start + length)}))
    return apply_edits(current, moved)


def overlaps(written: str, before: str, current: str) -> list[LineRange]:
    """The lines of ``current`` (1-based) the user changed where agentls did, joined and in
    order (where the user removed lines: the line they were at); empty when undoing merges."""
    if current == written:
        return []
    mapping = LineMap(written, current, keepends=True)
    found = _overlapping(mapping, diff_edits("", written, before))
    return _ranges(found, line_count(current))


def describe(ranges: list[LineRange]) -> str:
    """``ranges`` for a message: "line 3", "lines 12-14", "lines 3-4 and 9"."""
    parts = [str(r.start) if r.end == r.start else f"{r.start}-{r.end}" for r in ranges]
    word = "line" if len(parts) == 1 and ranges[0].end == ranges[0].start else "lines"
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"{word} {listed}"


def _overlapping(mapping: LineMap, undoing: list[ProposedEdit]) -> list[tuple[int, int]]:
    """The user's changes (0-based half-open lines of the current text) that touch one of
    agentls's hunks (``undoing``: edits of the written text, each with its line range)."""
    found = []
    for edit in undoing:
        assert edit.range is not None  # diff_edits gives line ranges only
        start, end = edit.range.start - 1, edit.range.end
        for tag, i1, i2, j1, j2 in mapping.opcodes:
            if tag != "equal" and _touches(start, end, i1, i2):
                found.append((j1, j2))
    return found


def _touches(start: int, end: int, i1: int, i2: int) -> bool:
    """Whether the user's change of written lines [i1, i2) touches agentls's hunk
    [start, end): shares a line, is inserted strictly inside it, removes lines across its
    insertion point, or is inserted at that very point."""
    if start == end:  # undoing puts lines back here
        return i1 < start < i2 or i1 == i2 == start
    if i1 == i2:
        return start < i1 < end
    return i1 < end and i2 > start


def _ranges(found: list[tuple[int, int]], lines: int) -> list[LineRange]:
    """0-based half-open ranges as 1-based ones, those that overlap or touch joined."""
    joined: list[list[int]] = []
    for j1, j2 in sorted(found):
        low, high = (j1 + 1, j2) if j2 > j1 else (min(j1 + 1, max(lines, 1)),) * 2
        if joined and low <= joined[-1][1] + 1:
            joined[-1][1] = max(joined[-1][1], high)
        else:
            joined.append([low, high])
    return [LineRange(start=low, end=high) for low, high in joined]
