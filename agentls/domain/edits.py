"""Applying proposed edits to text, and showing them as diffs (pure functions).

Lines are ``agentls.domain.lines``'s: a form feed or ``\\u2028`` does not end one.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping

from agentls.domain.lines import lines as text_lines
from agentls.domain.results import LineRange, ProposedEdit


def apply_edit(text: str, edit: ProposedEdit) -> str:
    """The text of ``edit.path`` after ``edit``; ``text`` is its text before."""
    if edit.kind == "delete":
        return ""
    if edit.range is None:
        return edit.new_text
    lines = text_lines(text, keepends=True)
    start, end = edit.range.start, edit.range.end
    return "".join([*lines[: start - 1], edit.new_text, *lines[end:]])


def apply_edits(text: str, edits: list[ProposedEdit]) -> str:
    """Several edits of one file, each relative to ``text``, applied bottom-up."""
    ranged = sorted(
        (e for e in edits if e.range is not None), key=lambda e: e.range.start if e.range else 0
    )
    whole = [e for e in edits if e.range is None]
    if whole:
        return apply_edit(text, whole[-1])
    for edit in reversed(ranged):
        text = apply_edit(text, edit)
    return text


def by_file(edits: Iterable[ProposedEdit]) -> dict[str, list[ProposedEdit]]:
    """``edits`` grouped by file, the files in the order they first appear."""
    grouped: dict[str, list[ProposedEdit]] = {}
    for edit in edits:
        grouped.setdefault(edit.path, []).append(edit)
    return grouped


def deletes(edits: Iterable[ProposedEdit]) -> bool:
    """Whether a file's edits delete it: a delete wins over every other edit of the file."""
    return any(edit.kind == "delete" for edit in edits)


def file_after(before: str | None, edits: list[ProposedEdit]) -> str | None:
    """A file's text after its ``edits`` (``before``: its text, None when it does not exist);
    None when they delete it."""
    return None if deletes(edits) else apply_edits(before or "", edits)


def proposed_texts(
    edits: Iterable[ProposedEdit], originals: Mapping[str, str | None]
) -> dict[str, str | None]:
    """Each edited file's text as ``edits`` propose it, from its text in ``originals``."""
    return {path: file_after(originals.get(path), group) for path, group in by_file(edits).items()}


def changed_regions(before: str, after: str) -> list[tuple[LineRange, str, str]]:
    """Each region of lines that differs between ``before`` and ``after``: its lines in
    ``before`` (an empty range where lines are only added), their text and what replaces it."""
    old = text_lines(before, keepends=True)
    new = text_lines(after, keepends=True)
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    return [
        (LineRange(start=i1 + 1, end=i2), "".join(old[i1:i2]), "".join(new[j1:j2]))
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        if tag != "equal"
    ]


def diff_edits(path: str, before: str, after: str) -> list[ProposedEdit]:
    """The smallest line edits that turn ``before`` into ``after`` (one per changed hunk)."""
    return [
        ProposedEdit(path=path, range=lines, new_text=new_text)
        for lines, _old_text, new_text in changed_regions(before, after)
    ]


def edits_between(path: str, before: str | None, after: str | None) -> list[ProposedEdit]:
    """The edits that turn a file's ``before`` into its ``after`` (None: it does not exist):
    a creation, a deletion, or its changed lines."""
    if before == after:
        return []
    if before is None:
        return [ProposedEdit(path=path, kind="create", new_text=after or "")]
    if after is None:
        return [ProposedEdit(path=path, kind="delete")]
    return diff_edits(path, before, after)


def remap_range(before: str, after: str, selection: LineRange) -> LineRange | None:
    """Where ``selection`` of ``before`` lies in ``after``: kept lines move, and a change that
    touches the selection widens it to the new text. None when nothing of it is left."""
    matcher = difflib.SequenceMatcher(a=text_lines(before), b=text_lines(after), autojunk=False)
    start, end = selection.start - 1, selection.end  # 0-based, half-open
    new_start: int | None = None
    new_end: int | None = None
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            low, high = max(i1, start), min(i2, end)
            if low >= high:
                continue
            mapped = (j1 + low - i1, j1 + high - i1)
        elif (i1 < end and i2 > start) or (i1 == i2 and start <= i1 <= end):
            mapped = (j1, j2)
        else:
            continue
        new_start = mapped[0] if new_start is None else min(new_start, mapped[0])
        new_end = mapped[1] if new_end is None else max(new_end, mapped[1])
    if new_start is None or new_end is None or new_end <= new_start:
        return None
    return LineRange(start=new_start + 1, end=new_end)


def unified_diff(path: str, before: str, after: str) -> str:
    old = "/dev/null" if before == "" else f"a/{path}"
    new = "/dev/null" if after == "" else f"b/{path}"
    return "".join(
        difflib.unified_diff(
            text_lines(before, keepends=True), text_lines(after, keepends=True), old, new
        )
    )
