"""Proposals under review: each run's hunks, where they lie in the text as it is now.

A hunk is placed in the current text of its file when its run ends, and follows the text as
the user types (``follow``): typing above it moves it; typing in its lines makes a pending hunk
stale (it is never applied then) and an accepted one touched (it can no longer be undone on its
own). Accepting or undoing a hunk changes the text here first, as the editor will, so the
editor's echo of the change moves nothing. Texts are held with ``\\n`` line endings; lines are
the same lines in the editor's own.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from lsprotocol import types

from agentls.domain.lines import lines as text_lines
from agentls.domain.lines import lsp_lines
from agentls.domain.proposals import Hunk, HunkState
from agentls.domain.rebase import LineMap
from agentls.server.convert import utf16_length

SOURCE = "agentls proposal"


@dataclass
class TrackedHunk:
    hunk: Hunk
    state: HunkState = HunkState.PENDING
    start: int = 0
    """0-based line of the current text where its lines start."""
    length: int = 0
    """How many lines of the current text it spans: its old lines while pending, its new ones
    once accepted."""
    touched: bool = False
    """Accepted, and the user changed its lines since: undoing it would lose their change
    (unless its lines are back as agentls wrote them: see ``intact``)."""
    feedback: str | None = None
    """The user's reason for rejecting it."""
    turn: int = 0
    """The turn of the run's conversation that proposed it."""

    @property
    def id(self) -> str:
        return self.hunk.id

    @property
    def live(self) -> bool:
        """Whether it still has a place in the text (pending, or accepted and untouched)."""
        return self.state is HunkState.PENDING or (
            self.state is HunkState.ACCEPTED and not self.touched
        )

    @property
    def followed(self) -> bool:
        """Whether its place is still followed: pending, or accepted (even when touched: the
        user may put its lines back)."""
        return self.state in (HunkState.PENDING, HunkState.ACCEPTED)

    def intact(self, text: str | None) -> bool:
        """Whether its current lines in ``text`` are the new text it put there."""
        lines = text_lines(text or "", keepends=True)
        return "".join(lines[self.start : self.start + self.length]) == self.hunk.new_text

    @property
    def span(self) -> tuple[int, int]:
        """The lines whose change leaves it without its place (0-based, half-open): its own;
        for an insertion, the lines on each side of it."""
        if self.length:
            return self.start, self.start + self.length
        return max(self.start - 1, 0), self.start + 1

    def lines(self) -> str:
        """Its lines in the current text, 1-based, as a message names them."""
        if self.length == 0:
            return f"line {self.start + 1}"
        end = self.start + self.length
        return f"line {end}" if end == self.start + 1 else f"lines {self.start + 1}-{end}"


@dataclass
class TrackedFile:
    uri: str
    path: str
    text: str | None
    """The file's text as last seen (None: it does not exist)."""
    hunks: list[TrackedHunk] = field(default_factory=list)

    def follow(self, text: str | None, maps: dict[tuple[str, str], LineMap] | None = None) -> bool:
        """Move the hunks onto ``text``; whether any of them changed. ``maps``: line maps
        already made, by (old text, new text), shared by the proposals of one document."""
        if text == self.text:
            return False
        old = self.text
        self.text = text
        if not any(t.followed for t in self.hunks):
            return False
        mapping = None  # created or deleted since: nothing fits
        if old is not None and text is not None:
            maps = {} if maps is None else maps
            mapping = maps.get((old, text))
            if mapping is None:
                mapping = maps[(old, text)] = LineMap(old, text)
        changed = False
        for tracked in [t for t in self.hunks if t.followed]:
            if mapping is None:
                _lose_place(tracked)
                changed = True
                continue
            kept = not mapping.changed(*tracked.span)
            start = mapping.position(tracked.start) if kept else _first_line(mapping, tracked.start)
            changed = changed or start != tracked.start or not kept
            tracked.start = start
            if not kept:
                _lose_place(tracked)
        return changed

    def splice(self, replacements: list[tuple[TrackedHunk, str]]) -> str:
        """Replace each hunk's current lines by its new text (``\n`` style), as an edit of the
        editor will: the text and the places of the hunks follow. The new text."""
        text = with_hunks(self.text, replacements)
        for tracked, new_text in sorted(replacements, key=lambda r: r[0].start, reverse=True):
            new_length = len(text_lines(new_text))
            after = tracked.start + (tracked.length or 1)
            for other in self.hunks:
                if other is not tracked and other.followed and other.start >= after:
                    other.start += new_length - tracked.length
            tracked.length = new_length
        self.text = text
        return text


def _first_line(mapping: LineMap, line: int) -> int:
    """Where line ``line`` (0-based) went when it was changed: the start of what replaced it,
    so that an accepted change the user edited is still found where it was."""
    for tag, i1, i2, j1, _j2 in mapping.opcodes:
        if i1 <= line < i2 or (i1 == i2 == line):
            return j1 + (line - i1 if tag == "equal" else 0)
    return mapping.position(line)


def _lose_place(tracked: TrackedHunk) -> None:
    if tracked.state is HunkState.PENDING:
        tracked.state = HunkState.STALE
    else:
        tracked.touched = True


@dataclass
class RunProposal:
    run_id: str
    turn: int
    title: str
    folder: Path
    files: dict[str, TrackedFile] = field(default_factory=dict)
    """By uri."""
    on_reject: str | None = None
    """The workflow's ``on_reject`` (``refine``: a refine starts once every hunk is decided
    and one was rejected)."""

    def hunks(self) -> Iterator[tuple[TrackedFile, TrackedHunk]]:
        for file in self.files.values():
            for tracked in file.hunks:
                yield file, tracked

    def count(self, state: HunkState) -> int:
        return sum(1 for _, tracked in self.hunks() if tracked.state is state)

    def select(
        self, ids: Iterable[str] | None = None, uri: str | None = None
    ) -> list[tuple[TrackedFile, TrackedHunk]]:
        """The hunks named by ``ids``, else those of ``uri``, else all of them."""
        wanted = set(ids) if ids is not None else None
        return [
            (file, tracked)
            for file, tracked in self.hunks()
            if (wanted is None or tracked.id in wanted) and (uri is None or file.uri == uri)
        ]

    @property
    def state(self) -> str:
        """proposed, applied, partly applied, rejected, stale, undone."""
        counts = {state: self.count(state) for state in HunkState}
        if counts[HunkState.PENDING]:
            return "proposed"
        if counts[HunkState.ACCEPTED]:
            decided = counts[HunkState.REJECTED] + counts[HunkState.STALE]
            return "partly applied" if decided else "applied"
        if counts[HunkState.REJECTED]:
            return "rejected"
        if counts[HunkState.UNDONE]:
            return "undone"
        return "stale"


def place(
    run: RunProposal, uri: str, hunks: list[Hunk], original: str | None, current: str | None
) -> TrackedFile:
    """A file's hunks (against ``original``, its text when the run started) placed in its
    ``current`` text: where it still has their lines, else stale."""
    file = TrackedFile(uri, hunks[0].path, original, [TrackedHunk(h) for h in hunks])
    for tracked in file.hunks:
        tracked.start = tracked.hunk.range.start - 1
        tracked.length = tracked.hunk.old_lines
    file.follow(current)
    run.files[uri] = file
    return file


def with_hunks(text: str | None, replacements: list[tuple[TrackedHunk, str]]) -> str:
    """``text`` with each hunk's current lines replaced by its new text (nothing moves)."""
    lines = text_lines(text or "", keepends=True)
    for tracked, new_text in sorted(replacements, key=lambda r: r[0].start, reverse=True):
        lines[tracked.start : tracked.start + tracked.length] = text_lines(new_text, keepends=True)
    return "".join(lines)


class ProposalStore:
    """The session's proposals, by run: the latest ``kept`` with a change still pending, and
    the latest ``kept`` others (which can be undone). An older one is forgotten: its hunks go
    from the editor (``agentls.applyRun`` still applies the run whole)."""

    def __init__(self, kept: int = 20) -> None:
        self.runs: dict[str, RunProposal] = {}
        self.kept = kept

    def add(self, proposal: RunProposal) -> list[str]:
        """Keep ``proposal``. A follow-up's joins its run's: the earlier turns' pending hunks
        are superseded (the new turn started from them), their accepted ones stay (to be
        undone with the run), and the new hunks are numbered on. The uris whose hunks
        changed."""
        for _, tracked in proposal.hunks():
            tracked.turn = proposal.turn
        touched = set(proposal.files)
        earlier = self.runs.pop(proposal.run_id, None)  # back at the end: forgotten last
        if earlier is not None:
            for file, tracked in earlier.hunks():
                if tracked.state is HunkState.PENDING:
                    tracked.state = HunkState.STALE
                    touched.add(file.uri)
            _join(earlier, proposal)
            proposal = earlier
        self.runs[proposal.run_id] = proposal
        for pending in (True, False):
            held = [p for p in self.runs.values() if bool(p.count(HunkState.PENDING)) is pending]
            for old in held[: max(0, len(held) - self.kept)]:
                del self.runs[old.run_id]
                touched.update(old.files)
        return sorted(touched)

    def get(self, run_id: str) -> RunProposal | None:
        return self.runs.get(run_id)

    def files(self, uri: str) -> Iterator[tuple[RunProposal, TrackedFile]]:
        for proposal in self.runs.values():
            file = proposal.files.get(uri)
            if file is not None:
                yield proposal, file

    def follow(self, uri: str, text: str | None) -> bool:
        """The user changed ``uri`` to ``text``: move its hunks; whether any changed."""
        changed = False
        maps: dict[tuple[str, str], LineMap] = {}
        for _, file in self.files(uri):
            changed = file.follow(text, maps) or changed
        return changed

    def pending(self, uri: str) -> list[tuple[RunProposal, TrackedHunk]]:
        return [
            (proposal, tracked)
            for proposal, file in self.files(uri)
            for tracked in file.hunks
            if tracked.state is HunkState.PENDING
        ]

    def diagnostics(self, uri: str) -> list[types.Diagnostic]:
        found = []
        for proposal, file in self.files(uri):
            lines = lsp_lines(file.text or "")
            for tracked in file.hunks:
                if tracked.state is HunkState.PENDING:
                    found.append(hunk_diagnostic(proposal.run_id, tracked, lines))
        return found


def _join(run: RunProposal, turn: RunProposal) -> None:
    """``turn``'s hunks added to ``run``'s (the same run's earlier turns), numbered on."""
    number = sum(1 for _ in run.hunks())
    for uri, file in turn.files.items():
        for tracked in file.hunks:
            number += 1
            tracked.hunk = tracked.hunk.model_copy(update={"id": f"h{number}"})
        known = run.files.get(uri)
        if known is None:
            run.files[uri] = file
            continue
        known.follow(file.text)  # both hold the file as it is now
        known.hunks.extend(file.hunks)
    run.turn, run.title, run.on_reject = turn.turn, turn.title, turn.on_reject


def hunk_range(tracked: TrackedHunk, lines: list[str]) -> types.Range:
    """The lines the hunk replaces in the current text (``lines``: its ``lsp_lines``), or an
    empty range where it inserts."""
    start = types.Position(line=tracked.start, character=0)
    if tracked.length == 0:
        return types.Range(start=start, end=start)
    last = min(tracked.start + tracked.length, len(lines)) - 1
    return types.Range(
        start=start, end=types.Position(line=last, character=utf16_length(lines[last]))
    )


def hunk_diagnostic(run_id: str, tracked: TrackedHunk, lines: list[str]) -> types.Diagnostic:
    hunk = tracked.hunk
    return types.Diagnostic(
        range=hunk_range(tracked, lines),
        severity=types.DiagnosticSeverity.Information,
        source=SOURCE,
        message=f"{hunk.agent or 'agentls'} proposes: {hunk.reason} ({describe(hunk)})",
        data={"runId": run_id, "hunk": hunk.id},
    )


def describe(hunk: Hunk) -> str:
    """What the hunk does, in a few words: ``+3 -1 lines``, ``new file``, ``deletes the file``."""
    if hunk.kind == "create":
        return f"new file, {hunk.new_lines} lines"
    if hunk.kind == "delete":
        return "deletes the file"
    return f"+{hunk.new_lines} -{hunk.old_lines} lines"
