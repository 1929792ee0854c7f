"""Moving proposed edits onto a document the user changed while the agents ran.

Edits were computed against ``base`` (the text when the run started). If the user's changes
since then touch none of the lines an edit replaces, the edit moves with the text around it;
if any change overlaps an edit, nothing is applied (the user's keystrokes win).
"""

from __future__ import annotations

import difflib

from agentls.domain.lines import lines as text_lines
from agentls.domain.results import LineRange, ProposedEdit


class LineMap:
    """How the lines of ``before`` map onto ``after``; with ``keepends`` a line whose ending
    changed counts as changed (the last line gaining one when the user adds lines below)."""

    def __init__(self, before: str, after: str, keepends: bool = False) -> None:
        self.opcodes = difflib.SequenceMatcher(
            a=text_lines(before, keepends), b=text_lines(after, keepends), autojunk=False
        ).get_opcodes()

    def changed(self, start: int, end: int) -> bool:
        """Whether the user changed anything in 0-based half-open lines [start, end), or
        inserted lines strictly inside them."""
        for tag, i1, i2, _j1, _j2 in self.opcodes:
            if tag == "equal":
                continue
            if i1 == i2:  # an insertion before line i1
                if start < i1 < end:
                    return True
            elif (i1 < end and i2 > start) or (start == end and i1 < start < i2):
                return True
        return False

    def rewritten(self, start: int, end: int) -> bool:
        """Whether lines [start, end) were changed, or were kept only because a rewrite of
        the code around them repeats them: unchanged lines with a change on each side, each
        change longer than they are (a blank line or a ``return x`` inside a rewritten
        function). Two small edits around a line leave it kept."""
        if self.changed(start, end):
            return True
        for index, (tag, i1, i2, _j1, _j2) in enumerate(self.opcodes):
            if tag == "equal" and i1 <= start and end <= i2:
                return 0 < index < len(self.opcodes) - 1 and all(
                    i2 - i1 < _length(self.opcodes[side]) for side in (index - 1, index + 1)
                )
        return False

    def position(self, line: int) -> int:
        """Where 0-based line ``line`` of ``before`` (or the end, ``len``) now starts: a line
        the user replaced starts where its replacement does, so lines inserted before it
        stay before what replaced it."""
        for tag, i1, i2, j1, _j2 in self.opcodes:
            if i1 <= line < i2:
                return j1 + line - i1 if tag == "equal" else j1
            if line < i1:
                return j1
        return self.opcodes[-1][4] if self.opcodes else line


def _length(opcode: tuple[str, int, int, int, int]) -> int:
    """How many lines a change spans, before or after it (whichever is more)."""
    _tag, i1, i2, j1, j2 = opcode
    return max(i2 - i1, j2 - j1)


def rebase(base: str, current: str, edits: list[ProposedEdit]) -> list[ProposedEdit] | None:
    """``edits`` moved onto ``current``, or None when the user's changes overlap one."""
    if base == current:
        return edits
    mapping = LineMap(base, current)
    moved = []
    for edit in edits:
        if edit.range is None:
            return None  # a whole-file replacement overlaps any change
        start, end = edit.range.start - 1, edit.range.end
        if mapping.changed(start, end):
            return None
        new_start = mapping.position(start)
        new_end = new_start + (end - start)
        moved.append(edit.model_copy(update={"range": LineRange(start=new_start + 1, end=new_end)}))
    return moved
