"""Terminal and JSON renderings of a task result."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from agentls.domain import textfile
from agentls.domain.edits import apply_edit, unified_diff
from agentls.domain.results import ProposedEdit, Severity, TaskResult, and_list

_SEVERITY_STYLE = {
    Severity.ERROR: "bold red",
    Severity.WARNING: "yellow",
    Severity.INFO: "cyan",
    Severity.HINT: "dim",
}


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


def render_result(console: Console, result: TaskResult, workspace: Path) -> None:
    console.print(_header(result))
    if result.error is not None:
        error = result.error
        console.print(Text.assemble(("error", "bold red"), f" ({error.kind}): {error.message}"))
    if result.findings:
        console.print(_findings_table(result))
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


def _findings_table(result: TaskResult) -> Table:
    table = Table(show_header=True, header_style="bold", expand=False)
    table.add_column("where", no_wrap=True)
    table.add_column("severity")
    table.add_column("code")
    table.add_column("message")
    for finding in result.findings:
        message = Text(finding.message)
        if len(finding.agents) > 1 or finding.unconfirmed:  # several reviewers ran
            message.append(f"  ({finding.reported_by})", style="dim")
        if finding.alternatives:  # the reviewers' fixes differ
            fixers = and_list([finding.agent or "?", *(a.agent for a in finding.alternatives)])
            message.append(f"  (different fixes from {fixers})", style="dim")
        elif finding.suggestion is not None:
            message.append("  (has a fix)", style="dim")
        table.add_row(
            finding.where,
            Text(finding.severity.value, style=_SEVERITY_STYLE[finding.severity]),
            finding.code or "",
            message,
        )
    return table


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
