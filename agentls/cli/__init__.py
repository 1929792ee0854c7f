"""The ``agentls`` command: the same tasks and workflows as the editor, in a terminal.

``agentls serve`` is read without click (``serve_cmd``), so an editor's server answers
``initialize`` without loading it; every other command goes through the click group.
"""

from __future__ import annotations

import gc
import sys


def main(argv: list[str] | None = None) -> None:
    # Start-up allocates much and frees little: the collector waits until it is over.
    gc.disable()
    arguments = sys.argv[1:] if argv is None else argv
    if arguments[:1] == ["serve"]:
        from agentls.cli.serve_cmd import main as serve

        serve(arguments[1:])
        return
    from agentls.cli.group import cli

    cli(arguments, prog_name="agentls")


def started() -> None:
    """Start-up is over (the command's modules are loaded): what it made lives as long as the
    process, so the collector, on again, need not walk it."""
    gc.freeze()
    gc.enable()
