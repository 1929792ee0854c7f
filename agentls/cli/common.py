"""What the CLI commands share: config loading, the workspace, one-line errors."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import click
from rich.console import Console
from rich.text import Text

from agentls.domain.budget import Budget
from agentls.domain.config import AgentlsConfig
from agentls.domain.errors import AgentlsError
from agentls.domain.locations import WORKSPACE_FILE
from agentls.orchestration.config_loader import load_config
from agentls.redaction import Redactor

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2

# Nothing printed is ever read as Rich markup or emoji codes: agent output, paths and messages
# may hold ``[/x]`` or ``:x:``. Styles come from ``Text`` parts (``say``).
_OUT: dict[str, Any] = {"markup": False, "emoji": False}
_ERR: dict[str, Any] = {**_OUT, "stderr": True, "soft_wrap": True}
out = Console(**_OUT)
err = Console(**_ERR)


def consoles_anew() -> None:
    """Look again at the terminal and environment: a console decides when it is made whether
    it writes to a terminal, its width and its colours, and the resident process's command
    (``resident.become``) takes a caller's after these were made."""
    Console.__init__(out, **_OUT)
    Console.__init__(err, **_ERR)


Part = str | tuple[str, str]
"""Plain text, or (text, style)."""


def say(*parts: Part, console: Console = out) -> None:
    console.print(Text.assemble(*parts))


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    say(("agentls:", "bold red"), f" {message}", console=err)
    sys.exit(code)


def print_json(payload: Any, indent: int | None = None) -> None:
    """Every ``--json`` output: one JSON document on stdout, secrets redacted."""
    click.echo(Redactor.current().json(payload, ensure_ascii=False, indent=indent))


def find_workspace(start: Path) -> Path:
    """The nearest folder above ``start`` with a .agentls.yaml or .git, else the current one
    when ``start`` is inside it, else ``start``'s own folder."""
    start = start.resolve()
    folder = start if start.is_dir() else start.parent
    for candidate in (folder, *folder.parents):
        if (candidate / WORKSPACE_FILE).is_file() or (candidate / ".git").exists():
            return candidate
    cwd = Path.cwd().resolve()
    return cwd if start.is_relative_to(cwd) else folder


def load_or_fail(workspace: Path | None) -> AgentlsConfig:
    """The configuration; what an untrusted workspace file was not allowed to set is said on
    stderr, once, before any work."""
    try:
        config = load_config(workspace)
    except AgentlsError as error:
        fail(str(error))
    if config.screened is not None:
        say(("agentls:", "yellow"), f" {config.screened.message()}", console=err)
    return config


def budget_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--budget-usd``, ``--budget-tokens`` and ``--budget-minutes``: a run's own caps, which
    only tighten the configured budgets (``budget_from`` reads them)."""
    for option in reversed(
        [
            click.option(
                "--budget-usd",
                type=click.FloatRange(min=0, min_open=True),
                help="Stop before a step that would take the run's cost past this many dollars.",
            ),
            click.option(
                "--budget-tokens",
                type=click.IntRange(min=1),
                help="Stop before a step that would take the run past this many tokens "
                "(in and out).",
            ),
            click.option(
                "--budget-minutes",
                type=click.FloatRange(min=0, min_open=True),
                help="Stop the run when these minutes are up (the running step too).",
            ),
        ]
    ):
        command = option(command)
    return command


def budget_from(usd: float | None, tokens: int | None, minutes: float | None) -> Budget | None:
    """The run's own caps from the --budget-* flags (None: none given)."""
    if not math.isfinite(usd or 0) or not math.isfinite(minutes or 0):
        fail("a --budget-* cap must be a finite number above 0")
    budget = Budget(usd=usd, tokens=tokens, minutes=minutes)
    return None if budget.empty else budget
