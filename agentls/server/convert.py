"""Domain types to LSP types and back: the one place where 1-based lines meet LSP positions.

Positions sent to the client count UTF-16 code units (the LSP default), which is what a line's
length must be measured in when an edit ends at the end of a line without a newline.
"""

from __future__ import annotations

from typing import Any, Self

from lsprotocol import types
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel
from pygls.uris import from_fs_path, to_fs_path

from agentls.domain.lines import line_count, lsp_lines, newline_of, with_newline
from agentls.domain.results import Finding, LineRange, ProposedEdit, Severity, Suggestion

SOURCE = "agentls"
CACHED_MARK = " (cached)"
"""Ends the message of a diagnostic whose finding came from a cached answer."""

_SEVERITY = {
    Severity.ERROR: types.DiagnosticSeverity.Error,
    Severity.WARNING: types.DiagnosticSeverity.Warning,
    Severity.INFO: types.DiagnosticSeverity.Information,
    Severity.HINT: types.DiagnosticSeverity.Hint,
}


class _Data(BaseModel):
    """JSON the server gives the client to send back (camelCase keys); what comes back is
    checked like any input."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    @classmethod
    def read(cls, data: object) -> Any:
        """``data`` as this model, or None when it is not one of ours."""
        if not isinstance(data, dict):
            return None
        try:
            return cls.model_validate(data)
        except ValidationError:
            return None

    def lsp(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_defaults=True)


class _Lines(_Data):
    line: int = Field(ge=1)
    end_line: int = Field(ge=1)

    @model_validator(mode="after")
    def _in_order(self) -> _Lines:
        if self.end_line < self.line:
            raise ValueError("endLine is before line")
        return self

    def shifted(self, lines: int) -> Self:
        return self.model_copy(
            update={"line": self.line + lines, "end_line": self.end_line + lines}
        )


class AlternativeData(_Lines):
    """Another reviewer's fix for a finding's lines (``FindingData.alternatives``)."""

    agent: str
    suggestion: str


class FindingData(_Lines):
    """``Diagnostic.data`` of a finding: who reported it, in which run, the lines it covers
    (1-based, moved along as the user edits), its fix and the other reviewers' fixes."""

    agent: str | None = None
    agents: list[str] = []
    run_id: str
    label: str = ""
    """What names it in a short title (``finding_label``)."""
    suggestion: str | None = None
    alternatives: list[AlternativeData] = []
    cached: bool = False
    """It came from a cached answer."""

    def shifted(self, lines: int) -> Self:
        moved = super().shifted(lines)
        moved.alternatives = [alternative.shifted(lines) for alternative in self.alternatives]
        return moved


class FixData(_Lines):
    """``CodeAction.data`` of a finding's quick fix, for ``codeAction/resolve``."""

    uri: str
    suggestion: str


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def lines_range(text: str, lines: LineRange | None) -> types.Range:
    """The LSP range covering whole lines ``lines`` of ``text`` (all of it for None)."""
    all_lines = lsp_lines(text)
    last_index = len(all_lines) - 1  # the (possibly empty) text after the last newline
    if lines is None:
        return types.Range(
            start=types.Position(line=0, character=0),
            end=types.Position(line=last_index, character=utf16_length(all_lines[-1])),
        )
    start = types.Position(line=lines.start - 1, character=0)
    if lines.end < last_index or (lines.end == last_index and all_lines[-1] == ""):
        end = types.Position(line=lines.end, character=0)
    else:  # the range runs to the end of a file without a final newline
        end = types.Position(line=last_index, character=utf16_length(all_lines[-1]))
    return types.Range(start=start, end=end)


def lsp_to_lines(selection: types.Range) -> LineRange:
    """The 1-based lines a selection touches (a selection ending at column 0 stops before)."""
    start = selection.start.line + 1
    end = selection.end.line + 1
    if selection.end.character == 0 and selection.end.line > selection.start.line:
        end -= 1
    return LineRange(start=start, end=max(end, start))


def text_edit(text: str, edit: ProposedEdit) -> types.TextEdit:
    """``edit`` of the document ``text``, its new lines ending as the document's do.

    Lines added after the last line of a text that ends with a line ending are inserted at the
    end of that last line, behind a line ending: the position after it is a line some editors do
    not have (Neovim's buffer has no empty last line, and adds one to put the text there)."""
    newline = newline_of(text)
    new_text = with_newline(edit.new_text, newline)
    lines = edit.range
    if (
        lines is not None
        and lines.end == lines.start - 1
        and lines.end == line_count(text) > 0
        and text.endswith(newline)
        and new_text.endswith(newline)
    ):
        last = lsp_lines(text)[-2]
        end = types.Position(line=lines.end - 1, character=utf16_length(last))
        return types.TextEdit(
            range=types.Range(start=end, end=end),
            new_text=newline + new_text[: -len(newline)],
        )
    return types.TextEdit(range=lines_range(text, lines), new_text=new_text)


def finding_diagnostic(
    finding: Finding,
    lines: list[str],
    run_id: str,
    cached: bool = False,
    uri: str = "",
    related_information: bool = False,
) -> types.Diagnostic:
    """``lines``: the document's ``agentls.domain.lines.lsp_lines``; ``cached``: the finding comes
    from a cached answer (the message ends with ``CACHED_MARK`` and ``data.cached`` is set).
    Other reviewers' fixes are related information at their lines of ``uri`` when the client
    shows it (``related_information``), else notes in the message."""
    data = FindingData(
        agent=finding.agent,
        agents=finding.agents,
        run_id=run_id,
        line=finding.line,
        end_line=finding.last_line,
        label=finding_label(finding),
        suggestion=finding.suggestion,
        alternatives=[
            AlternativeData(
                agent=other.agent, line=other.line, end_line=other.last_line, suggestion=other.text
            )
            for other in finding.alternatives
        ],
        cached=cached,
    )
    notes = [by] if (by := finding.reported_by) else []
    related = []
    for other in finding.alternatives:
        note = alternative_note(other)
        if related_information and uri:
            location = types.Location(uri=uri, range=_lines_of(other.line, other.last_line, lines))
            related.append(types.DiagnosticRelatedInformation(location=location, message=note))
        else:
            notes.append(note)
    message = f"{finding.message} ({'; '.join(notes)})" if notes else finding.message
    if cached:
        message += CACHED_MARK
    return types.Diagnostic(
        range=_lines_of(finding.line, finding.last_line, lines),
        severity=_SEVERITY[finding.severity],
        code=finding.code,
        source=SOURCE,
        message=message,
        related_information=related or None,
        data=data.lsp(),
    )


def alternative_note(suggestion: Suggestion, width: int = 60) -> str:
    """``claude suggests instead: <its first line>``, cut at ``width`` characters."""
    shown = [line.strip() for line in suggestion.text.splitlines() if line.strip()]
    if not shown:
        return f"{suggestion.agent} suggests instead: delete the lines"
    first = shown[0]
    if len(first) > width:
        first = first[:width].rstrip() + "…"
    elif len(shown) > 1:
        first += " …"
    return f"{suggestion.agent} suggests instead: {first}"


def _lines_of(line: int, last_line: int, lines: list[str]) -> types.Range:
    """From the start of ``line`` to the end of ``last_line`` (1-based, within ``lines``)."""
    last = min(last_line, len(lines))
    end_character = utf16_length(lines[last - 1]) if 0 < last <= len(lines) else 0
    return types.Range(
        start=types.Position(line=line - 1, character=0),
        end=types.Position(line=last - 1, character=end_character),
    )


def finding_label(finding: Finding, width: int = 40) -> str:
    """What names a finding in a short title: its code, or its message's start."""
    if finding.code:
        return finding.code
    message = " ".join(finding.message.split())
    if len(message) <= width:
        return message
    return message[:width].rsplit(" ", 1)[0].rstrip(" ,.;:") + "…"


def uri_to_path(uri: str) -> str | None:
    return to_fs_path(uri)


def path_to_uri(path: str) -> str:
    return str(from_fs_path(path))
