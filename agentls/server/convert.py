"""Domain types to LSP types and back: the one place where 1-based lines meet LSP positions.

Positions sent to the client count UTF-16 code units (the LSP default), which is what a line's
length must be measured in when an edit ends at the end of a line without a newline.
"""

from __future__ import annotations

from typing import Any

from lsprotocol import types
from pygls.uris import from_fs_path, to_fs_path

from agentls.domain.lines import lsp_lines, newline_of, with_newline
from agentls.domain.results import Finding, LineRange, ProposedEdit, Severity

SOURCE = "agentls"
CACHED_MARK = " (cached)"
"""Ends the message of a diagnostic whose finding came from a cached answer."""

_SEVERITY = {
    Severity.ERROR: types.DiagnosticSeverity.Error,
    Severity.WARNING: types.DiagnosticSeverity.Warning,
    Severity.INFO: types.DiagnosticSeverity.Information,
    Severity.HINT: types.DiagnosticSeverity.Hint,
}


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
    """``edit`` of the document ``text``, its new lines ending as the document's do."""
    new_text = with_newline(edit.new_text, newline_of(text))
    return types.TextEdit(range=lines_range(text, edit.range), new_text=new_text)


def finding_diagnostic(
    finding: Finding, lines: list[str], run_id: str, cached: bool = False
) -> types.Diagnostic:
    """``lines``: the document's ``agentls.domain.lines.lsp_lines``; ``cached``: the finding comes
    from a cached answer (the message ends with ``CACHED_MARK`` and ``data.cached`` is set)."""
    last = min(finding.last_line, len(lines))
    end_character = utf16_length(lines[last - 1]) if 0 < last <= len(lines) else 0
    data: dict[str, Any] = {
        "agent": finding.agent,
        "agents": finding.agents,
        "runId": run_id,
        "line": finding.line,
        "endLine": finding.last_line,
        "label": finding_label(finding),
    }
    if finding.suggestion is not None:
        data["suggestion"] = finding.suggestion
    message = f"{finding.message} ({by})" if (by := finding.reported_by) else finding.message
    if cached:
        data["cached"] = True
        message += CACHED_MARK
    return types.Diagnostic(
        range=types.Range(
            start=types.Position(line=finding.line - 1, character=0),
            end=types.Position(line=last - 1, character=end_character),
        ),
        severity=_SEVERITY[finding.severity],
        code=finding.code,
        source=SOURCE,
        message=message,
        data=data,
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
