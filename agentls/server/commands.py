"""``workspace/executeCommand`` handlers. Each takes one argument object (see docs/server.md).

Run commands answer ``{"runId": ...}`` at once and work in the background.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, NoReturn, TypeVar

from lsprotocol import types
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from pygls.exceptions import JsonRpcInvalidParams

from agentls.domain import textfile
from agentls.domain.budget import Budget
from agentls.domain.config import BestOfStage, ParallelGroup
from agentls.domain.errors import AgentlsError
from agentls.domain.results import LineRange, TaskKind
from agentls.orchestration.agent_status import agent_statuses
from agentls.server.capabilities import Command
from agentls.server.convert import lsp_to_lines
from agentls.server.delivery import publish_diagnostics
from agentls.server.language_server import AgentlsServer
from agentls.server.run import RunTarget

Args = TypeVar("Args", bound=BaseModel)


class _Args(BaseModel):
    model_config = ConfigDict(extra="ignore")


class TargetArgs(_Args):
    uri: str
    """A document, or a folder (its files as git sees them)."""
    range: dict[str, Any] | None = None
    """An LSP Range, or {"start": N, "end": M} in 1-based lines."""
    instruction: str | None = None
    diagnostics: list[str] = []
    noCache: bool = False
    """Run every agent even when a cached answer exists (the fresh answer is cached)."""
    changed: str | None = None
    """Run on the files changed since this revision (e.g. "HEAD") in ``uri``'s workspace."""
    budget: Budget | None = None
    """This run's caps ({usd, tokens, minutes}): only ever tighter than the configured ones,
    so a client can lower what a run may spend, never raise it."""

    def target(self) -> RunTarget:
        return RunTarget(
            uri=self.uri,
            selection=_selection(self.range),
            instruction=self.instruction,
            editor_diagnostics=tuple(self.diagnostics),
            changed=self.changed,
            budget=self.budget,
        )


class RunWorkflowArgs(TargetArgs):
    workflow: str | None = None


class RunTaskArgs(TargetArgs):
    task: TaskKind
    agent: str | None = None


class RunIdArgs(_Args):
    runId: str


class ApplyRunArgs(RunIdArgs):
    candidate: int | None = Field(default=None, ge=1)
    """A best_of run's candidate to apply instead of the judge's pick."""


class CancelArgs(_Args):
    runId: str | None = None
    """Without one, every running run is cancelled (for clients that never saw the ids)."""


class FollowUpArgs(RunIdArgs):
    message: str


class RerunArgs(RunIdArgs):
    noCache: bool = False


class ChangeArgs(RunIdArgs):
    hunks: list[Annotated[str, StringConstraints(max_length=20)]] | None = None
    """The changes' ids (``h1``, …); without them, those of ``uri``, else all of the run's."""
    uri: str | None = None


class RejectArgs(ChangeArgs):
    reason: Annotated[str, StringConstraints(max_length=2000)] | None = None
    """Why, in the user's words (the agent is told in a follow-up); None: ask them."""


class UriArgs(_Args):
    uri: str | None = None


Handler = Callable[..., Any]
HANDLERS: dict[Command, Handler] = {}
"""Each command's handler: ``handler(server, *arguments)``, its answer or a coroutine of it."""


def _handles(command: Command) -> Callable[[Handler], Handler]:
    def register(function: Handler) -> Handler:
        HANDLERS[command] = function
        return function

    return register


@_handles(Command.RUN_WORKFLOW)
def run_workflow(ls: AgentlsServer, *arguments: Any) -> dict[str, str]:
    args = _parse(ls, RunWorkflowArgs, arguments)
    run_id = _guard(
        ls, lambda: ls.runs.start_workflow(args.target(), args.workflow, not args.noCache)
    )
    return {"runId": run_id}


@_handles(Command.RUN_TASK)
def run_task(ls: AgentlsServer, *arguments: Any) -> dict[str, str]:
    args = _parse(ls, RunTaskArgs, arguments)
    run_id = _guard(
        ls, lambda: ls.runs.start_task(args.target(), args.agent, args.task, not args.noCache)
    )
    return {"runId": run_id}


@_handles(Command.RERUN)
def rerun(ls: AgentlsServer, *arguments: Any) -> dict[str, str]:
    """The same workflow or task on the same target, as a new run."""
    args = _parse(ls, RerunArgs, arguments)
    return {"runId": _guard(ls, lambda: ls.runs.rerun(args.runId, not args.noCache))}


@_handles(Command.CANCEL)
def cancel(ls: AgentlsServer, *arguments: Any) -> dict[str, bool]:
    args = _parse(ls, CancelArgs, arguments)
    if args.runId is None:
        return {"cancelled": ls.runs.cancel_all()}
    run_id = args.runId
    return {"cancelled": _guard(ls, lambda: ls.runs.cancel(run_id))}


@_handles(Command.FOLLOW_UP)
def follow_up(ls: AgentlsServer, *arguments: Any) -> dict[str, str]:
    args = _parse(ls, FollowUpArgs, arguments)
    return {"runId": _guard(ls, lambda: ls.runs.follow_up(args.runId, args.message))}


@_handles(Command.SHOW_RUN)
def show_run(ls: AgentlsServer, *arguments: Any) -> dict[str, Any]:
    args = _parse(ls, RunIdArgs, arguments)
    return dict(_guard(ls, lambda: ls.runs.describe(args.runId)))


@_handles(Command.LIST_RUNS)
def list_runs(ls: AgentlsServer, *arguments: Any) -> list[dict[str, Any]]:
    return ls.runs.list_runs()


@_handles(Command.APPLY_RUN)
async def apply_run(ls: AgentlsServer, *arguments: Any) -> dict[str, Any]:
    args = _parse(ls, ApplyRunArgs, arguments)
    return await _guard_later(ls, ls.runs.apply_run(args.runId, args.candidate))


@_handles(Command.ACCEPT_CHANGE)
async def accept_change(ls: AgentlsServer, *arguments: Any) -> dict[str, Any]:
    args = _parse(ls, ChangeArgs, arguments)
    return await _guard_later(ls, ls.runs.reviews.accept(args.runId, args.hunks, args.uri))


@_handles(Command.REJECT_CHANGE)
async def reject_change(ls: AgentlsServer, *arguments: Any) -> dict[str, Any]:
    args = _parse(ls, RejectArgs, arguments)
    return await _guard_later(
        ls, ls.runs.reviews.reject(args.runId, args.hunks, args.uri, args.reason)
    )


@_handles(Command.SHOW_PROPOSAL)
def show_proposal(ls: AgentlsServer, *arguments: Any) -> dict[str, Any]:
    args = _parse(ls, RunIdArgs, arguments)
    return dict(_guard(ls, lambda: ls.runs.reviews.describe(args.runId)))


@_handles(Command.UNDO_RUN)
async def undo_run(ls: AgentlsServer, *arguments: Any) -> dict[str, Any]:
    args = _parse(ls, RunIdArgs, arguments)
    return await _guard_later(ls, ls.runs.reviews.undo(args.runId))


@_handles(Command.LIST_WORKFLOWS)
def list_workflows(ls: AgentlsServer, *arguments: Any) -> list[dict[str, Any]]:
    args = _parse(ls, UriArgs, arguments)
    config = _guard(ls, lambda: ls.configuration.config_for(args.uri))
    return [
        {
            "name": name,
            "description": workflow.description,
            "default": name == config.settings.default_workflow,
            "steps": [_step(stage) for stage in workflow.steps],
            "maxIterations": workflow.max_iterations,
        }
        for name, workflow in config.workflows.items()
    ]


@_handles(Command.LIST_AGENTS)
async def list_agents(ls: AgentlsServer, *arguments: Any) -> list[dict[str, Any]]:
    args = _parse(ls, UriArgs, arguments)
    config = _guard(ls, lambda: ls.configuration.config_for(args.uri))
    return [
        {
            "name": s.name,
            "adapter": s.adapter,
            "enabled": s.enabled,
            "binary": s.binary,
            "version": s.version,
            "credentials": s.credentials,
            "ready": s.ready,
            "problems": s.problems,
            "notes": s.notes,
            "tasks": s.tasks,
        }
        for s in await agent_statuses(config)
    ]


@_handles(Command.TRUST)
def trust_workspace(ls: AgentlsServer, *arguments: Any) -> dict[str, str]:
    """Trust the .agentls.yaml of the folder holding ``uri`` (default: the root folder)."""
    args = _parse(ls, UriArgs, arguments)
    folder = _guard(ls, lambda: ls.configuration.folder_for(args.uri))
    return {"sha256": _guard(ls, lambda: ls.configuration.trust_folder(folder))}


@_handles(Command.CLEAR_DIAGNOSTICS)
def clear_diagnostics(ls: AgentlsServer, *arguments: Any) -> dict[str, int]:
    args = _parse(ls, UriArgs, arguments)
    cleared = ls.session.diagnostics.clear(args.uri)
    for uri in cleared:
        publish_diagnostics(ls.session, ls.client, uri)
    return {"cleared": len(cleared)}


def _parse(ls: AgentlsServer, model: type[Args], arguments: tuple[Any, ...]) -> Args:
    raw = arguments[0] if arguments else {}
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'argument'}: {e['msg']}"
            for e in error.errors()
        )
        raise JsonRpcInvalidParams(f"bad arguments: {problems}") from None


T = TypeVar("T")


def _guard(ls: AgentlsServer, action: Any) -> Any:
    """Run ``action``; an AgentlsError becomes a shown message and an InvalidParams error
    (a warning for a binary file: nothing is wrong, agentls just does not edit such files)."""
    try:
        return action()
    except AgentlsError as error:
        _refuse(ls, error)


async def _guard_later(ls: AgentlsServer, answer: Awaitable[T]) -> T:
    """``_guard`` for the commands answered later: ``answer``, awaited."""
    try:
        return await answer
    except AgentlsError as error:
        _refuse(ls, error)


def _refuse(ls: AgentlsServer, error: AgentlsError) -> NoReturn:
    binary = isinstance(error, textfile.BinaryFileError)
    kind = types.MessageType.Warning if binary else types.MessageType.Error
    ls.client.show(kind, f"agentls: {error}")
    raise JsonRpcInvalidParams(str(error)) from None


def _selection(raw: dict[str, Any] | None) -> LineRange | None:
    if raw is None:
        return None
    start, end = raw.get("start"), raw.get("end")
    try:
        if isinstance(start, dict) and isinstance(end, dict):
            lsp = types.Range(
                start=types.Position(line=int(start["line"]), character=int(start["character"])),
                end=types.Position(line=int(end["line"]), character=int(end["character"])),
            )
            return lsp_to_lines(lsp)
        if isinstance(start, int) and isinstance(end, int):
            return LineRange(start=start, end=end)
    except (KeyError, TypeError, ValueError, ValidationError):
        pass
    raise JsonRpcInvalidParams(
        "range: give an LSP Range or {start, end} as 1-based line numbers with start <= end"
    )


def _step(stage: Any) -> dict[str, Any]:
    if isinstance(stage, ParallelGroup):
        return {"parallel": [_step(s) for s in stage.parallel]}
    if isinstance(stage, BestOfStage):
        spec = stage.best_of
        return {"bestOf": {"id": stage.step_id, "candidates": spec.candidates,
                "judge": spec.judge, "task": spec.task}}  # fmt: skip
    return {"id": stage.step_id, "agent": stage.agent, "task": stage.task.value,
            "optional": stage.optional, "when": stage.when}  # fmt: skip
