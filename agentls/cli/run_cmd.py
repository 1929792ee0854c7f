"""``agentls workflows``, ``run``, ``history``, ``followup``, ``apply`` and ``undo``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress
from pathlib import Path
from typing import TypeVar

import click
from rich.table import Table
from rich.text import Text

from agentls.cli.asking import TerminalAsker, paused
from agentls.cli.common import (
    EXIT_FAILED,
    budget_from,
    budget_options,
    err,
    fail,
    find_workspace,
    load_or_fail,
    out,
    print_json,
    say,
)
from agentls.cli.exec_cmd import EXIT_INTERRUPTED, parse_target
from agentls.cli.render import render_workflow
from agentls.domain.config import AgentlsConfig, BestOfStage, ParallelGroup
from agentls.domain.errors import AgentlsError
from agentls.domain.paths import WorkspacePaths
from agentls.domain.results import WorkflowResult
from agentls.log import get_logger
from agentls.orchestration.apply import UndoOutcome, apply_result, undo
from agentls.orchestration.best_of import candidate_result
from agentls.orchestration.conversation import follow_up
from agentls.orchestration.events import (
    AgentOutput,
    Event,
    EventBus,
    StepFinished,
    StepStarted,
)
from agentls.orchestration.history import History
from agentls.orchestration.leftovers import prune_leftovers_later
from agentls.orchestration.report import edit_diffs, workflow_json_text
from agentls.orchestration.runtime import Runtime, cli_client
from agentls.orchestration.targets import expand
from agentls.orchestration.workflow import CancelToken, WorkflowEngine, WorkflowRequest
from agentls.signals import Terminated
from agentls.signals import run as run_until_signalled

T = TypeVar("T")
log = get_logger("agentls.cli")

_OUTPUT_MODES = [
    click.option(
        "--no-cache", is_flag=True, help="Run every agent afresh (its answer is cached anew)."
    ),
    click.option("--apply", is_flag=True, help="Write the edits (with backups)."),
    click.option("--diff", is_flag=True, help="Print a unified diff of the edits."),
    click.option("--json", "as_json", is_flag=True, help="Print one JSON object."),
]


def _output_modes(function: Callable[..., None]) -> Callable[..., None]:
    for option in reversed(_OUTPUT_MODES):
        function = option(function)
    return function


def _mode(apply: bool, diff: bool, as_json: bool) -> str | None:
    """The output mode: apply, diff or None. Flags that contradict each other are refused
    (exit 2) before anything runs."""
    if apply and diff:
        fail("give --apply or --diff, not both (--apply --json shows what was written)")
    if diff and as_json:
        fail("give --diff or --json, not both (the JSON holds each edit's diff)")
    return "apply" if apply else "diff" if diff else None


@click.command()
@click.option("--workspace", type=click.Path(path_type=Path, file_okay=False), default=".")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def workflows(workspace: Path, as_json: bool) -> None:
    """List the workflows and their steps."""
    config = load_or_fail(find_workspace(workspace))
    if as_json:
        print_json({n: w.model_dump(mode="json") for n, w in config.workflows.items()})
        return
    table = Table(title="agentls workflows")
    for column in ("workflow", "steps", "cycle", "description"):
        table.add_column(column)
    for name, workflow in config.workflows.items():
        steps = []
        for stage in workflow.steps:
            if isinstance(stage, BestOfStage):
                spec = stage.best_of
                steps.append(
                    f"{stage.step_id}:best of [{'|'.join(spec.candidates)}] by {spec.judge}"
                )
                continue
            text = " | ".join(
                f"{s.step_id}:{s.agent}" + ("?" if s.optional else "") for s in stage.members
            )
            steps.append(f"[{text}]" if isinstance(stage, ParallelGroup) else text)
        cycle = (
            f"≤{workflow.max_iterations}× while ≥{workflow.min_suggestions_threshold} findings"
            if workflow.max_iterations > 1
            else "-"
        )
        default = " (default)" if name == config.settings.default_workflow else ""
        table.add_row(name + default, " → ".join(steps), cycle, workflow.description)
    out.print(table)


@click.command()
@click.argument("workflow")
@click.argument("targets", metavar="[PATH[:START-END] | FOLDER | GLOB]...", nargs=-1)
@click.option(
    "--changed",
    metavar="REF",
    is_flag=False,
    flag_value="HEAD",
    help="Also the files changed since REF (default HEAD), untracked ones included.",
)
@click.option("--instruction", help="What you want, in your words.")
@click.option("--workspace", type=click.Path(path_type=Path, file_okay=False, exists=True))
@budget_options
@_output_modes
def run(
    workflow: str,
    targets: tuple[str, ...],
    changed: str | None,
    instruction: str | None,
    workspace: Path | None,
    budget_usd: float | None,
    budget_tokens: int | None,
    budget_minutes: float | None,
    no_cache: bool,
    apply: bool,
    diff: bool,
    as_json: bool,
) -> None:
    """Run a workflow on a file, a line range, several files, a folder, a glob (quoted, as in
    'src/**/*.py') or what changed (--changed). A --budget-* cap only tightens the configured
    budgets; a run it stops is partial, with stop reason budget."""
    mode = _mode(apply, diff, as_json)
    budget = budget_from(budget_usd, budget_tokens, budget_minutes)
    if not targets and changed is None:
        fail("give a file, folder or glob to run on, or --changed for what changed")
    parsed = [parse_target(target) for target in targets]
    if len(parsed) > 1 and any(selection for _, selection in parsed):
        fail("a line range needs a single file; give one file or no range")
    given = [path for path, _ in parsed]
    selection = parsed[0][1] if parsed else None
    root = (workspace or find_workspace(Path(given[0] if given else "."))).resolve()
    config = load_or_fail(root)
    history = History(root)

    async def go(engine: WorkflowEngine, token: CancelToken) -> WorkflowResult:
        checked = WorkspacePaths(root)  # each file is checked once, as it is listed
        files = await expand(root, given, changed, paths=checked)
        request = WorkflowRequest(
            workflow=workflow,
            workspace=root,
            path=files[0],
            more_paths=tuple(files[1:]),
            selection=selection,
            instruction=instruction,
            budget=budget,
            paths=checked,
        )
        result = await engine.run(request, token)
        history.record_run(result, files[0], selection, instruction)
        return result

    runtime = Runtime.create(config, cli_client(), use_cache=not no_cache)
    result = _drive(config, go, runtime, show_progress=not as_json, workspace=root)
    _finish(root, history, result, 0, mode, as_json, runtime)


@click.command()
@click.argument("run_id")
@click.argument("message")
@click.option("--workspace", type=click.Path(path_type=Path, file_okay=False, exists=True))
@budget_options
@_output_modes
def followup(
    run_id: str,
    message: str,
    workspace: Path | None,
    budget_usd: float | None,
    budget_tokens: int | None,
    budget_minutes: float | None,
    no_cache: bool,
    apply: bool,
    diff: bool,
    as_json: bool,
) -> None:
    """Continue an earlier run with a new message. The --budget-* caps work as for run."""
    mode = _mode(apply, diff, as_json)
    budget = budget_from(budget_usd, budget_tokens, budget_minutes)
    root = (workspace or find_workspace(Path.cwd())).resolve()
    config = load_or_fail(root)
    history = History(root)
    turn = 0

    async def go(engine: WorkflowEngine, token: CancelToken) -> WorkflowResult:
        nonlocal turn
        done = await follow_up(engine, history, run_id, message, token, budget=budget)
        turn = done.turn
        return done.result

    runtime = Runtime.create(config, cli_client(), use_cache=not no_cache)
    result = _drive(config, go, runtime, show_progress=not as_json, workspace=root)
    _finish(root, history, result, turn, mode, as_json, runtime)


@click.command("history")
@click.option("--workspace", type=click.Path(path_type=Path, file_okay=False), default=".")
@click.option("--limit", default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def history_cmd(workspace: Path, limit: int, as_json: bool) -> None:
    """The latest runs in this workspace."""
    runs = History(find_workspace(workspace)).runs(limit)
    if as_json:
        print_json([info.__dict__ | {"selection": str(info.selection or "")} for info in runs])
        return
    table = Table(title="agentls history")
    for column in ("run", "when", "workflow", "file", "turns", "status", "edits", "summary"):
        table.add_column(column)
    for info in runs:
        where = info.path + (f":{info.selection}" if info.selection else "")
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(info.created))
        state = info.state or Text("-", style="dim")
        table.add_row(
            info.run_id, when, info.workflow, where, str(info.turns), info.status, state,
            info.summary,
        )  # fmt: skip
    out.print(table)


@click.command("apply")
@click.argument("run_id")
@click.option("--turn", type=int, help="The turn to apply (0: the run; default: the latest).")
@click.option(
    "--candidate",
    type=click.IntRange(min=1),
    help="A best_of run's candidate N instead of the judge's pick.",
)
@click.option("--workspace", type=click.Path(path_type=Path, file_okay=False), default=".")
def apply_cmd(run_id: str, turn: int | None, candidate: int | None, workspace: Path) -> None:
    """Write the edits an earlier run proposed, without running it again."""
    root = find_workspace(workspace).resolve()
    config = load_or_fail(root)
    history = History(root)
    try:
        run_id = history.run(run_id).run_id
        turns = history.turns(run_id)
    except AgentlsError as error:
        fail(str(error))
    chosen = len(turns) - 1 if turn is None else turn
    if not 0 <= chosen < len(turns):
        fail(f"run {run_id} has turns 0 to {len(turns) - 1}; give one of them with --turn")
    result = turns[chosen][1]
    if candidate is not None:
        try:
            result = candidate_result(result, candidate)
        except AgentlsError as error:
            fail(str(error))
    if result.status not in ("ok", "partial") or not result.edits:
        fail(f"turn {chosen} of run {run_id} has no changes to apply ({result.summary})")
    if chosen in history.applied_turns(run_id):
        fail(f"turn {chosen} of run {run_id} is applied already; `agentls undo {run_id}` undoes it")
    runtime = Runtime.create(config, cli_client())
    _say_applied(_write(root, history, result, chosen, runtime), run_id)


@click.command("undo")
@click.argument("run_id")
@click.option("--workspace", type=click.Path(path_type=Path, file_okay=False), default=".")
@click.option(
    "--force",
    is_flag=True,
    help="Restore the backups even where lines agentls wrote changed since.",
)
def undo_cmd(run_id: str, workspace: Path, force: bool) -> None:
    """Restore the files an applied run wrote.

    What you changed since elsewhere in those files is kept; if you changed lines agentls
    wrote, nothing is undone (--force restores the backups anyway)."""
    root = find_workspace(workspace)
    history = History(root)
    try:
        outcome = undo(root, history, history.run(run_id).run_id, force)
    except AgentlsError as error:
        fail(str(error))
    say_undone(outcome)


def say_undone(outcome: UndoOutcome) -> None:
    for path in outcome.restored:
        kept = " (keeping your changes since)" if path in outcome.merged else ""
        out.print(f"restored {path}{kept}")


async def interruptibly(
    go: Callable[[CancelToken], Awaitable[T]], token: CancelToken | None = None
) -> T:
    """``go(token)``; interrupted (Ctrl-C, SIGTERM, SIGHUP), the workflow is cancelled through
    its token, so ``go`` still records it (status cancelled) before the interrupt goes on."""
    token = token or CancelToken()
    work = asyncio.ensure_future(go(token))
    try:
        return await asyncio.shield(work)
    except asyncio.CancelledError:
        token.cancel()
        try:
            await work
        except Exception as error:  # the interrupt is what the user hears about
            log.info("interrupted run not recorded", error=str(error))
        raise


def _drive(
    config: AgentlsConfig,
    go: Callable[[WorkflowEngine, CancelToken], Awaitable[T]],
    runtime: Runtime,
    show_progress: bool,
    workspace: Path | None = None,
) -> T:
    bus = EventBus()
    token = CancelToken()
    asker = TerminalAsker.here()
    engine = WorkflowEngine(config, bus, runtime=runtime, ask=asker)

    def interruptible() -> Awaitable[T]:
        return interruptibly(lambda token: go(engine, token), token)

    async def main() -> T:
        if not show_progress:
            return await interruptible()
        progress = _Progress()
        bus.subscribe(progress.on_event)
        if not err.is_terminal:  # no status line to keep up: each step's line is enough
            return await interruptible()
        with err.status("starting…") as status:
            if asker is not None:
                asker.pause = lambda: paused(status)
            ticker = asyncio.ensure_future(progress.tick(status.update))
            try:
                return await interruptible()
            finally:
                ticker.cancel()
                with suppress(asyncio.CancelledError):
                    await ticker

    pruning = prune_leftovers_later([workspace] if workspace else [])
    try:
        result = run_until_signalled(main())
        pruning.join(10)  # usually long done; a process exit would cut it short
        return result
    except AgentlsError as error:
        fail(str(error))
    except KeyboardInterrupt:
        fail("interrupted; every agent was stopped", EXIT_INTERRUPTED)
    except Terminated as stopped:
        fail(f"{stopped}; every agent was stopped, its sandbox removed", stopped.exit_code)


class _Progress:
    """Live status: step, agent, elapsed, last output line; a line per finished step."""

    def __init__(self) -> None:
        self.current = "starting…"
        self.started = time.monotonic()
        self.line = ""

    def on_event(self, event: Event) -> None:
        if isinstance(event, StepStarted):
            self.current = (
                f"iteration {event.iteration} · step {event.index}/{event.total} "
                f"{event.step} ({event.agent})"
            )
            self.started = time.monotonic()
            self.line = ""
        elif isinstance(event, AgentOutput):
            self.line = event.line.replace("\n", " ")[:100]
        elif isinstance(event, StepFinished):
            mark = {"ok": ("✓", "green"), "failed": ("✗", "red"), "skipped": ("–", "dim")}
            detail = ""
            if event.result is not None:
                detail = " cached" if event.result.cached else f" {event.result.duration_s:.1f}s"
                if event.result.findings:
                    detail += f", {len(event.result.findings)} findings"
                if event.result.containment:
                    detail += f", sandbox: {event.result.containment}"
            reason = (f" {event.reason}", "dim") if event.reason else ""
            say(mark[event.status], f" {event.step} {event.status}{detail}", reason, console=err)

    async def tick(self, update: Callable[[Text], None]) -> None:
        while True:
            elapsed = time.monotonic() - self.started
            update(Text.assemble(f"{self.current} {elapsed:.0f}s  ", (self.line, "dim")))
            await asyncio.sleep(0.2)


def _finish(
    root: Path,
    history: History,
    result: WorkflowResult,
    turn: int,
    mode: str | None,
    as_json: bool,
    runtime: Runtime,
) -> None:
    written: list[str] = []
    if result.stopped:  # on stderr whatever the mode: stdout stays the report, JSON or patch
        say(("agentls:", "yellow"), f" {result.stopped}", console=err)
    if mode == "apply" and result.edits and result.status in ("ok", "partial"):
        written = _write(root, history, result, turn, runtime)
    if as_json:
        click.echo(workflow_json_text(result, applied=written))
    elif mode == "diff":
        if result.edits:
            click.echo("".join(edit_diffs(result).values()), nl=False)
        else:  # stdout stays an (empty) patch; the terminal still hears why it is empty
            say(f"agentls: no changes proposed (run {result.run_id})", console=err)
    else:
        render_workflow(out, result)
        if written:
            _say_applied(written, result.run_id)
        elif not result.edits:
            out.print("no changes proposed" + ("; nothing to apply" if mode == "apply" else ""))
        elif result.status in ("failed", "cancelled"):
            how = "failed" if result.status == "failed" else "was cancelled"
            out.print(f"not applied: the run {how}; nothing was written (run {result.run_id})")
        else:
            out.print(f"not applied; `agentls apply {result.run_id}` writes them")
    if result.status in ("failed", "cancelled"):
        raise SystemExit(EXIT_FAILED)


def _write(
    root: Path, history: History, result: WorkflowResult, turn: int, runtime: Runtime
) -> list[str]:
    """Write a turn's edits with backups (``run --apply``, ``apply``); the files written.
    A refusal (a file changed since, read-only, protected) is one line and exit 1."""
    try:
        protected = runtime.config.settings.protected_paths
        outcome = apply_result(root, history, result, turn, protected)
    except AgentlsError as error:
        runtime.record("refused", run_id=result.run_id, reason=str(error))
        fail(str(error), EXIT_FAILED)
    written = outcome.written + outcome.deleted
    runtime.record("edits_applied", run_id=result.run_id, files=written, via="cli")
    return written


def _say_applied(written: list[str], run_id: str) -> None:
    out.print(f"applied to {', '.join(written)}; undo with `agentls undo {run_id}`")
