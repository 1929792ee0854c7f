"""The ``agentls`` command: the same tasks and workflows as the editor, in a terminal.

``agentls serve`` is read without click (``serve_cmd``), so an editor's server answers
``initialize`` without loading it; every other command goes through the click group, in the
resident process where one answers (``handoff``, ``caller``).
"""

from __future__ import annotations

import os
import sys

from agentls.cli.startup import starting


def main(argv: list[str] | None = None) -> None:
    arguments = sys.argv[1:] if argv is None else argv
    if arguments[:1] == ["serve"]:
        from agentls.cli.serve_cmd import main as serve

        serve(arguments[1:])
        return
    from agentls.cli.handoff import wanted

    if wanted(arguments, os.environ):
        from agentls.cli.caller import hand_off

        status = hand_off(arguments)
        if status is not None:  # it ran in the resident: nothing here to finalize
            sys.stderr.flush()
            os._exit(status & 0xFF)
    run_here(arguments)


def run_here(arguments: list[str]) -> None:
    """The command, in this process."""
    starting()
    from agentls.cli.group import cli

    cli(arguments, prog_name="agentls")
