"""A run's proposed change as hunks the user reviews one by one.

A hunk is one changed region of one file: the lines of the file as the run started that it
replaces, and their replacement, from a line diff of each file before the run and as proposed.
A created file is one hunk (its whole text); a deleted file is one hunk too. Each hunk names the
step and agent that made it: the last step that changed its file (a refine after an implement
made the text that is proposed) and that step's own one-line reason.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

from agentls.domain.edits import by_file, changed_regions, file_after
from agentls.domain.lines import lines as text_lines
from agentls.domain.results import LineRange, ProposedEdit, StepRecord, WorkflowResult

REASON_WIDTH = 100


class HunkState(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    STALE = "stale"
    """The user changed its lines before deciding: it can no longer be applied as proposed."""
    UNDONE = "undone"
    """Accepted, then undone."""


class Hunk(BaseModel):
    id: str
    """``h1``, ``h2``, … in the order of the files and their lines."""
    path: str
    kind: Literal["change", "create", "delete"] = "change"
    range: LineRange
    """The lines of the file as the run started that it replaces (``end == start - 1``: it
    inserts before ``start``)."""
    old_text: str
    new_text: str
    step: str | None = None
    agent: str | None = None
    reason: str = ""
    """One line: what the agent said it did."""

    @property
    def old_lines(self) -> int:
        return self.range.end - self.range.start + 1

    @property
    def new_lines(self) -> int:
        return len(text_lines(self.new_text))

    def edit(self) -> ProposedEdit:
        if self.kind == "delete":
            return ProposedEdit(path=self.path, kind="delete")
        return ProposedEdit(path=self.path, range=self.range, new_text=self.new_text)


class Decision(BaseModel):
    """What the user decided about one hunk (kept in the history for the follow-up)."""

    hunk: str
    path: str
    range: LineRange
    agent: str | None = None
    state: HunkState
    reason: str | None = None
    """Why the user rejected it, in their words (None: they gave none)."""
    summary: str = ""
    """The hunk's own reason, to remind the agent which change it was."""

    @property
    def where(self) -> str:
        """``a.py lines 3-4``, or ``a.py before line 3`` for an insertion."""
        if self.range.end < self.range.start:
            return f"{self.path} before line {self.range.start}"
        if self.range.end == self.range.start:
            return f"{self.path} line {self.range.start}"
        return f"{self.path} lines {self.range}"


class Review(BaseModel):
    """The decisions about one turn's proposal."""

    decisions: list[Decision] = Field(default_factory=list)

    @property
    def rejected(self) -> list[Decision]:
        return [d for d in self.decisions if d.state is HunkState.REJECTED]


def hunks_of(result: WorkflowResult) -> list[Hunk]:
    """The result's edits as hunks against each file as the run started."""
    hunks: list[Hunk] = []
    for path, edits in by_file(result.edits).items():
        before = result.originals.get(path)
        after = file_after(before, edits)
        step = _maker(result, path)
        made = {
            "step": step.step if step else None,
            "agent": step.agent if step else None,
            "reason": _reason(step),
        }
        if after is None:
            whole = LineRange(start=1, end=len(text_lines(before or "")))
            gone = Hunk(id="", path=path, kind="delete", range=whole, old_text=before or "",
                        new_text="")  # fmt: skip
            hunks.append(gone.model_copy(update=made))
            continue
        kind: Literal["change", "create"] = "create" if before is None else "change"
        for changed in _regions(path, before or "", after):
            hunks.append(changed.model_copy(update={"kind": kind, **made}))
    return [hunk.model_copy(update={"id": f"h{index}"}) for index, hunk in enumerate(hunks, 1)]


def _regions(path: str, before: str, after: str) -> list[Hunk]:
    return [
        Hunk(id="", path=path, range=lines, old_text=old_text, new_text=new_text)
        for lines, old_text, new_text in changed_regions(before, after)
    ]


def _maker(result: WorkflowResult, path: str) -> StepRecord | None:
    """The last step that changed ``path``: the text proposed is its."""
    maker = None
    for record in result.steps:
        outcome = record.result
        if record.status != "ok" or outcome is None:
            continue
        if path in outcome.changed_files or any(e.path == path for e in outcome.edits):
            maker = record
    return maker


def _reason(record: StepRecord | None) -> str:
    """The first line of what the step's agent said, short; else what the step was."""
    if record is None:
        return "proposed change"
    text = record.result.text if record.result else ""
    fenced = False
    for line in text.splitlines():
        line = line.strip()
        if line.startswith(("```", "~~~")):
            fenced = not fenced
            continue
        line = line.lstrip("#*->` ").strip()
        if line and not fenced and not line.startswith("{"):
            return _shorten(line)
    return record.task.value if record.step == record.task.value else record.step


def _shorten(line: str) -> str:
    line = " ".join(line.split())
    if len(line) <= REASON_WIDTH:
        return line
    return line[:REASON_WIDTH].rsplit(" ", 1)[0].rstrip(" ,.;:") + "…"
