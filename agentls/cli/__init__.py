"""The ``agentls`` command: the same tasks and workflows as the editor, in a terminal.

Subcommands are imported when they run, so ``agentls serve`` starts without loading the
terminal rendering it never uses.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from agentls import __version__

COMMANDS = {
    "agents": "agentls.cli.agents_cmd:agents",
    "doctor": "agentls.cli.agents_cmd:doctor",
    "exec": "agentls.cli.exec_cmd:exec_task",
    "workflows": "agentls.cli.run_cmd:workflows",
    "run": "agentls.cli.run_cmd:run",
    "followup": "agentls.cli.run_cmd:followup",
    "history": "agentls.cli.run_cmd:history_cmd",
    "apply": "agentls.cli.run_cmd:apply_cmd",
    "undo": "agentls.cli.run_cmd:undo_cmd",
    "shell": "agentls.cli.shell_cmd:shell",
    "serve": "agentls.cli.serve_cmd:serve",
    "config": "agentls.cli.config_cmd:config",
    "audit": "agentls.cli.audit_cmd:audit",
    "trust": "agentls.cli.trust_cmd:trust_cmd",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module, _, attribute = target.partition(":")
        command: Any = getattr(importlib.import_module(module), attribute)
        return command  # type: ignore[no-any-return]


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="agentls")
@click.option("-v", "--verbose", count=True, help="Log to stderr (-v info, -vv debug).")
@click.option("--log-json", is_flag=True, help="Log JSON lines instead of readable lines.")
def main(verbose: int, log_json: bool) -> None:
    """Run AI coding agents (Claude Code, Codex, Gemini, Copilot, ...) on your code."""
    from agentls.log import configure_logging

    configure_logging({0: "WARNING", 1: "INFO"}.get(verbose, "DEBUG"), json=log_json)
