"""The ``agentls`` command: the same tasks and workflows as the editor, in a terminal."""

from __future__ import annotations

import click

from agentls import __version__
from agentls.cli.agents_cmd import agents, doctor
from agentls.cli.audit_cmd import audit
from agentls.cli.config_cmd import config
from agentls.cli.exec_cmd import exec_task
from agentls.cli.run_cmd import followup, history_cmd, run, undo_cmd, workflows
from agentls.cli.serve_cmd import serve
from agentls.cli.shell_cmd import shell
from agentls.log import configure_logging


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="agentls")
@click.option("-v", "--verbose", count=True, help="Log to stderr (-v info, -vv debug).")
@click.option("--log-json", is_flag=True, help="Log JSON lines instead of readable lines.")
def main(verbose: int, log_json: bool) -> None:
    """Run AI coding agents (Claude Code, Codex, Gemini, Copilot, ...) on your code."""
    configure_logging({0: "WARNING", 1: "INFO"}.get(verbose, "DEBUG"), json=log_json)


main.add_command(agents)
main.add_command(doctor)
main.add_command(exec_task)
main.add_command(config)
for command in (workflows, run, followup, history_cmd, undo_cmd, shell, serve, audit):
    main.add_command(command)
