"""Applying proposed edits to text, and showing them as diffs (pure functions)."""

from __future__ import annotations

import difflib

from agentls.orchestration.results import ProposedEdit


def apply_edit(text: str, edit: ProposedEdit) -> str:
    """The text of ``edit.path`` after ``edit``; ``text`` is its text before."""
    if edit.kind == "delete":
        return ""
    if edit.range is None:
        return edit.new_text
    lines = text.splitlines(keepends=True)
    start, end = edit.range.start, edit.range.end
    return "".join([*lines[: start - 1], edit.new_text, *lines[end:]])


def unified_diff(path: str, before: str, after: str) -> str:
    old = "/dev/null" if before == "" else f"a/{path}"
    new = "/dev/null" if after == "" else f"b/{path}"
    return "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True), after.splitlines(keepends=True), old, new
        )
    )
