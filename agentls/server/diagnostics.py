"""Review findings as diagnostics that follow the code they talk about.

Each diagnostic remembers the text of the lines it points at. When the user edits the
document, diagnostics below or above the edit move with their lines; a diagnostic whose lines
were edited is dropped, never left pointing at the wrong code.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lsprotocol import types

from agentls.lines import lsp_lines
from agentls.orchestration.results import Finding
from agentls.server.convert import finding_diagnostic
from agentls.server.rebase import LineMap


@dataclass
class _Entry:
    diagnostic: types.Diagnostic
    start: int  # 0-based first line
    end: int  # 0-based, exclusive


@dataclass
class DiagnosticStore:
    entries: dict[str, list[_Entry]] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    """The text each uri's entries refer to."""

    def replace(self, uri: str, findings: list[Finding], text: str, run_id: str) -> None:
        entries = []
        lines = lsp_lines(text)
        for finding in findings:
            diagnostic = finding_diagnostic(finding, lines, run_id)
            entries.append(_Entry(diagnostic, finding.line - 1, finding.last_line))
        self.entries[uri] = entries
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
            if mapping.changed(entry.start, entry.end):
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


def _moved(entry: _Entry, shift: int) -> _Entry:
    old = entry.diagnostic.range
    moved = types.Range(
        start=types.Position(line=old.start.line + shift, character=old.start.character),
        end=types.Position(line=old.end.line + shift, character=old.end.character),
    )
    diagnostic = types.Diagnostic(
        range=moved,
        message=entry.diagnostic.message,
        severity=entry.diagnostic.severity,
        code=entry.diagnostic.code,
        source=entry.diagnostic.source,
        data=_shift_data(entry.diagnostic.data, shift),
    )
    return _Entry(diagnostic, entry.start + shift, entry.end + shift)


def _shift_data(data: object, shift: int) -> object:
    if isinstance(data, dict) and "line" in data:
        return {**data, "line": data["line"] + shift, "endLine": data["endLine"] + shift}
    return data
