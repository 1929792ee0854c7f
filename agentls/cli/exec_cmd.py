"""``agentls exec AGENT PATH[:START-END] --task KIND``: one task, one agent."""

from __future__ import annotations

import re
from pathlib import Path

import click

from agentls.cli.asking import TerminalAsker, paused
from agentls.cli.common import (
    EXIT_FAILED,
    err,
    fail,
    find_workspace,
    load_or_fail,
    out,
    print_json,
)
from agentls.cli.render import render_result, result_json
from agentls.domain.config import AgentlsConfig
from agentls.domain.errors import AgentlsError
from agentls.domain.results import LineRange, TaskKind, TaskResult
from agentls.orchestration.runtime import Runtime, cli_client
from agentls.orchestration.tasks import TaskSpec, run_task
from agentls.signals import Terminated
from agentls.signals import run as run_until_signalled

_TARGET = re.compile(r"^(?P<path>.+?):(?P<start>\d+)(?:-(?P<end>\d+))?$")
EXIT_INTERRUPTED = 130


def parse_target(target: str) -> tuple[str, LineRange | None]:
    """``PATH``, ``PATH:LINE`` or ``PATH:START-END`` (1-based, inclusive)."""
    match = _TARGET.match(target)
    if match is None or Path(target).exists():
        return target, None
    start = int(match["start"])
    end = int(match["end"]) if match["end"] else start
    if start < 1 or end < start:
        raise click.BadParameter(
            f"{start}-{end} is not a line range; use START-END with 1 <= START <= END",
            param_hint="PATH[:START-END]",
        )
    return match["path"], LineRange(start=start, end=end)


@click.command("exec")
@click.argument("agent")
@click.argument("target", metavar="PATH[:START-END]")
@click.option(
    "--task",
    "task",
    type=click.Choice([kind.value for kind in TaskKind]),
    required=True,
    help="What the agent should do.",
)
@click.option("--instruction", help="What you want, in your words.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option(
    "--no-cache", is_flag=True, help="Run the agent even if a cached answer exists (then cache it)."
)
@click.option(
    "--workspace",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    help="Workspace root (default: the nearest folder with .agentls.yaml or .git).",
)
def exec_task(
    agent: str,
    target: str,
    task: str,
    instruction: str | None,
    as_json: bool,
    no_cache: bool,
    workspace: Path | None,
) -> None:
    """Run one task with one agent on a file or a line range.

    Nothing is written to your files: edits are shown as proposals.
    """
    path, selection = parse_target(target)
    if Path(path).is_dir():
        fail(
            f"{path} is a folder; exec runs one agent on one file, and "
            f"`agentls run WORKFLOW {path}` runs a workflow on every file in it"
        )
    root = (workspace or find_workspace(Path(path))).resolve()
    config = load_or_fail(root)
    spec = TaskSpec(
        agent=agent,
        task=TaskKind(task),
        workspace=root,
        path=str(Path(path).resolve()),
        selection=selection,
        instruction=instruction,
        ask=TerminalAsker.here(),
    )
    runtime = Runtime.create(config, cli_client(), use_cache=not no_cache)
    try:
        runtime.admit("task", instruction, agent=agent, task=task, files=[path])
        result = run_until_signalled(_run(config, spec, runtime, show_progress=not as_json))
    except AgentlsError as error:
        fail(str(error))
    except KeyboardInterrupt:
        fail("interrupted; the agent was stopped", EXIT_INTERRUPTED)
    except Terminated as stopped:
        fail(f"{stopped}; the agent was stopped", stopped.exit_code)
    finally:
        runtime.flush()  # the request, when the task ended before its agent started
    if as_json:
        print_json(result_json(result))
    else:
        render_result(out, result, root)
    if not result.ok:
        raise SystemExit(EXIT_FAILED)


async def _run(
    config: AgentlsConfig, spec: TaskSpec, runtime: Runtime, show_progress: bool
) -> TaskResult:
    if not show_progress or not err.is_terminal:
        return await run_task(config, spec, runtime=runtime)
    with err.status(f"{spec.agent}: {spec.task}…") as status:
        if isinstance(spec.ask, TerminalAsker):
            spec.ask.pause = lambda: paused(status)

        def on_line(line: str) -> None:
            status.update(f"{spec.agent}: {line[:120]}")

        return await run_task(config, spec, on_line, runtime=runtime)
