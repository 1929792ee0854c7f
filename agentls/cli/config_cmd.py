"""``agentls config``: check the configuration, print it, or print its JSON schema."""

from __future__ import annotations

from pathlib import Path

import click
import yaml

from agentls.cli.common import find_workspace, load_or_fail, out
from agentls.orchestration.config_loader import config_files, render_schema
from agentls.redaction import REDACTED, redact_value


@click.group()
def config() -> None:
    """Inspect the configuration."""


@config.command()
@click.option("--workspace", type=click.Path(path_type=Path), default=".", show_default=True)
def show(workspace: Path) -> None:
    """Print the merged configuration and the files it came from."""
    root = find_workspace(workspace)
    merged = load_or_fail(root)
    for path in config_files(root):
        click.echo(f"# from {path}")
    shown = merged.model_dump(mode="json")
    for agent in shown["agents"].values():
        agent["set_env"] = dict.fromkeys(agent["set_env"], REDACTED)
    click.echo(yaml.safe_dump(redact_value(shown), sort_keys=False))


@config.command()
def schema() -> None:
    """Print the JSON schema of configuration files (config/schema.json)."""
    out.file.write(render_schema())
