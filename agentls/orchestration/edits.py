"""Applying proposed edits to text, and showing them as diffs (pure functions)."""

from __future__ import annotations

import difflib

from agentls.orchestration.results import LineRange, ProposedEdit


def apply_edit(text: str, edit: ProposedEdit) -> str:
    """The text of ``edit.path`` after ``edit``; ``text`` is its text before."""
    if edit.kind == "delete":
        return ""
    if edit.range is None:
        return edit.new_text
    lines = text.splitlines(keepends=True)
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


def diff_edits(path: str, before: str, after: str) -> list[ProposedEdit]:
    """The smallest line edits that turn ``before`` into ``after`` (one per changed hunk)."""
    old = before.splitlines(keepends=True)
    new = after.splitlines(keepends=True)
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    return [
        ProposedEdit(
            path=path,
            range=LineRange(start=i1 + 1, end=i2),
            new_text="".join(new[j1:j2]),
        )
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        if tag != "equal"
    ]


def unified_diff(path: str, before: str, after: str) -> str:
    old = "/dev/null" if before == "" else f"a/{path}"
    new = "/dev/null" if after == "" else f"b/{path}"
    return "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True), after.splitlines(keepends=True), old, new
        )
    )
