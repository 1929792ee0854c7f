"""``agentls trust [FOLDER]``: let a workspace's ``.agentls.yaml`` choose what runs."""

from __future__ import annotations

from pathlib import Path

import click
import yaml

from agentls.cli.common import EXIT_FAILED, fail, out
from agentls.domain.errors import AgentlsError
from agentls.domain.locations import WORKSPACE_FILE
from agentls.orchestration import trust
from agentls.orchestration.config_loader import load_config


@click.command("trust")
@click.argument(
    "folder", type=click.Path(path_type=Path, file_okay=False), default=".", required=False
)
@click.option("--forget", is_flag=True, help="Withdraw trust instead.")
def trust_cmd(folder: Path, forget: bool) -> None:
    """Trust FOLDER's .agentls.yaml as it is now: its agents' commands, environment and
    arguments may then run. Any later change to the file needs trusting again."""
    file = (folder / WORKSPACE_FILE).resolve()
    if forget:
        if trust.forget(file):
            out.print(f"no longer trusted: {file!s}")
        else:
            out.print(f"{file!s} was not trusted")
        return
    if not file.is_file():
        fail(f"{file} does not exist; give the folder that holds the {WORKSPACE_FILE}")
    try:
        raw = file.read_bytes()
        data = yaml.safe_load(raw) or {}
    except (OSError, yaml.YAMLError) as error:
        fail(f"{file}: cannot read it as YAML ({error}); fix it, then trust it")
    try:
        sha256 = trust.trust(file, trust.digest(raw))
    except AgentlsError as error:
        fail(str(error), EXIT_FAILED)
    out.print(f"trusted {file!s} (sha256 {sha256[:16]}…)")
    keys = trust.program_keys(data, _own_agents()) if isinstance(data, dict) else []
    if keys:
        out.print("it may now run programs through:")
        for key in keys:
            out.print(f"  {'.'.join(str(part) for part in key)}: {_value(data, key)}")


def _value(data: dict[str, object], key: trust.Key) -> str:
    node: object = data
    for part in key:
        if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            node = node.get(part) if isinstance(node, dict) else None
    return yaml.safe_dump(node, default_flow_style=True, width=10_000).strip()


def _own_agents() -> set[str]:
    """Agents the built-in and the user's configuration define (the workspace's own are new)."""
    try:
        return set(load_config(None).agents)
    except AgentlsError:
        return set()
