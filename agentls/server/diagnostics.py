"""Review findings as diagnostics that follow the code they talk about.

Each diagnostic remembers the text of the lines it points at. When the user edits the
document (or agentls applies an edit), diagnostics below or above the edit move with their
lines; a diagnostic whose lines were edited or rewritten is dropped, never left pointing at the
wrong code. A review replaces only what its own reviewers said before about the lines it
reviewed: other agents' findings, and findings outside those lines, stay.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from lsprotocol import types

from agentls.domain.lines import lsp_lines
from agentls.domain.rebase import LineMap
from agentls.domain.results import Finding, LineRange
from agentls.server.convert import FindingData, finding_diagnostic


@dataclass
class _Entry:
    diagnostic: types.Diagnostic
    start: int  # 0-based first line
    end: int  # 0-based, exclusive
    agents: frozenset[str] = frozenset()
    """The reviewers that reported it (empty: unknown)."""


@dataclass
class DiagnosticStore:
    entries: dict[str, list[_Entry]] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    """The text each uri's entries refer to."""

    def replace(
        self,
        uri: str,
        findings: list[Finding],
        text: str,
        run_id: str,
        reviewers: Collection[str] | None = None,
        reviewed: LineRange | None = None,
        cached: Collection[str] = (),
        related_information: bool = False,
    ) -> None:
        """Show ``findings`` on ``uri``, whose text is ``text``. They replace the findings
        ``reviewers`` reported before on the ``reviewed`` lines (None: the whole file); with
        no ``reviewers``, every finding of ``uri``. ``cached``: the reviewers whose answer
        came from the cache; the findings only they reported say so.
        ``related_information``: the client shows a diagnostic's related information."""
        self.follow_edit(uri, text)
        kept = [
            entry
            for entry in self.entries.get(uri, [])
            if not _superseded(entry, reviewers, reviewed)
        ]
        lines = lsp_lines(text)
        for finding in findings:
            agents = frozenset(finding.agents or ([finding.agent] if finding.agent else []))
            from_cache = bool(agents) and agents.issubset(cached)
            diagnostic = finding_diagnostic(
                finding, lines, run_id, from_cache, uri, related_information
            )
            # it covers every line one of its fixes replaces: an edit there drops it
            start = min([finding.line] + [other.line for other in finding.alternatives])
            end = max([finding.last_line] + [other.last_line for other in finding.alternatives])
            kept.append(_Entry(diagnostic, start - 1, end, agents))
        self.entries[uri] = sorted(kept, key=lambda entry: entry.start)
        self.texts[uri] = text

    def diagnostics(self, uri: str) -> list[types.Diagnostic]:
        return [entry.diagnostic for entry in self.entries.get(uri, [])]

    def clear(self, uri: str | None = None) -> list[str]:
        """Forget the diagnostics of ``uri`` (or of every document); the uris cleared."""
        uris = [uri] if uri is not None else list(self.entries)
        for each in uris:
            self.entries.pop(each, None)
            self.texts.pop(each, None)
        return uris

    def follow_edit(self, uri: str, text: str) -> bool:
        """Move or drop ``uri``'s diagnostics for its new text; True if any changed."""
        old = self.texts.get(uri)
        entries = self.entries.get(uri)
        if old is None or not entries or old == text:
            if old is not None:
                self.texts[uri] = text
            return False
        mapping = LineMap(old, text)
        lines = lsp_lines(text)
        kept = []
        for entry in entries:
            if mapping.rewritten(entry.start, entry.end):
                continue
            start = mapping.position(entry.start)
            shift = start - entry.start
            if shift:
                entry = _moved(entry, shift)
            if entry.end > len(lines):
                continue
            kept.append(entry)
        changed = len(kept) != len(entries) or any(
            a is not b for a, b in zip(kept, entries, strict=False)
        )
        self.entries[uri] = kept
        self.texts[uri] = text
        return changed


def _superseded(
    entry: _Entry, reviewers: Collection[str] | None, reviewed: LineRange | None
) -> bool:
    """Whether a new review by ``reviewers`` of lines ``reviewed`` replaces ``entry``: one of
    them reported it (or nobody knows who did), and it touches those lines."""
    if reviewers is None:
        return True
    if entry.agents and entry.agents.isdisjoint(reviewers):
        return False
    return reviewed is None or (entry.start < reviewed.end and entry.end > reviewed.start - 1)


def _moved(entry: _Entry, shift: int) -> _Entry:
    related = [
        types.DiagnosticRelatedInformation(
            location=types.Location(
                uri=info.location.uri, range=_shifted(info.location.range, shift)
            ),
            message=info.message,
        )
        for info in entry.diagnostic.related_information or []
    ]
    diagnostic = types.Diagnostic(
        range=_shifted(entry.diagnostic.range, shift),
        message=entry.diagnostic.message,
        severity=entry.diagnostic.severity,
        code=entry.diagnostic.code,
        source=entry.diagnostic.source,
        related_information=related or None,
        data=_shift_data(entry.diagnostic.data, shift),
    )
    return _Entry(diagnostic, entry.start + shift, entry.end + shift, entry.agents)


def _shifted(old: types.Range, shift: int) -> types.Range:
    return types.Range(
        start=types.Position(line=old.start.line + shift, character=old.start.character),
        end=types.Position(line=old.end.line + shift, character=old.end.character),
    )


def _shift_data(data: object, shift: int) -> object:
    finding = FindingData.read(data)
    return finding.shifted(shift).lsp() if finding is not None else data
