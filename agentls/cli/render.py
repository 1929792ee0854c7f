"""Terminal and JSON renderings of a task result, and a run's report in the terminal."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.panel import Panel
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from agentls.domain import textfile
from agentls.domain.edits import apply_edit, unified_diff
from agentls.domain.paths import printable
from agentls.domain.results import (
    Finding,
    ProposedEdit,
    Severity,
    TaskResult,
    WorkflowResult,
    and_list,
)
from agentls.orchestration.report import markdown_around_findings
from agentls.redaction import Redactor

_SEVERITY_STYLE = {
    Severity.ERROR: "bold red",
    Severity.WARNING: "yellow",
    Severity.INFO: "cyan",
    Severity.HINT: "dim",
}
_SEVERITY_PIECE = {severity: (severity.value, style) for severity, style in _SEVERITY_STYLE.items()}
"""A finding's severity as printed (an enum's ``value`` costs a call on every look)."""


def result_json(result: TaskResult) -> dict[str, Any]:
    """The ``agentls exec --json`` object."""
    return {
        "agent": result.agent,
        "task": result.task.value,
        "status": result.status,
        "text": result.text,
        "findings": [
            {
                "path": f.path,
                "line": f.line,
                "end_line": f.end_line,
                "severity": f.severity.value,
                "message": f.message,
                "code": f.code,
                "suggestion": f.suggestion,
            }
            for f in result.findings
        ],
        "edits": [edit.model_dump(mode="json") for edit in result.edits],
        "refused": [refused.model_dump(mode="json") for refused in result.refused],
        "session_id": result.session_id,
        "usage": {
            "input_tokens": result.usage.input_tokens,
            "output_tokens": result.usage.output_tokens,
            "cost_usd": result.usage.cost_usd,
            "premium_requests": result.usage.premium_requests,
            "estimated": result.usage.estimated,
        },
        "duration_s": round(result.duration_s, 3),
        "attempts": result.attempts,
        "cached": result.cached,
        "containment": result.containment,
        "notes": result.notes,
        "error": result.error.model_dump(mode="json") if result.error else None,
    }


def render_workflow(console: Console, result: WorkflowResult) -> None:
    """A run's report (``workflow_markdown``) with its findings one to a line: laying out
    thousands of them as markdown would take longer than the run."""
    from rich.markdown import Markdown  # its parser loads on first use

    before, after = markdown_around_findings(result)
    console.print(Markdown(before))
    if result.findings:
        console.print()
        console.print(FindingLines(result.findings), soft_wrap=True)
    if after:
        console.print()
        console.print(Markdown(after))


def render_result(console: Console, result: TaskResult, workspace: Path) -> None:
    console.print(_header(result))
    if result.error is not None:
        error = result.error
        console.print(Text.assemble(("error", "bold red"), f" ({error.kind}): {error.message}"))
    if result.findings:
        console.print(FindingLines(result.findings), soft_wrap=True)
    for edit in result.edits:
        console.print(_edit_panel(edit, workspace))
    for refused in result.refused:
        console.print(Text(str(refused), style="yellow"))
    if result.text and not result.findings and not result.edits and result.ok:
        from rich.markdown import Markdown  # its parser loads on first use

        console.print(Markdown(result.text))


def _header(result: TaskResult) -> Text:
    status = Text("ok", style="bold green") if result.ok else Text("failed", style="bold red")
    took = " (cached)" if result.cached else f" in {result.duration_s:.1f}s"
    text = Text.assemble((f"{result.agent} ", "bold"), f"{result.task} ", status, took)
    usage = result.usage
    parts = []
    if usage.input_tokens is not None or usage.output_tokens is not None:
        about = "~" if usage.estimated else ""  # estimated: the CLI reported none
        parts.append(f"{about}{usage.input_tokens or 0} in / {usage.output_tokens or 0} out tokens")
    if usage.cost_usd is not None:
        parts.append(f"${usage.cost_usd:.4f}")
    if usage.premium_requests is not None:
        parts.append(f"{usage.premium_requests:g} premium requests")
    if result.attempts > 1:
        parts.append(f"{result.attempts} attempts")
    if parts:
        text.append("  (" + ", ".join(parts) + ")", style="dim")
    return text


class FindingLines:
    """Findings one to a line, by path then line, in the form terminals and editors turn into
    links: ``path:line: severity code message (who; a hint when it has a fix)``.

    Agent output is shown as written, never read as markup (each piece is a plain segment),
    on one printable line (control characters escaped) with secrets redacted. The lines are
    printed as they are, with nothing to lay out (a terminal wraps a long line itself), so
    thousands print at once."""

    def __init__(self, findings: Iterable[Finding]) -> None:
        ordered = sorted(findings, key=lambda f: (f.path, f.line))
        self.lines = [_finding_pieces(finding) for finding in ordered]
        wholes = ["".join(text for text, _ in line) for line in self.lines]
        redactor = Redactor.current()
        secret = redactor.finds("\n".join(wholes))  # usually none: one search for all lines
        for number, (line, whole) in enumerate(zip(self.lines, wholes, strict=True)):
            redacted = redactor.text(whole) if secret else whole
            if redacted != whole:  # the line as one piece, so that no secret hides across pieces
                self.lines[number] = [(printable(redacted), "")]
            elif not whole.isprintable():
                self.lines[number] = [(printable(text), style) for text, style in line]

    @property
    def plain(self) -> str:
        return "\n".join("".join(text for text, _ in line) for line in self.lines)

    def __str__(self) -> str:
        return self.plain

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if console.color_system is None:  # no styles to show (not a terminal): the text alone
            yield Segment(self.plain + "\n")
            return
        styles: dict[str, Style] = {}
        for line in self.lines:
            for text, style in line:
                if style and style not in styles:
                    styles[style] = console.get_style(style)
                yield Segment(text, styles[style] if style else None)
            yield Segment.line()


_Pieces = list[tuple[str, str]]
"""A line as (text, style) pieces; style "" for none."""


def _finding_pieces(finding: Finding) -> _Pieces:
    pieces = [
        (f"{finding.path}:{finding.line}:", "bold"),
        (" ", ""),
        _SEVERITY_PIECE[finding.severity],
    ]
    if finding.code:
        pieces.append((f" {finding.code}", "cyan"))
    pieces.append((f" {finding.message}", ""))
    notes = _notes(finding)
    if notes:
        pieces.append((f" {notes}", "dim"))
    return pieces


def _notes(finding: Finding) -> str:
    """Who reported ``finding``, whether their agreement raised it, whether it has a fix."""
    notes = [finding.reported_by] if finding.reported_by else []
    if finding.raised_from is not None:
        notes.append(f"raised from {finding.raised_from}")
    if finding.alternatives:  # the reviewers' fixes differ
        fixers = and_list([finding.agent or "?", *(a.agent for a in finding.alternatives)])
        notes.append(f"different fixes from {fixers}")
    elif finding.suggestion is not None and "(fix: " not in finding.message:
        notes.append("has a fix")
    return f"({'; '.join(notes)})" if notes else ""


def _edit_panel(edit: ProposedEdit, workspace: Path) -> Panel:
    path = workspace / edit.path
    try:
        before = textfile.read_text(path, edit.path) or ""  # as the task read it
    except (OSError, textfile.TextFileError):
        before = ""
    diff = unified_diff(edit.path, before, apply_edit(before, edit)) or "(no change)\n"
    title = f"proposed {edit.kind}: {edit.path}" + (f" lines {edit.range}" if edit.range else "")
    from rich.syntax import Syntax  # pygments loads on first use

    syntax = Syntax(diff, "diff", background_color="default")
    return Panel(Group(syntax), title=Text(title))
