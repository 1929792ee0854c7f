"""The ``agentls`` command: the same tasks and workflows as the editor, in a terminal.

``agentls serve`` is read without click (``serve_cmd``), so an editor's server answers
``initialize`` without loading it; every other command goes through the click group.
"""

from __future__ import annotations

import sys

from agentls.cli.startup import starting


def main(argv: list[str] | None = None) -> None:
    arguments = sys.argv[1:] if argv is None else argv
    if arguments[:1] == ["serve"]:
        from agentls.cli.serve_cmd import main as serve

        serve(arguments[1:])
        return
    starting()
    from agentls.cli.group import cli

    cli(arguments, prog_name="agentls")
