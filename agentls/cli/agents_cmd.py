"""``agentls agents`` (a table of agents) and ``agentls doctor`` (what to fix)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click
from rich.table import Table
from rich.text import Text

from agentls.adapters.confinement import probe
from agentls.cli.common import (
    EXIT_FAILED,
    Part,
    find_workspace,
    load_or_fail,
    out,
    print_json,
    say,
)
from agentls.domain.config import AgentlsConfig
from agentls.domain.errors import AgentlsError
from agentls.orchestration.agent_status import AgentStatus, agent_statuses
from agentls.orchestration.config_loader import config_files, load_config

_WORKSPACE = click.option(
    "--workspace",
    type=click.Path(path_type=Path, file_okay=False),
    default=".",
    show_default=True,
    help="Workspace whose .agentls.yaml applies.",
)

OK: Part = ("ok", "green")
FIX: Part = ("fix", "red")
NOTE: Part = ("note", "yellow")


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
            "yes" if status.enabled else Text("no", style="dim"),
            status.binary or Text("not found", style="red"),
            status.version or "-",
            _credentials(status),
        )
    out.print(table)
    disabled = [s for s in statuses if not s.enabled]
    if disabled:
        say("Disabled (set agents.NAME.enabled: true to use one):")
        for status in disabled:
            say(f"  {status.name}: {status.description or status.adapter}")


@click.command()
@_WORKSPACE
def doctor(workspace: Path) -> None:
    """Check the configuration and every enabled agent; say what to fix.

    Exits 0 when at least one agent can run (the built-in offline reviewer counts: agents
    that are not installed are then notes), 1 when none can or the configuration is invalid.
    """
    root = find_workspace(workspace)
    try:
        config = load_config(root)
    except AgentlsError as error:
        say(FIX, f" {error}")
        raise SystemExit(EXIT_FAILED) from None
    say(OK, "  configuration is valid: " + ", ".join(map(str, config_files(root))))
    if config.screened is not None:
        say(NOTE, f" {config.screened.message()}")
    _sandbox(config)
    enabled = [s for s in asyncio.run(agent_statuses(config)) if s.enabled]
    ready = [s for s in enabled if s.ready]
    missing = NOTE if ready else FIX  # with one agent that runs, the others are optional
    for status in enabled:
        if status.ready:
            version = f" ({status.version})" if status.version else ""
            say(OK, f"  {status.name}: {status.binary}{version}")
        for problem in status.problems:
            say(missing, f" {status.name}: {problem}")
        for note in status.notes:
            say(NOTE, f" {status.name}: {note}")
    if not ready:
        say(FIX, " no agent can run: install one of the CLIs above")
        raise SystemExit(EXIT_FAILED)
    names = ", ".join(
        f"{s.name} (the offline reviewer)" if s.adapter == "ruff" else s.name for s in ready
    )
    say(OK, f"  {len(ready)} of {len(enabled)} enabled agents can run: {names}")
    disabled = sorted(name for name, agent in config.agents.items() if not agent.enabled)
    if disabled:
        say(NOTE, f" disabled: {', '.join(disabled)} (`agentls agents` says how to set them up)")


def _sandbox(config: AgentlsConfig) -> None:
    """Which containment agentic steps get here, and how to get the OS sandbox."""
    found = probe()
    if found.usable:
        say(OK, f"  sandbox: {found.reason} contains agentic steps")
    else:
        fix = f"; to fix, {found.hint}" if found.hint else ""
        say(
            NOTE,
            f" sandbox: {found.reason}: agentic steps only detect changes outside their "
            f"sandbox{fix}",
        )
    for name, agent in sorted(config.agents.items()):
        if agent.enabled and agent.sandbox != "os":
            what = "not contained" if agent.sandbox == "off" else "only checked afterwards"
            say(NOTE, f" {name}: sandbox: {agent.sandbox}: its agentic steps are {what}")


def _credentials(status: AgentStatus) -> Text:
    if status.credentials is None:
        return Text("not needed")
    if status.credentials:
        return Text("set", style="green")
    return Text.assemble(("not set", "yellow"), " (" + " / ".join(status.credential_env) + ")")


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
