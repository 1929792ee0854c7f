"""``agentls acp``: agentls as an Agent Client Protocol agent on stdin and stdout."""

from __future__ import annotations

import click


@click.command("acp")
def acp() -> None:
    """Serve the workflows to an ACP client (Zed, JetBrains) on stdio.

    The client starts ``agentls acp`` and talks to it on stdin and stdout; logs go to stderr
    (``agentls -v acp`` for more). A prompt runs the session's workflow on the files it
    mentions with @, its text the instruction.
    """
    from agentls.acp_agent.stdio import serve
    from agentls.signals import Terminated

    try:
        serve()
    except Terminated as stopped:
        click.echo(f"agentls: {stopped}; every agent was stopped", err=True)
        raise SystemExit(stopped.exit_code) from None
