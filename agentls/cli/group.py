"""The ``agentls`` command group: every subcommand but ``serve`` is imported when it runs, so
``agentls --help`` and ``--version`` load none of them."""

from __future__ import annotations

import importlib
from typing import Any

import click

from agentls import __version__
from agentls.cli.startup import started

COMMANDS: dict[str, tuple[str, str]] = {
    "agents": (
        "agentls.cli.agents_cmd:agents",
        "List the configured agents: binary found, version, credentials.",
    ),
    "doctor": (
        "agentls.cli.agents_cmd:doctor",
        "Check the configuration and every enabled agent; say what to fix.",
    ),
    "exec": (
        "agentls.cli.exec_cmd:exec_task",
        "Run one task with one agent on a file or a line range.",
    ),
    "workflows": ("agentls.cli.run_cmd:workflows", "List the workflows and their steps."),
    "run": (
        "agentls.cli.run_cmd:run",
        "Run a workflow on a file, a line range, several files, a folder, a glob (quoted, as "
        "in 'src/**/*.py') or what changed (--changed).",
    ),
    "followup": ("agentls.cli.run_cmd:followup", "Continue an earlier run with a new message."),
    "history": ("agentls.cli.run_cmd:history_cmd", "The latest runs in this workspace."),
    "apply": (
        "agentls.cli.run_cmd:apply_cmd",
        "Write the edits an earlier run proposed, without running it again.",
    ),
    "undo": ("agentls.cli.run_cmd:undo_cmd", "Restore the files an applied run wrote."),
    "shell": (
        "agentls.cli.shell_cmd:shell",
        "Talk to the agents: each line is a new task or a follow-up.",
    ),
    "serve": ("agentls.cli.group:serve", "Run the language server."),
    "acp": (
        "agentls.cli.acp_cmd:acp",
        "Serve the workflows to an ACP client (Zed, JetBrains) on stdio.",
    ),
    "ci": (
        "agentls.cli.ci_cmd:ci",
        "Review what a pull request changed, for CI: SARIF, annotations, JSON or markdown.",
    ),
    "config": ("agentls.cli.config_cmd:config", "Inspect the configuration."),
    "audit": (
        "agentls.cli.audit_cmd:audit",
        "The tamper-evident audit log (HMAC-sealed records and head).",
    ),
    "trust": (
        "agentls.cli.trust_cmd:trust_cmd",
        "Trust FOLDER's .agentls.yaml as it is now: its agents' commands, environment and "
        "arguments may then run.",
    ),
}
"""Each subcommand: where it lives, and its help's first sentence (for ``agentls --help``,
which lists them without importing any; a test checks they match)."""


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, _, attribute = COMMANDS[name][0].partition(":")
        command: Any = getattr(importlib.import_module(module), attribute)
        started()
        return command  # type: ignore[no-any-return]

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = [
            (name, click.Command(name, help=COMMANDS[name][1]).get_short_help_str(limit))
            for name in names
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="agentls")
@click.option("-v", "--verbose", count=True, help="Log to stderr (-v info, -vv debug).")
@click.option("--log-json", is_flag=True, help="Log JSON lines instead of readable lines.")
def cli(verbose: int, log_json: bool) -> None:
    """Run AI coding agents (Claude Code, Codex, Gemini, Copilot, ...) on your code."""
    from agentls.log import configure_logging

    configure_logging({0: "WARNING", 1: "INFO"}.get(verbose, "DEBUG"), json=log_json)


@click.command(
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    add_help_option=False,
)
@click.argument("arguments", nargs=-1, type=click.UNPROCESSED)
def serve(arguments: tuple[str, ...]) -> None:
    """Run the language server. (``agentls serve ...`` is parsed without click; this entry
    lists it and serves ``agentls -v serve ...``.)"""
    from agentls.cli.serve_cmd import main

    main(list(arguments))
