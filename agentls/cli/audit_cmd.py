"""``agentls audit verify`` and ``agentls audit show``."""

from __future__ import annotations

from pathlib import Path

import click
from rich.text import Text

from agentls.audit import AuditLog
from agentls.cli.common import EXIT_FAILED, Part, find_workspace, load_or_fail, out
from agentls.domain.locations import audit_log_path


def _log(path: Path | None) -> AuditLog:
    if path is not None:
        return AuditLog(path)
    config = load_or_fail(find_workspace(Path.cwd()))
    return AuditLog(audit_log_path(config.settings.audit.path))


@click.group()
def audit() -> None:
    """The tamper-evident audit log (HMAC-sealed records and head)."""


@audit.command()
@click.option("--path", type=click.Path(path_type=Path, dir_okay=False), help="Audit log file.")
def verify(path: Path | None) -> None:
    """Check the MACs, the chain and the sealed head; name the first bad record.

    Exit 0 when intact or when only a write was cut short (the next record repairs it),
    1 when tampered.
    """
    log = _log(path)
    result = log.verify()
    where = str(log.path)
    if result.status == "ok":
        _say(("ok", "green"), f" {where}: {result.message}")
    elif result.status == "incomplete":
        _say(
            ("incomplete write", "yellow"),
            f" {where}: {result.message}; the next record repairs it",
        )
    else:
        _say(("tampered", "red"), f" {result.message}")
        raise SystemExit(EXIT_FAILED)


def _say(*parts: Part) -> None:
    out.print(Text.assemble(*parts), soft_wrap=True)  # one line: paths and messages unbroken


@audit.command()
@click.option("--path", type=click.Path(path_type=Path, dir_okay=False), help="Audit log file.")
@click.option("--tail", default=20, show_default=True, help="How many records.")
def show(path: Path | None, tail: int) -> None:
    """Print the latest records (JSON lines)."""
    lines = [line for _, _, line in _log(path).records()]
    for line in lines[-tail:]:
        click.echo(line.rstrip("\n"))
