"""``agentls ci``: review a pull request's changes in CI; ``agentls ci merge``: join shards.

Nothing asks: what a permission policy would ask about is denied, and nothing is written to
the files unless ``--apply``. Exit codes: 0 clean, 1 findings at or above ``--fail-on``, 2 bad
input, 3 an agent failed (or ``--apply`` could not write), 130 and 128 + N interrupted.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import click
from pydantic import ValidationError

from agentls.ci.changes import resolve_base
from agentls.ci.commit import author, commit
from agentls.ci.formats import Format, parse_formats
from agentls.ci.report import (
    EXIT_AGENT_FAILED,
    REPORT_VERSION,
    CiReport,
    Gate,
    Scope,
    merge,
)
from agentls.ci.review import CiRequest, review
from agentls.ci.shard import Shard
from agentls.cli.common import (
    budget_from,
    budget_options,
    err,
    fail,
    find_workspace,
    load_or_fail,
    say,
)
from agentls.cli.exec_cmd import EXIT_INTERRUPTED
from agentls.cli.run_cmd import interruptibly
from agentls.domain.errors import AgentlsError
from agentls.domain.results import WorkflowResult
from agentls.orchestration.apply import apply_result
from agentls.orchestration.events import Event, EventBus, StepFinished
from agentls.orchestration.history import History
from agentls.orchestration.runtime import Runtime, cli_client
from agentls.orchestration.workflow import CancelToken, WorkflowEngine
from agentls.redaction import redact
from agentls.signals import Terminated
from agentls.signals import run as run_until_signalled

T = TypeVar("T")
DEFAULT_WORKFLOW = "review"


class _DefaultRun(click.Group):
    """``agentls ci [WORKFLOW] ...`` is ``agentls ci run [WORKFLOW] ...``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("-h", "--help")):
            args = ["run", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_DefaultRun)
def ci() -> None:
    """Review what a pull request changed, for CI: SARIF, annotations, JSON or markdown.

    `agentls ci [WORKFLOW]` is `agentls ci run [WORKFLOW]`; `agentls ci merge` joins the JSON
    reports of a matrix's shards. Exit codes: 0 clean, 1 findings at or above --fail-on, 2 bad
    input, 3 an agent failed.
    """


_REPORT_OPTIONS = [
    click.option(
        "--format",
        "formats",
        default="markdown",
        show_default=True,
        metavar="FORMAT[,FORMAT...]",
        help="sarif, github (workflow-command annotations), json or markdown; several need "
        "--output DIR.",
    ),
    click.option(
        "--output",
        type=click.Path(path_type=Path),
        help="A file (one format) or a folder (several); default: stdout.",
    ),
    click.option(
        "--fail-on",
        type=click.Choice([g.value for g in Gate]),
        default="error",
        show_default=True,
        help="Exit 1 when a finding is at or above this severity.",
    ),
]


def _report_options(function: Callable[..., None]) -> Callable[..., None]:
    for option in reversed(_REPORT_OPTIONS):
        function = option(function)
    return function


@ci.command("run")
@click.argument("workflow", default=DEFAULT_WORKFLOW)
@click.option("--base", metavar="REF", help="Compare HEAD with its merge base with REF.")
@click.option(
    "--scope",
    type=click.Choice([s.value for s in Scope]),
    default=Scope.CHANGED_LINES.value,
    show_default=True,
    help="Findings on the changed lines, anywhere in the changed files, or in every file.",
)
@click.option("--shard", metavar="I/N", help="Review the I-th of N shares of the files.")
@_report_options
@click.option("--apply", is_flag=True, help="Write the proposed edits.")
@click.option("--commit", "make_commit", is_flag=True, help="With --apply: commit them.")
@click.option(
    "--patch", type=click.Path(path_type=Path, dir_okay=False), help="Write them as a diff."
)
@click.option("--no-cache", is_flag=True, help="Run every agent afresh.")
@click.option("--workspace", type=click.Path(path_type=Path, file_okay=False, exists=True))
@budget_options
def run(
    workflow: str,
    base: str | None,
    scope: str,
    shard: str | None,
    formats: str,
    output: Path | None,
    fail_on: str,
    apply: bool,
    make_commit: bool,
    patch: Path | None,
    no_cache: bool,
    workspace: Path | None,
    budget_usd: float | None,
    budget_tokens: int | None,
    budget_minutes: float | None,
) -> None:
    """Review what changed since the merge base with --base (or the pull request's target).
    A --budget-* cap only tightens the configured budgets; a review it stops is incomplete
    (exit 3)."""
    budget = budget_from(budget_usd, budget_tokens, budget_minutes)
    if make_commit and not apply:
        fail("--commit commits what --apply writes; give --apply too")
    chosen = _formats(formats, output)
    root = (workspace or find_workspace(Path.cwd())).resolve()
    config = load_or_fail(root)
    if workflow not in config.workflows:
        fail(f"no workflow {workflow!r}; `agentls workflows` lists them")
    try:
        request = CiRequest(
            workspace=root,
            workflow=workflow,
            base=base if scope == Scope.ALL else resolve_base(base, os.environ),
            scope=Scope(scope),
            shard=Shard.parse(shard) if shard is not None else None,
            budget=budget,
        )
    except AgentlsError as error:
        fail(str(error))
    runtime = Runtime.create(config, cli_client(), use_cache=not no_cache)
    bus = EventBus()
    bus.subscribe(_say_step)
    engine = WorkflowEngine(config, bus, runtime=runtime, ask=None)  # nobody to ask: denied
    report, result = _drive(lambda token: review(engine, request, token))
    _write(report, chosen, output)
    code = report.exit_code(Gate(fail_on))
    if result is not None and (patch is not None or apply):
        code = max(code, _deliver(root, result, report, patch, apply, make_commit, runtime))
    raise SystemExit(code)


@ci.command("merge")
@click.argument("reports", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
@_report_options
def merge_cmd(reports: tuple[Path, ...], formats: str, output: Path | None, fail_on: str) -> None:
    """Join the JSON reports of a matrix's shards into one report."""
    chosen = _formats(formats, output)
    read = [_read_report(path) for path in reports]
    try:
        merged = merge(read)
    except AgentlsError as error:
        fail(str(error))
    _write(merged, chosen, output)
    raise SystemExit(merged.exit_code(Gate(fail_on)))


def _formats(text: str, output: Path | None) -> list[Format]:
    try:
        chosen = parse_formats(text)
    except AgentlsError as error:
        fail(str(error))
    if len(chosen) > 1 and output is None:
        fail("several formats need --output DIR (a folder to write them in)")
    if len(chosen) > 1 and output is not None and output.exists() and not output.is_dir():
        fail(f"{output} is a file; several formats need --output DIR (a folder)")
    return chosen


def _read_report(path: Path) -> CiReport:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        fail(f"cannot read {path} ({getattr(error, 'strerror', None) or error})")
    try:
        report = CiReport.model_validate_json(text)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "the top"
        fail(
            f"{path} is not an agentls ci JSON report ({where}: {first['msg']}); give the "
            "files `agentls ci --format json` wrote"
        )
    if report.report_version != REPORT_VERSION:
        fail(f"{path} is a version {report.report_version} report; this agentls reads version "
             f"{REPORT_VERSION}: merge with the agentls that wrote it")  # fmt: skip
    return report


def _write(report: CiReport, chosen: list[Format], output: Path | None) -> None:
    if output is None:
        click.echo(chosen[0].render(report), nl=False)
        return
    try:
        if len(chosen) == 1 and not output.is_dir():
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text(chosen[0].render(report), encoding="utf-8")
            return
        output.mkdir(parents=True, exist_ok=True)
        for format_ in chosen:
            (output / format_.file_name).write_text(format_.render(report), encoding="utf-8")
    except OSError as error:
        fail(f"cannot write the report to {output} ({error.strerror})")


def _deliver(
    root: Path,
    result: WorkflowResult,
    report: CiReport,
    patch: Path | None,
    apply: bool,
    make_commit: bool,
    runtime: Runtime,
) -> int:
    """The proposals as a patch file, written to the files, committed: the exit code (0, or
    3 when the apply or commit could not be done)."""
    if patch is not None:
        try:
            patch.write_text(redact("".join(report.proposals.values())), encoding="utf-8")
        except OSError as error:
            fail(f"cannot write the patch to {patch} ({error.strerror})")
        say(f"agentls: {len(report.proposals)} proposed file changes in {patch}", console=err)
    if not apply:
        return 0
    if not result.edits or result.status not in ("ok", "partial"):
        say("agentls: nothing to apply", console=err)
        return 0
    try:
        protected = runtime.config.settings.protected_paths
        outcome = apply_result(root, History(root), result, 0, protected)
    except AgentlsError as error:
        say(("agentls:", "bold red"), f" {error}", console=err)
        return EXIT_AGENT_FAILED
    written = outcome.written + outcome.deleted
    runtime.record("edits_applied", run_id=result.run_id, files=written, via="ci")
    say(f"agentls: applied to {', '.join(written)}", console=err)
    if not make_commit:
        return 0

    async def committed() -> str:
        by = await author(root, os.environ)
        message = f"agentls: apply what {result.workflow} proposed (run {result.run_id})"
        sha = await commit(root, written, message, by)
        return f"agentls: committed {sha[:12]} as {by}"

    try:
        say(asyncio.run(committed()), console=err)
    except AgentlsError as error:
        say(("agentls:", "bold red"), f" {error}", console=err)
        return EXIT_AGENT_FAILED
    return 0


def _drive(go: Callable[[CancelToken], Awaitable[T]]) -> T:
    async def main() -> T:
        return await interruptibly(go)

    try:
        return run_until_signalled(main())
    except AgentlsError as error:
        fail(str(error))
    except KeyboardInterrupt:
        fail("interrupted; every agent was stopped", EXIT_INTERRUPTED)
    except Terminated as stopped:
        fail(f"{stopped}; every agent was stopped, its sandbox removed", stopped.exit_code)


def _say_step(event: Event) -> None:
    """A line on stderr per finished step: the CI log shows how the review went."""
    if isinstance(event, StepFinished):
        found = ""
        if event.result is not None and event.result.findings:
            found = f", {len(event.result.findings)} findings"
        reason = f" ({event.reason})" if event.reason else ""
        say(f"agentls: {event.step} {event.status}{found}{reason}", console=err)
