"""A CI review from its request to its report: what to review, the workflow run on it with
nobody to ask (what a permission policy would ask about is denied), and the findings kept."""

from __future__ import annotations

import asyncio
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from agentls.adapters.registry import AdapterRegistry
from agentls.adapters.versions import UNKNOWN, cli_version
from agentls.ci.changes import Changes, changes_since, tracked_files
from agentls.ci.report import CiReport, Scope, Tool, fingerprinted
from agentls.ci.shard import Shard
from agentls.domain import textfile
from agentls.domain.budget import Budget
from agentls.domain.config import AgentlsConfig
from agentls.domain.errors import AgentlsError, TaskInputError
from agentls.domain.results import StepStatus, StopReason, WorkflowResult
from agentls.orchestration.history import History
from agentls.orchestration.report import edit_diffs
from agentls.orchestration.targets import MAX_FILES
from agentls.orchestration.workflow import CancelToken, WorkflowEngine, WorkflowRequest

_HOMES = {
    "claude": "https://docs.anthropic.com/en/docs/claude-code",
    "codex": "https://github.com/openai/codex",
    "gemini": "https://github.com/google-gemini/gemini-cli",
    "copilot": "https://github.com/github/copilot-cli",
    "ruff": "https://docs.astral.sh/ruff/",
    "acp": "https://agentclientprotocol.com",
}
"""Each built-in adapter's home page (SARIF's ``informationUri``)."""


@dataclass(frozen=True)
class CiRequest:
    workspace: Path
    workflow: str
    base: str | None
    """The revision to compare HEAD with; None only with ``Scope.ALL``."""
    scope: Scope = Scope.CHANGED_LINES
    shard: Shard | None = None
    budget: Budget | None = None
    """The run's own caps, over the configured budgets."""


@dataclass
class Targets:
    files: list[str]
    changes: Changes | None


async def targets(request: CiRequest) -> Targets:
    """The files this job reviews: what changed (or every tracked file), its shard's share."""
    changes = None
    if request.scope is Scope.ALL:
        files = await tracked_files(request.workspace)
    else:
        assert request.base is not None
        changes = await changes_since(request.workspace, request.base)
        files = changes.files
    if request.shard is not None:
        files = request.shard.select(files)
    files = [path for path in files if _is_text(request.workspace / path)]
    if len(files) > MAX_FILES:
        raise TaskInputError(
            f"{len(files)} files is more than the {MAX_FILES} one job reviews; split them "
            "among more jobs with --shard I/N"
        )
    return Targets(files, changes)


def _is_text(path: Path) -> bool:
    """Whether agents can review the file: a binary one (an image) has nothing to review."""
    return textfile.text_or_none(path) is not None


async def review(
    engine: WorkflowEngine, request: CiRequest, token: CancelToken
) -> tuple[CiReport, WorkflowResult | None]:
    """Run the workflow on the request's files (none: nothing is run) and report on it."""
    found = await targets(request)
    report = CiReport(
        workflow=request.workflow,
        base=request.base,
        scope=request.scope,
        shards=[str(request.shard)] if request.shard else [],
        root=str(request.workspace),
        files=sorted(found.files),
    )
    if not found.files:
        return report, None
    result = await engine.run(
        WorkflowRequest(
            workflow=request.workflow,
            workspace=request.workspace,
            path=found.files[0],
            more_paths=tuple(found.files[1:]),
            budget=request.budget,
        ),
        token,
    )
    History(request.workspace).record_run(result, found.files[0], None, None)
    return fill(report, result, found, await tools(engine.config, result)), result


def fill(report: CiReport, result: WorkflowResult, found: Targets, ran: list[Tool]) -> CiReport:
    """``report`` with what the run found on the request's lines, proposed, cost and failed."""
    reviewed = set(found.files)
    lines = found.changes if report.scope is Scope.CHANGED_LINES else None
    kept = [
        finding
        for finding in result.findings
        if finding.path in reviewed and (lines is None or lines.touches(finding))
    ]
    root = Path(report.root)
    failures = [
        f"{record.step} ({record.agent}): {record.reason or 'failed'}"
        for record in result.steps
        if record.status == StepStatus.FAILED and not record.optional
    ]
    stopped = result.stop_reason == StopReason.BUDGET  # the steps after it never ran
    if stopped:
        failures.append(f"budget: {result.stopped}")
    return report.model_copy(
        update={
            "status": "failed" if stopped or result.status in ("failed", "cancelled") else "ok",
            "failures": failures,
            "findings": fingerprinted(kept, lambda path: textfile.text_or_none(root / path)),
            "tools": ran,
            "usage": result.usage,
            "proposals": dict(sorted(edit_diffs(result).items())),
            "run_ids": [result.run_id],
        }
    )


async def tools(config: AgentlsConfig, result: WorkflowResult) -> list[Tool]:
    """The agents that ran a step, with their CLIs' versions and whether all their steps
    succeeded."""
    ran = [record for record in result.steps if record.result is not None]
    failed = {record.agent for record in ran if record.status == StepStatus.FAILED}
    registry = AdapterRegistry.default()

    async def tool(name: str) -> Tool:
        version, home = UNKNOWN, ""
        agent = config.agents.get(name)
        if agent is not None:
            with suppress(AgentlsError):
                adapter = registry.create(name, agent, config.settings)
                version = await cli_version(adapter.command(), adapter.environment())
                home = _HOMES.get(agent.adapter, "")
        return Tool(name=name, version=version, information_uri=home, succeeded=name not in failed)

    return list(await asyncio.gather(*(tool(name) for name in sorted({r.agent for r in ran}))))
