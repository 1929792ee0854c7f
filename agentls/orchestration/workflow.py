"""The workflow engine: sequential steps, parallel groups, a review cycle, conditions.

Every step sees the latest state of the code (earlier steps' edits applied in memory) and the
feedback meant for it (an implement or refine step gets the findings of the reviews that ran
since the last change). Nothing is written to the user's files: the result holds the final
edits relative to the files as they were when the run started.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from agentls.adapters.base import TargetFile
from agentls.adapters.confinement import state_locations
from agentls.adapters.registry import AdapterRegistry
from agentls.domain import textfile
from agentls.domain.budget import Budget, tightest
from agentls.domain.config import (
    AgentlsConfig,
    BestOfStage,
    ParallelGroup,
    StepConfig,
    WorkflowConfig,
)
from agentls.domain.edits import by_file, edits_between, file_after, remap_range, unified_diff
from agentls.domain.errors import AgentlsError, TaskDeclined, TaskInputError
from agentls.domain.lines import line_count as count_lines
from agentls.domain.lines import lines as text_lines
from agentls.domain.paths import WorkspacePaths, screen_edits
from agentls.domain.permissions import Asker
from agentls.domain.results import (
    Candidate,
    ErrorKind,
    Finding,
    LineRange,
    ProposedEdit,
    RefusedPath,
    RunStatus,
    Severity,
    StepRecord,
    StepStatus,
    StopReason,
    TaskError,
    TaskKind,
    TaskResult,
    Usage,
    WorkflowResult,
    combine_results,
    total_usage,
)
from agentls.log import bound
from agentls.metrics import active_run, metrics
from agentls.orchestration.best_of import Proposal, Ranking, judge_prompt, parse_ranking, ranked
from agentls.orchestration.budget import Ledger
from agentls.orchestration.checks import run_check
from agentls.orchestration.conditions import parse_condition
from agentls.orchestration.containment import Guard
from agentls.orchestration.events import (
    AgentOutput,
    EventBus,
    IterationFinished,
    StepFinished,
    StepStarted,
    WorkflowFinished,
    WorkflowStarted,
)
from agentls.orchestration.merge import merge_findings
from agentls.orchestration.prompts import DEFAULT_INSTRUCTIONS
from agentls.orchestration.runtime import Runtime, cli_client
from agentls.orchestration.sandbox import sandbox
from agentls.orchestration.tasks import (
    TaskSpec,
    make_adapter,
    record_refused,
    run_prompt,
    run_task,
)
from agentls.redaction import redact_value

EDITING_TASKS = (TaskKind.IMPLEMENT, TaskKind.REFINE)


@dataclass(frozen=True)
class WorkflowRequest:
    workflow: str
    workspace: Path
    path: str
    """The file, absolute or relative to ``workspace``."""
    selection: LineRange | None = None
    instruction: str | None = None
    more_paths: tuple[str, ...] = ()
    """Further files the run covers (several files, a folder, a glob, what changed: see
    ``targets``); a selection needs a single file."""
    buffers: Mapping[str, str] = field(default_factory=dict)
    """Unsaved editor texts by workspace-relative path; they win over the files on disk."""
    context: str | None = None
    """Earlier turns of the conversation, for a follow-up."""
    sessions: Mapping[str, str] = field(default_factory=dict)
    """Agent sessions to resume, by step id (follow-ups)."""
    start_texts: Mapping[str, str | None] = field(default_factory=dict)
    """Texts the steps start from instead of the user's (a follow-up continues from the last
    proposal); edits are still computed against the user's texts."""
    budget: Budget | None = None
    """This run's own caps (``agentls run --budget-*``, a command's ``budget``): they can only
    tighten the configured ones (``tightest``)."""
    paths: WorkspacePaths | None = None
    """The checker that listed the files (``targets.expand``'s): what it checked is not checked
    again. One of another workspace is not used."""


class CancelToken:
    """Cancels a running workflow: every agent process group is stopped."""

    def __init__(self) -> None:
        self._task: asyncio.Future[Any] | None = None
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True
        if self._task is not None:
            self._task.cancel()


class WorkingCopy:
    """The files as the steps see them: the user's texts with the steps' edits applied."""

    def __init__(
        self,
        workspace: Path,
        buffers: Mapping[str, str],
        start_texts: Mapping[str, str | None] | None = None,
    ) -> None:
        self.workspace = workspace
        self.buffers = dict(buffers)
        self.start_texts = dict(start_texts or {})
        self.original: dict[str, str | None] = {}
        self.current: dict[str, str | None] = {}
        self._utf8_on_disk: set[str] = set()

    def text(self, path: str) -> str | None:
        if path not in self.current:
            self.original[path] = self._load(path)
            self.current[path] = self.start_texts.get(path, self.original[path])
        return self.current[path]

    def _load(self, path: str) -> str | None:
        if path in self.buffers:
            if textfile.looks_binary(self.buffers[path]):
                raise textfile.BinaryFileError(path)
            return self.buffers[path]
        try:
            file = textfile.read(os.path.join(self.workspace, path), path)
        except IsADirectoryError:
            return None
        except OSError as error:
            raise TaskInputError(f"cannot read {path}: {error}") from None
        # a TextFileError (binary, not in its encoding) names the file: it is the message
        if file is None:
            return None
        if file.encoding == textfile.UTF8:
            self._utf8_on_disk.add(path)
        return file.text

    def on_disk(self, path: str) -> bool:
        """Whether a tool reading ``path`` from disk sees the text the steps see: no editor
        buffer, no earlier edit, and UTF-8 (what tools read)."""
        text = self.text(path)
        return (
            path in self._utf8_on_disk
            and path not in self.start_texts
            and text == self.original.get(path)
        )

    def apply(self, edits: list[ProposedEdit]) -> None:
        for path, file_edits in by_file(edits).items():
            self.current[path] = file_after(self.text(path), file_edits)

    def fork(self, edits: list[ProposedEdit]) -> WorkingCopy:
        """A copy with ``edits`` applied (a best_of candidate's); this one is unchanged, but
        knows the original of every file they touch."""
        for path in by_file(edits):
            self.text(path)
        copy = WorkingCopy(self.workspace, self.buffers, self.start_texts)
        copy.original = dict(self.original)
        copy.current = dict(self.current)
        copy._utf8_on_disk = set(self._utf8_on_disk)
        copy.apply(edits)
        return copy

    def diff(self, other: WorkingCopy) -> str:
        """A unified diff from this copy's texts to ``other``'s, for the files they differ in."""
        paths = sorted(p for p in other.current if other.current[p] != self.text(p))
        return "".join(
            unified_diff(path, self.text(path) or "", other.current[path] or "") for path in paths
        )

    def changed(self) -> dict[str, str | None]:
        """Paths whose current text differs from what the user has (for sandboxes)."""
        overlay: dict[str, str | None] = dict(self.buffers)
        for path in self.start_texts:
            self.text(path)
        for path, text in self.current.items():
            if text != self.original.get(path):
                overlay[path] = text
        return overlay

    def final_edits(self) -> list[ProposedEdit]:
        edits: list[ProposedEdit] = []
        for path in self.start_texts:
            self.text(path)
        for path, after in self.current.items():
            edits.extend(edits_between(path, self.original.get(path), after))
        return edits


@dataclass
class _Run:
    run_id: str
    name: str
    workflow: WorkflowConfig
    request: WorkflowRequest
    targets: list[str]
    """The files the run covers; a selection is in the first (and only) one."""
    working: WorkingCopy
    selection: LineRange | None
    records: list[StepRecord] = field(default_factory=list)
    scope: dict[str, Any] = field(default_factory=dict)
    feedback: list[Finding] = field(default_factory=list)
    latest_findings: list[Finding] = field(default_factory=list)
    iterations: int = 0
    failed: bool = False
    refused: list[RefusedPath] = field(default_factory=list)
    containment_note: str | None = None
    declined: dict[str, str] = field(default_factory=dict)
    """Steps whose agent does not handle (some of) the files: what the summary says of it
    (see ``Adapter.declines``)."""
    not_text: list[str] = field(default_factory=list)
    """Files of a folder, glob or change that are left out: binary, or not in their encoding."""
    candidates: list[Candidate] = field(default_factory=list)
    """The latest best_of step's proposals, ranked."""
    notes: list[str] = field(default_factory=list)
    """What the summary says of best_of steps: the pick, a judge that gave no ranking."""
    ledger: Ledger = field(default_factory=Ledger)
    running: list[str] = field(default_factory=list)
    """The steps running now (what a budget's minutes stop, if they are up)."""
    stopped: str = ""
    """Why a budget stopped the run, in one line."""

    @property
    def target(self) -> str:
        return self.targets[0]


class WorkflowEngine:
    def __init__(
        self,
        config: AgentlsConfig,
        bus: EventBus | None = None,
        registry: AdapterRegistry | None = None,
        runtime: Runtime | None = None,
        ask: Asker | None = None,
    ) -> None:
        self.config = config
        self.bus = bus or EventBus()
        self.registry = registry
        self.runtime = runtime or Runtime.create(config, cli_client())
        self.ask = ask
        """Who answers an ACP agent's permission request the policy asks about (the editor's
        message box, the terminal's prompt); None: nobody, so it is denied."""

    async def run(
        self,
        request: WorkflowRequest,
        token: CancelToken | None = None,
        run_id: str | None = None,
    ) -> WorkflowResult:
        """Run a workflow to its end, its stop condition, a failure or a cancel."""
        try:
            return await self._run_workflow(request, token, run_id)
        finally:
            self.runtime.flush()  # what a run that ended early held for its end record

    async def _run_workflow(
        self, request: WorkflowRequest, token: CancelToken | None, run_id: str | None
    ) -> WorkflowResult:
        workflow = self.config.workflows.get(request.workflow)
        if workflow is None:
            known = ", ".join(self.config.workflows)
            raise TaskInputError(f"no workflow named {request.workflow!r}; known: {known}")
        workspace = request.workspace.resolve()
        checked = request.paths
        if checked is None or checked.root != workspace:
            checked = WorkspacePaths(workspace)
        named = [checked.relative(path) for path in (request.path, *request.more_paths)]
        targets = list(dict.fromkeys(named))
        if request.selection is not None and len(targets) > 1:
            raise TaskInputError("a line range needs a single file; give one file or no range")
        agents = workflow.agents
        self.runtime.admit(
            "workflow",
            request.instruction,
            workflow=request.workflow,
            agents=agents,
            files=targets,
            workspace=str(workspace),
        )
        working = WorkingCopy(workspace, request.buffers, request.start_texts)
        targets, not_text = _text_files(working, targets)
        lines = count_lines(working.text(targets[0]) or "")
        if request.selection is not None and request.selection.end > lines:
            # bad input, like a missing file: no run starts (none is recorded)
            raise TaskInputError(
                f"lines {request.selection} are outside {targets[0]}, which has {lines} lines"
            )
        budget = tightest(self.config.settings.budget, workflow.budget, request.budget)
        shares = {name: self.config.agents[name].budget for name in agents}
        run = _Run(
            run_id=run_id or uuid.uuid4().hex[:12],
            name=request.workflow,
            workflow=workflow,
            request=request,
            targets=targets,
            working=working,
            selection=request.selection,
            not_text=not_text,
            ledger=Ledger(budget, {a: share for a, share in shares.items() if share is not None}),
        )
        started = time.monotonic()
        self.runtime.hold(
            "run_started", run_id=run.run_id, workflow=run.name, agents=agents, files=targets
        )
        self.bus.emit(WorkflowStarted(run.run_id, run.name, agents, _pass_size(workflow), budget))
        token = token or CancelToken()
        inner = asyncio.ensure_future(self._run(run))
        token._task = inner
        if token.cancelled:  # cancelled before the run started: it stops at once
            inner.cancel()
        timer = _time_limit(run, inner)
        stop_reason = StopReason.COMPLETED
        with active_run(), bound(run_id=run.run_id):
            try:
                stop_reason = await inner
            except asyncio.CancelledError:
                if run.stopped and not token.cancelled:
                    stop_reason = StopReason.BUDGET
                elif not token.cancelled:
                    raise
                else:
                    stop_reason = StopReason.CANCELLED
            finally:
                if timer is not None:
                    timer.cancel()
        result = self._result(run, stop_reason, time.monotonic() - started)
        metrics().workflow_duration.labels(run.name, result.status).observe(result.duration_s)
        self.runtime.record(
            "run_finished",
            run_id=run.run_id,
            status=result.status,
            stop_reason=stop_reason,
            edits_proposed=sorted({e.path for e in result.edits}),
            findings=len(result.findings),
        )
        self.bus.emit(WorkflowFinished(run.run_id, result.status, result.summary))
        return result

    async def _run(self, run: _Run) -> StopReason:
        stages = run.workflow.steps
        loop_start = _loop_start(run.workflow)
        if loop_start is None:
            loop_start = len(stages)
        run.iterations = 1
        run.scope["iteration"] = 1
        for stage in stages[:loop_start]:
            if self._over_budget(run, stage):
                return StopReason.BUDGET
            if not await self._stage(run, stage):
                return StopReason.STEP_FAILED
        cycle = stages[loop_start:]
        while True:
            for stage in cycle:
                if self._over_budget(run, stage):
                    return StopReason.BUDGET
                if not await self._stage(run, stage):
                    return StopReason.STEP_FAILED
            open_findings = len(run.latest_findings)
            self.bus.emit(IterationFinished(run.run_id, run.iterations, open_findings))
            if not cycle:
                return StopReason.COMPLETED
            if open_findings < run.workflow.min_suggestions_threshold:
                return StopReason.BELOW_THRESHOLD
            if run.iterations >= run.workflow.max_iterations:
                return StopReason.MAX_ITERATIONS
            run.iterations += 1
            run.scope["iteration"] = run.iterations

    def _over_budget(self, run: _Run, stage: StepConfig | ParallelGroup | BestOfStage) -> bool:
        """Whether the run must stop before ``stage`` (its reason in ``run.stopped``)."""
        if not run.ledger.limited:
            return False
        if isinstance(stage, BestOfStage):
            name = f"best_of {stage.step_id}"
        elif isinstance(stage, ParallelGroup):
            name = "the parallel steps " + ", ".join(s.step_id for s in stage.parallel)
        else:
            name = f"step {stage.step_id}"
        run.stopped = run.ledger.refusal(name, [step.agent for step in stage.members]) or ""
        return bool(run.stopped)

    async def _stage(self, run: _Run, stage: StepConfig | ParallelGroup | BestOfStage) -> bool:
        """Run one step, parallel group or best_of; False when the workflow must stop."""
        if isinstance(stage, BestOfStage):
            return await self._best_of(run, stage)
        if isinstance(stage, StepConfig):
            records = [await self._step(run, stage)]
        else:
            records = await self._parallel(run, stage)
        reviews = [r for r in records if r.task is TaskKind.REVIEW and r.status == "ok"]
        if reviews:
            found = [f for r in reviews if r.result for f in r.result.findings]
            run.latest_findings = merge_findings(found, [r.agent for r in reviews])
            run.feedback = list(run.latest_findings)
        edits = [e for r in records if r.status == "ok" and r.result for e in r.result.edits]
        if edits:
            self._apply(run, records)
        return not any(r.status == "failed" and not r.optional for r in records)

    async def _parallel(self, run: _Run, group: ParallelGroup) -> list[StepRecord]:
        tasks = [asyncio.ensure_future(self._step(run, step)) for step in group.parallel]
        if not group.fail_fast:
            return list(await asyncio.gather(*tasks))
        pending = set(tasks)
        try:
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                if any(t.result().status == "failed" and not t.result().optional for t in done):
                    for task in pending:
                        task.cancel()
                    await asyncio.gather(*pending, return_exceptions=True)
                    break
        finally:
            for task in tasks:
                task.cancel()
        records = []
        for step, task in zip(group.parallel, tasks, strict=True):
            if task.cancelled():
                record = self._record(
                    run, step, StepStatus.FAILED, reason="cancelled: a sibling failed"
                )
                run.records.append(record)
                records.append(record)
            else:
                records.append(task.result())
        return records

    async def _best_of(self, run: _Run, stage: BestOfStage) -> bool:
        """The candidates in parallel (each its own sandbox when agentic), each proposal's
        check, the judge's ranking; the pick's edits go on, as one step's would. False when
        every candidate failed."""
        spec = stage.best_of
        steps = stage.candidate_steps
        records = list(await asyncio.gather(*(self._step(run, step) for step in steps)))
        run.records[-len(records) :] = records  # as listed, not as they finished
        candidates: list[Candidate] = []
        forks: dict[int, WorkingCopy] = {}
        for number, (step, record) in enumerate(zip(steps, records, strict=True), start=1):
            record.role = "candidate"
            ok = record.status == StepStatus.OK and record.result is not None
            fork = run.working.fork(self._screen(run, record) if ok else [])
            if ok:
                forks[number] = fork
            candidates.append(
                Candidate(
                    index=number,
                    agent=step.agent,
                    step=step.step_id,
                    status=record.status,
                    reason=record.reason if not ok else "",
                    edits=fork.final_edits() if ok else [],
                    usage=record.result.usage if record.result else Usage(),
                )
            )
        if not forks:
            for record in records:  # nothing to choose from: the stage fails the run
                record.optional = False
            run.candidates = candidates
            return False
        if spec.check:
            outcomes = await asyncio.gather(
                *(
                    run_check(
                        spec.check,
                        run.working.workspace,
                        fork.changed(),
                        spec.check_timeout_s,
                        self.config.settings,
                    )
                    for fork in forks.values()
                )
            )
            checked = dict(zip(forks, outcomes, strict=True))
            candidates = [c.model_copy(update={"check": checked.get(c.index)}) for c in candidates]
        ranking = Ranking()
        if len(forks) > 1:
            proposals = [
                Proposal(number, run.working.diff(fork), candidates[number - 1].check)
                for number, fork in forks.items()
            ]
            ranking = await self._judge(run, stage, steps[0], proposals)
        candidates = ranked(candidates, ranking)
        run.candidates = candidates
        pick = candidates[0]
        picked = records[pick.index - 1]
        assert picked.result is not None
        run.notes.append(
            f"{stage.step_id}: picked candidate {pick.index} of {len(candidates)} ({pick.agent})"
        )
        run.scope[stage.step_id] = _scope_entry(picked.result)
        if picked.result.edits:
            self._apply(run, [picked])
        return True

    async def _judge(
        self, run: _Run, stage: BestOfStage, candidate: StepConfig, proposals: list[Proposal]
    ) -> Ranking:
        """The judge's ranking of ``proposals``; a judge that fails or gives none leaves them
        in their order, and the run's notes say so (the run goes on)."""
        spec, step = stage.best_of, stage.judge_step
        index, total = _position(run.workflow, step)
        self.bus.emit(
            StepStarted(
                run.run_id, step.step_id, step.agent, step.task, run.iterations, index, total
            )
        )
        prompt = judge_prompt(
            spec.criteria,
            self._instruction(candidate, run.request.instruction),
            proposals,
            spec.check,
            self.config.settings.max_context_bytes,
        )
        question = TaskSpec(
            agent=step.agent,
            task=step.task,
            workspace=run.working.workspace,
            path=run.target,
            file_text=run.working.text(run.target),
            ask=self.ask,
            permissions=run.workflow.permissions,
        )

        def on_line(line: str) -> None:
            self.bus.emit(AgentOutput(run.run_id, step.step_id, step.agent, line))

        try:
            run.running.append(step.step_id)
            result = await run_prompt(
                self.config, question, prompt, on_line, self.registry, self.runtime, run.run_id
            )
        except AgentlsError as error:  # a disabled agent, a rate limit
            result = TaskResult(agent=step.agent, task=step.task).failed(
                TaskError(kind=ErrorKind.AGENT_ERROR, message=str(error))
            )
        finally:
            run.running.remove(step.step_id)
        status = StepStatus.OK if result.ok else StepStatus.FAILED
        reason = result.error.message if result.error else ""
        record = self._record(run, step, status, reason=reason, result=result)
        record.role = "judge"
        run.records.append(record)
        run.ledger.add(step.agent, result)
        self.bus.emit(
            StepFinished(run.run_id, step.step_id, run.iterations, status, result, reason)
        )
        numbers = [p.number for p in proposals]
        if not result.ok:
            run.notes.append(
                f"{stage.step_id}: the judge ({step.agent}) failed, so the candidates stay in "
                f"their order: {reason}"
            )
            return Ranking()
        ranking = parse_ranking(result.text, numbers)
        if not ranking.order:
            run.notes.append(
                f"{stage.step_id}: the judge ({step.agent}) gave no ranking "
                f"({'; '.join(ranking.problems)}), so the candidates stay in their order"
            )
        elif ranking.problems:
            run.notes.append(
                f"{stage.step_id}: of the judge's ranking, {'; '.join(ranking.problems)}"
            )
        return ranking

    async def _step(self, run: _Run, step: StepConfig) -> StepRecord:
        index, total = _position(run.workflow, step)
        if step.when is not None and not parse_condition(step.when).evaluate(run.scope):
            record = self._record(
                run, step, StepStatus.SKIPPED, reason=f"condition false: {step.when}"
            )
            run.records.append(record)
            self.bus.emit(
                StepFinished(
                    run.run_id, step.step_id, run.iterations, "skipped", None, record.reason
                )
            )
            return record
        self.bus.emit(
            StepStarted(
                run.run_id, step.step_id, step.agent, step.task, run.iterations, index, total
            )
        )
        run.running.append(step.step_id)
        try:
            result = await self._execute(run, step)
        except TaskDeclined as declined:  # not a file this agent handles: nothing to run
            record = self._record(run, step, StepStatus.SKIPPED, reason=str(declined))
            run.records.append(record)
            run.declined.setdefault(step.step_id, f"skipped: {declined}")
            self.bus.emit(
                StepFinished(
                    run.run_id, step.step_id, run.iterations, "skipped", None, record.reason
                )
            )
            return record
        except AgentlsError as error:  # unknown or disabled agent, unreadable file, no git
            result = TaskResult(agent=step.agent, task=step.task).failed(
                TaskError(kind=ErrorKind.AGENT_ERROR, message=str(error))
            )
        finally:
            run.running.remove(step.step_id)
        run.ledger.add(step.agent, result)
        run.refused.extend(result.refused)
        status = StepStatus.OK if result.ok else StepStatus.FAILED
        reason = result.error.message if result.error else "; ".join(str(r) for r in result.refused)
        record = self._record(run, step, status, reason=reason, result=result)
        run.records.append(record)
        run.scope[step.step_id] = _scope_entry(result)
        self.bus.emit(
            StepFinished(run.run_id, step.step_id, run.iterations, status, result, reason)
        )
        return record

    async def _execute(self, run: _Run, step: StepConfig) -> TaskResult:
        """The step on the run's files: one request for an adapter that takes many files (those
        it can read from disk), else one per file, ``settings.files_at_once`` at a time."""
        adapter = make_adapter(self.config, step.agent, self.registry)
        reasons = {path: adapter.declines(path) for path in run.targets}
        files = [path for path, reason in reasons.items() if reason is None]
        declined = {path: reason for path, reason in reasons.items() if reason is not None}
        if not files:  # before any sandbox is made for it
            raise TaskDeclined(_declined_text(declined, whole=True))
        if declined:
            run.declined.setdefault(step.step_id, f"skipped {_declined_text(declined, False)}")
        agentic = step.mode != "text" and step.task in EDITING_TASKS
        together: list[str] = []
        if adapter.many_files and not agentic:
            together = [path for path in files if run.working.on_disk(path)]
            if len(together) < 2:
                together = []
        groups = ([together] if together else []) + [[p] for p in files if p not in together]
        at_once = asyncio.Semaphore(1 if agentic else self.config.settings.files_at_once)

        async def one(paths: list[str]) -> TaskResult:
            async with at_once:
                result = await self._execute_files(run, step, paths)
            if result.error is not None and len(groups) > 1:
                where = f"on {_some(paths)}: {result.error.message}"
                result = result.failed(result.error.model_copy(update={"message": where}))
            return result

        results = await asyncio.gather(*(one(paths) for paths in groups))
        return results[0] if len(results) == 1 else combine_results(results)

    async def _execute_files(self, run: _Run, step: StepConfig, paths: list[str]) -> TaskResult:
        text = run.working.text(paths[0]) or ""
        feedback = _feedback(run, step, set(paths))

        def on_line(line: str) -> None:
            self.bus.emit(AgentOutput(run.run_id, step.step_id, step.agent, line))

        spec = TaskSpec(
            agent=step.agent,
            task=step.task,
            workspace=run.working.workspace,
            path=paths[0],
            selection=run.selection,
            instruction=self._instruction(step, run.request.instruction),
            file_text=text,
            feedback=feedback,
            session_id=run.request.sessions.get(step.step_id),
            more_files=tuple(TargetFile(p, run.working.text(p) or "") for p in paths[1:]),
            overlay={p: t for p, t in run.working.changed().items() if t is not None},
            ask=self.ask,
            permissions=run.workflow.permissions,
        )
        if step.mode == "text" or step.task not in EDITING_TASKS:
            result = await run_task(
                self.config, spec, on_line, self.registry, self.runtime, run.run_id
            )
            return result
        place = f"{run.run_id}-{step.step_id}"  # the same folder in each follow-up
        async with sandbox(run.working.workspace, run.working.changed(), place) as box:
            guard = await self._guard(run, step, box.root)
            boxed = replace(spec, workspace=box.root, write=True, confinement=guard.confinement)
            result = await run_task(
                self.config, boxed, on_line, self.registry, self.runtime, run.run_id
            )
            result = await guard.finish(result)  # before agentls reads the sandbox's git
            if guard.escaped:
                self.runtime.record(
                    "sandbox_escape", run_id=run.run_id, agent=step.agent, paths=guard.escaped
                )
            if not result.ok:
                return result
            try:
                changes = await box.changes(self.config.settings.protected_paths)
            except AgentlsError as error:  # e.g. it changed the sandbox's git metadata
                failure = TaskError(kind=ErrorKind.AGENT_ERROR, message=str(error))
                return result.failed(failure).model_copy(update={"edits": []})
        refused = [r.model_copy(update={"agent": step.agent}) for r in changes.refused]
        record_refused(self.runtime, run.run_id, refused)
        # What the agent wrote in the sandbox did not pass the runtime's redaction.
        edits = redact_value(changes.edits)
        refused = [*result.refused, *refused]
        return result.model_copy(update={"edits": edits, "refused": refused})

    async def _guard(self, run: _Run, step: StepConfig, root: Path) -> Guard:
        """The containment of an agentic step's agent, as its ``sandbox`` setting says."""
        adapter = make_adapter(self.config, step.agent, self.registry)
        config = adapter.config
        state = state_locations(adapter.state_places(), config.sandbox_paths, adapter.environment())
        guard = await Guard.start(
            config.sandbox, run.working.workspace, root, [place.path for place in state]
        )
        if guard.note:
            run.containment_note = guard.note
        return guard

    def _instruction(self, step: StepConfig, user: str | None) -> str:
        template = step.instruction
        if template is None and step.task in self.config.prompts:
            template = self.config.prompts[step.task].instruction
        if template is None:
            return user or DEFAULT_INSTRUCTIONS[step.task]
        return template.replace("{instruction}", user or DEFAULT_INSTRUCTIONS[step.task])

    def _apply(self, run: _Run, records: list[StepRecord]) -> None:
        before = run.working.text(run.target) or ""
        taken: list[ProposedEdit] = []
        for record in records:
            if record.status != "ok" or record.result is None:
                continue
            edits = [e for e in self._screen(run, record) if not _overlaps(e, taken)]
            if len(edits) < len(record.result.edits):
                record.reason = "some edits overlapped an earlier step's and were dropped"
            taken.extend(edits)
        run.working.apply(taken)
        after = run.working.text(run.target)
        if after is None:
            run.selection = None
        elif run.selection is not None:
            run.selection = remap_range(before, after, run.selection)
        run.feedback = []  # the change addressed it; the next review says what is left

    def _screen(self, run: _Run, record: StepRecord) -> list[ProposedEdit]:
        """The step's edits agent output may make; where they are collected, whatever made
        them (code blocks, the sandbox), the rule is checked once more on the real workspace."""
        assert record.result is not None
        edits, refused = screen_edits(
            run.working.workspace,
            record.result.edits,
            self.config.settings.protected_paths,
            record.agent,
        )
        if refused:
            record_refused(self.runtime, run.run_id, refused)
            run.refused.extend(refused)
            record.result.refused.extend(refused)
            record.result.edits = edits
        return edits

    def _record(
        self,
        run: _Run,
        step: StepConfig,
        status: StepStatus,
        reason: str = "",
        result: TaskResult | None = None,
    ) -> StepRecord:
        return StepRecord(
            step=step.step_id,
            agent=step.agent,
            task=step.task,
            iteration=run.iterations,
            status=status,
            optional=step.optional,
            reason=reason,
            result=result,
        )

    def _result(self, run: _Run, stop_reason: StopReason, duration_s: float) -> WorkflowResult:
        usage: dict[str, list[Usage]] = {}
        for record in run.records:
            if record.result is not None:  # a cached answer spent nothing
                spent = [] if record.result.cached else [record.result.usage]
                usage.setdefault(record.agent, []).extend(spent)
        failed_required = any(r.status == "failed" and not r.optional for r in run.records)
        failed_optional = any(r.status == "failed" and r.optional for r in run.records)
        if stop_reason is StopReason.CANCELLED:
            status = RunStatus.CANCELLED
        elif failed_required:
            status = RunStatus.FAILED
        elif failed_optional or stop_reason is StopReason.BUDGET:
            status = RunStatus.PARTIAL
        else:
            status = RunStatus.OK
        edits = run.working.final_edits()
        proposed = {e.path for e in edits} | {e.path for c in run.candidates for e in c.edits}
        result = WorkflowResult(
            run_id=run.run_id,
            workflow=run.name,
            status=status,
            stop_reason=stop_reason,
            iterations=run.iterations,
            steps=run.records,
            findings=run.latest_findings,
            edits=edits,
            originals={path: run.working.original.get(path) for path in sorted(proposed)},
            refused=run.refused,
            files=run.targets,
            candidates=run.candidates,
            usage_by_agent={agent: total_usage(u) for agent, u in usage.items()},
            duration_s=duration_s,
            budget=run.ledger.budget,
            stopped=run.stopped if stop_reason is StopReason.BUDGET else "",
        )
        result.summary = _summary(result, run.workflow)
        for step_id, reason in run.declined.items():
            result.summary += f"; {step_id} {reason}"
        if run.not_text:
            result.summary += f"; left out, not text: {_some(run.not_text)}"
        if run.containment_note:
            result.summary += f"; {run.containment_note}"
        for note in run.notes:
            result.summary += f"; {note}"
        notes = (n for r in run.records if r.result is not None for n in r.result.notes)
        for note in dict.fromkeys(notes):
            result.summary += f"; {note}"
        return result


def _time_limit(run: _Run, inner: asyncio.Future[Any]) -> asyncio.TimerHandle | None:
    """Stop ``inner`` (its agents' process groups too, as a cancel does) when the budget's
    minutes are up, saying which steps were still running."""
    budget = run.ledger.budget
    if budget is None or budget.minutes is None:
        return None

    def up() -> None:
        if inner.done():
            return
        during = f" during step {', '.join(run.running)}" if run.running else ""
        run.stopped = f"stopped{during}: the {budget.minutes:g} minutes of the budget were up"
        inner.cancel()

    return asyncio.get_running_loop().call_later(budget.minutes * 60, up)


def _text_files(working: WorkingCopy, targets: list[str]) -> tuple[list[str], list[str]]:
    """``targets`` split into the text files and the others. One file that is not text, or
    that is missing, is bad input (an error); among several, the run goes on without them."""
    texts, others = [], []
    for path in targets:
        try:
            text = working.text(path)
        except textfile.TextFileError:
            if len(targets) == 1:
                raise
            others.append(path)
            continue
        if text is None:
            raise TaskInputError(f"{working.workspace / path} does not exist")
        texts.append(path)
    if not texts:
        raise TaskInputError(f"none of the {len(targets)} files is text: {_some(targets)}")
    return texts, others


def _declined_text(declined: Mapping[str, str], whole: bool) -> str:
    """Why a step's agent left out files: its one reason (``whole``: it had nothing to do),
    or how many files it skipped and why."""
    if whole and len(declined) == 1:
        return next(iter(declined.values()))
    reasons = list(dict.fromkeys(reason.split(";")[0] for reason in declined.values()))
    reason = reasons[0] if len(reasons) == 1 else "not files it handles"
    return f"{len(declined)} file{'s' if len(declined) != 1 else ''} ({reason}): {_some(declined)}"


def _some(paths: Iterable[str], shown: int = 5) -> str:
    names = list(paths)
    more = f", … {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def _pass_size(workflow: WorkflowConfig) -> int:
    return len(workflow.all_steps)


def _position(workflow: WorkflowConfig, step: StepConfig) -> tuple[int, int]:
    flat = workflow.all_steps
    return flat.index(step) + 1, len(flat)


def _loop_start(workflow: WorkflowConfig) -> int | None:
    """Index of the stage where the review cycle starts, or None without a cycle."""
    if workflow.max_iterations <= 1:
        return None
    for index, stage in enumerate(workflow.steps):
        if isinstance(stage, BestOfStage) and stage.step_id == workflow.loop_from:
            return index
        for step in stage.members:
            if workflow.loop_from is not None:
                if step.step_id == workflow.loop_from:
                    return index
            elif step.task is TaskKind.REVIEW:
                return index
    return None


def _scope_entry(result: TaskResult) -> dict[str, Any]:
    return {
        "status": result.status,
        "ok": result.ok,
        "findings": len(result.findings),
        "errors": sum(1 for f in result.findings if f.severity is Severity.ERROR),
        "edits": len(result.edits),
        "changed_files": len({e.path for e in result.edits} | set(result.changed_files)),
    }


def _feedback(run: _Run, step: StepConfig, paths: set[str]) -> str | None:
    parts = []
    if run.request.context:
        parts.append(run.request.context.strip())
    findings = run.feedback  # a request on one of several files hears of that file only
    if len(run.targets) > 1:
        findings = [f for f in run.feedback if f.path in paths]
    if step.task in EDITING_TASKS and findings:
        lines = ["Review findings to address (line numbers are the file's own):"]
        for finding in findings:
            lines.append(f"- {finding.where} [{finding.severity}] {finding.message}")
            if finding.suggestion is not None:
                lines.append(f"  suggested replacement:\n{_indent(finding.suggestion)}")
            for other in finding.alternatives:  # reviewers disagree on the fix: both are heard
                lines.append(
                    f"  {other.agent} suggests instead for {other.lines}:\n{_indent(other.text)}"
                )
        parts.append("\n".join(lines))
    return "\n\n".join(parts) or None


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text_lines(text))


def _overlaps(edit: ProposedEdit, taken: list[ProposedEdit]) -> bool:
    for other in taken:
        if other.path != edit.path:
            continue
        if edit.range is None or other.range is None:
            return True
        if edit.range.start <= other.range.end and other.range.start <= edit.range.end:
            return True
    return False


def _summary(result: WorkflowResult, workflow: WorkflowConfig) -> str:
    files = len({e.path for e in result.edits})
    covered = f" on {len(result.files)} files" if len(result.files) > 1 else ""
    text = (
        f"{result.workflow}{covered}: {result.status}, {result.iterations} iteration"
        f"{'s' if result.iterations != 1 else ''}, {len(result.findings)} finding"
        f"{'s' if len(result.findings) != 1 else ''}, {files} file{'s' if files != 1 else ''} "
        "changed"
    )
    if result.stop_reason == "max_iterations":
        text += (
            f"; stopped at max_iterations ({workflow.max_iterations}) with "
            f"{len(result.findings)} finding(s) still open"
        )
    elif result.stop_reason == "budget":
        text += f"; {result.stopped}"
    elif result.stop_reason == "step_failed":
        failed = [r for r in result.steps if r.status == "failed" and not r.optional]
        if failed:
            text += f"; step {failed[-1].step} ({failed[-1].agent}) failed: {failed[-1].reason}"
    if result.refused:
        text += f"; refused {', '.join(dict.fromkeys(r.path for r in result.refused))}"
    cost = result.usage.cost_usd
    if cost:
        text += f"; ${cost:.4f}"
    return text
