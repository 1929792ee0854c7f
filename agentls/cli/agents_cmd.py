"""``agentls agents`` (a table of agents) and ``agentls doctor`` (what to fix)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click
from rich.table import Table

from agentls.cli.common import EXIT_FAILED, find_workspace, load_or_fail, out, print_json
from agentls.orchestration.agent_status import AgentStatus, agent_statuses
from agentls.orchestration.config_loader import config_files

_WORKSPACE = click.option(
    "--workspace",
    type=click.Path(path_type=Path, file_okay=False),
    default=".",
    show_default=True,
    help="Workspace whose .agentls.yaml applies.",
)


@click.command()
@_WORKSPACE
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def agents(workspace: Path, as_json: bool) -> None:
    """List the configured agents: binary found, version, credentials."""
    statuses = asyncio.run(agent_statuses(load_or_fail(find_workspace(workspace))))
    if as_json:
        print_json([_as_dict(s) for s in statuses], indent=2)
        return
    table = Table(title="agentls agents")
    for column in ("agent", "adapter", "enabled", "binary", "version", "credentials"):
        table.add_column(column)
    for status in statuses:
        table.add_row(
            status.name,
            status.adapter,
            "yes" if status.enabled else "[dim]no[/]",
            status.binary or "[red]not found[/]",
            status.version or "-",
            _credentials(status),
        )
    out.print(table)


@click.command()
@_WORKSPACE
def doctor(workspace: Path) -> None:
    """Check the configuration and every enabled agent; say what to fix."""
    root = find_workspace(workspace)
    config = load_or_fail(root)
    out.print("[green]ok[/]  configuration is valid: " + ", ".join(map(str, config_files(root))))
    statuses = asyncio.run(agent_statuses(config))
    ready = 0
    for status in statuses:
        if not status.enabled:
            continue
        if status.ready:
            ready += 1
            version = f" ({status.version})" if status.version else ""
            out.print(f"[green]ok[/]  {status.name}: {status.binary}{version}", highlight=False)
        for problem in status.problems:
            out.print(f"[red]fix[/] {status.name}: {problem}", highlight=False)
        for note in status.notes:
            out.print(f"[yellow]note[/] {status.name}: {note}", highlight=False)
    if ready == 0:
        out.print("[red]fix[/] no agent can run: install one of the CLIs above")
        raise SystemExit(EXIT_FAILED)
    if any(s.enabled and not s.ready for s in statuses):
        raise SystemExit(EXIT_FAILED)


def _credentials(status: AgentStatus) -> str:
    if status.credentials is None:
        return "not needed"
    if status.credentials:
        return "[green]set[/]"
    return "[yellow]not set[/] (" + " / ".join(status.credential_env) + ")"


def _as_dict(status: AgentStatus) -> dict[str, object]:
    return {
        "name": status.name,
        "adapter": status.adapter,
        "description": status.description,
        "enabled": status.enabled,
        "command": status.command,
        "binary": status.binary,
        "version": status.version,
        "credentials": status.credentials,
        "ready": status.ready,
        "problems": status.problems,
        "notes": status.notes,
    }
