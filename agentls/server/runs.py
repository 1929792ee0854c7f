"""Runs started from the editor: started, driven, cancelled, described, followed up.

A run command returns its id at once; the workflow runs as a background task with work-done
progress (``progress``), and its result goes to the editor through ``delivery``.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Mapping
from pathlib import Path
from typing import Any

from lsprotocol import types

from agentls.domain import textfile
from agentls.domain.config import AgentlsConfig, Settings
from agentls.domain.edits import proposed_texts
from agentls.domain.errors import AgentlsError, TaskInputError
from agentls.domain.lines import line_count, to_lf
from agentls.domain.paths import WorkspacePaths
from agentls.domain.permissions import PermissionQuestion
from agentls.domain.proposals import HunkState
from agentls.domain.results import StepRecord, TaskKind, WorkflowResult
from agentls.orchestration.best_of import candidate_result
from agentls.orchestration.conversation import follow_up, followable, proposal
from agentls.orchestration.events import EventBus
from agentls.orchestration.history import History
from agentls.orchestration.quick_tasks import with_task_workflow
from agentls.orchestration.report import workflow_markdown
from agentls.orchestration.targets import expand
from agentls.orchestration.workflow import WorkflowEngine, WorkflowRequest
from agentls.redaction import redact_value
from agentls.server.client import Client
from agentls.server.convert import uri_to_path
from agentls.server.delivery import Delivery
from agentls.server.progress import RunProgress
from agentls.server.reviewing import Reviews
from agentls.server.run import RunOrigin, RunTarget, ServerRun
from agentls.server.session import Session

ALLOW = "Allow"
DENY = "Deny"


class RunManager:
    """The session's runs: started from a target, driven in the background, delivered,
    cancelled, described, followed up and applied later."""

    def __init__(self, session: Session, client: Client) -> None:
        self.session = session
        self.client = client
        self.reviews = Reviews(session, client, self._refine)
        self.delivery = Delivery(session, client, self.reviews.applied)
        self.runs: dict[str, ServerRun] = {}
        self.origins: dict[str, RunOrigin] = {}

    # -- starting ------------------------------------------------------------------------

    def start_workflow(
        self, target: RunTarget, workflow: str | None, use_cache: bool = True
    ) -> str:
        """``use_cache``: False runs every agent, even when a cached answer exists."""
        folder, config = self._folder_config(target.uri)
        name = workflow or config.settings.default_workflow
        if name not in config.workflows:
            raise TaskInputError(
                f"no workflow named {name!r}; known: {', '.join(config.workflows)}"
            )
        run_id = self._start(target, folder, config, name, f"agentls: {name}", use_cache=use_cache)
        self.origins[run_id] = RunOrigin(target, name)
        return run_id

    def start_task(
        self, target: RunTarget, agent: str | None, task: TaskKind, use_cache: bool = True
    ) -> str:
        folder, config = self._folder_config(target.uri)
        agent = agent or config.settings.task_agents.get(task)
        if agent is None or agent not in config.agents:
            raise TaskInputError(
                f"no agent named {agent!r}; configured agents: {', '.join(config.agents)}"
            )
        config, name = with_task_workflow(config, task, agent)
        title = f"agentls: {task.value} with {agent}"
        run_id = self._start(
            target, folder, config, name, title, quick_task=(task, agent), use_cache=use_cache
        )
        self.origins[run_id] = RunOrigin(target, name, (task, agent))
        return run_id

    def rerun(self, run_id: str, use_cache: bool = True) -> str:
        """The run ``run_id`` (its workflow or task, on its target) as a new run."""
        origin = self.origins.get(run_id)
        if origin is None:
            raise TaskInputError(f"no run {run_id!r} in this session")
        if origin.quick_task is not None:
            task, agent = origin.quick_task
            return self.start_task(origin.target, agent, task, use_cache)
        return self.start_workflow(origin.target, origin.workflow, use_cache)

    def follow_up(self, run_id: str, message: str, task: tuple[TaskKind, str] | None = None) -> str:
        """``task``: a task and agent to run instead of the run's workflow."""
        previous = self.runs.get(run_id)
        if previous is None:
            raise TaskInputError(f"no run {run_id!r} in this session")
        if previous.status == "running":
            raise TaskInputError(f"run {run_id} is still going; follow up once it ends")
        if not previous.recorded:
            raise TaskInputError(f"run {run_id} never started, so it has no conversation to go on")
        config = self.session.config(previous.folder)
        run = ServerRun(
            run_id=run_id,
            title=previous.title.removesuffix(" (follow-up)") + " (follow-up)",
            uri=previous.uri,
            folder=previous.folder,
            selection=previous.selection,
            recorded=True,
        )
        self.runs.pop(run_id)  # to the end: the newest result is the last one forgotten
        buffers = self._buffers(previous.folder)
        engine, bus = self._engine(previous.folder, config)

        async def work() -> WorkflowResult:
            history = History(previous.folder)
            done = await follow_up(engine, history, run_id, message, run.cancel, buffers, task)
            run.recorded = True
            run.turn = done.turn
            return done.result

        return self._launch(run, bus, work())

    def _refine(self, run_id: str, agent: str, message: str) -> str:
        """A workflow's ``on_reject: refine``: the rejected changes' agent refines them."""
        return self.follow_up(run_id, message, (TaskKind.REFINE, agent))

    def _start(
        self,
        target: RunTarget,
        folder: Path,
        config: AgentlsConfig,
        name: str,
        title: str,
        quick_task: tuple[TaskKind, str] | None = None,
        use_cache: bool = True,
    ) -> str:
        if target.many:
            return self._start_many(target, folder, config, name, title, quick_task, use_cache)
        document = self.client.document(target.uri)
        if document.version is None:
            raise TaskInputError(
                f"{target.uri} is not open in the editor; open it before running agentls on it"
            )
        lines = line_count(document.source)
        if target.selection is not None and target.selection.end > max(lines, 1):
            raise TaskInputError(
                f"lines {target.selection} are outside the document, which has {lines} lines"
            )
        path = uri_to_path(target.uri)
        assert path is not None
        if textfile.looks_binary(document.source):  # refused before a run starts (a warning)
            raise textfile.BinaryFileError(_display(folder, path))
        run_id = uuid.uuid4().hex[:12]
        run = ServerRun(
            run_id=run_id, title=title, uri=target.uri, folder=folder, selection=target.selection
        )
        request = WorkflowRequest(
            workflow=name,
            workspace=folder,
            path=path,
            selection=target.selection,
            instruction=target.instruction,
            buffers=self._buffers(folder),
            context=self._context(folder, path, target),
            budget=target.budget,
        )
        engine, bus = self._engine(folder, config, use_cache)

        async def work() -> WorkflowResult:
            result = await engine.run(request, run.cancel, run_id=run_id)
            relative = str(Path(path).relative_to(folder))
            History(folder).record_run(
                result, relative, target.selection, target.instruction, quick_task
            )
            run.recorded = True
            return result

        return self._launch(run, bus, work())

    def _start_many(
        self,
        target: RunTarget,
        folder: Path,
        config: AgentlsConfig,
        name: str,
        title: str,
        quick_task: tuple[TaskKind, str] | None,
        use_cache: bool,
    ) -> str:
        """A run on a folder's files or on what changed (``targets``), the editor's unsaved
        texts included."""
        if target.selection is not None:
            raise TaskInputError("a line range needs a single file; run on the file instead")
        where = uri_to_path(target.uri)
        assert where is not None
        if self.session.workspace_folder(self.client.workspace, target.uri) is None:
            # a single file must be open (the editor sent its text); files read from disk
            # must be in a folder the editor opened
            raise TaskInputError(
                f"{where} is outside the editor's workspace folders; agentls runs on a folder, "
                "or on what changed, only inside them"
            )
        given = [where] if target.changed is None else []
        run_id = uuid.uuid4().hex[:12]
        run = ServerRun(run_id=run_id, title=title, uri=target.uri, folder=folder)
        engine, bus = self._engine(folder, config, use_cache)
        buffers = self._buffers(folder)

        async def work() -> WorkflowResult:
            checked = WorkspacePaths(folder)  # each file is checked once, as it is listed
            files = await expand(folder, given, target.changed, cwd=folder, paths=checked)
            request = WorkflowRequest(
                workflow=name,
                workspace=folder,
                path=files[0],
                more_paths=tuple(files[1:]),
                instruction=target.instruction,
                buffers=buffers,
                budget=target.budget,
                paths=checked,
            )
            result = await engine.run(request, run.cancel, run_id=run_id)
            History(folder).record_run(result, files[0], None, target.instruction, quick_task)
            run.recorded = True
            return result

        return self._launch(run, bus, work())

    def _launch(self, run: ServerRun, bus: EventBus, work: Awaitable[WorkflowResult]) -> str:
        """Keep ``run`` (the newest last) and do its ``work`` in the background."""
        self.runs[run.run_id] = run
        run.task = asyncio.ensure_future(self._drive(run, bus, work))
        return run.run_id

    def _folder_config(self, uri: str) -> tuple[Path, AgentlsConfig]:
        folder = self.session.folder_for(self.client.workspace, uri)
        return folder, self.session.config(folder)

    def _engine(
        self, folder: Path, config: AgentlsConfig, use_cache: bool = True
    ) -> tuple[WorkflowEngine, EventBus]:
        bus = EventBus()
        runtime = self.session.runtime(folder)
        if not use_cache:
            runtime = runtime.fresh()
        return WorkflowEngine(config, bus, runtime=runtime, ask=self._ask), bus

    async def _ask(self, question: PermissionQuestion) -> bool:
        """An agent's permission question in the editor's message box: allowed only by a
        click on Allow (a dismissed box denies)."""
        text = "\n".join(["agentls: " + question.summary(), *question.details(preview_lines=12)])
        answer = await self.client.ask(text, [ALLOW, DENY], types.MessageType.Warning)
        return answer == ALLOW

    def _buffers(self, folder: Path) -> dict[str, str]:
        """The editor's text of every open document in ``folder``, saved or not, with
        ``\n`` line endings as agentls holds texts (edits go back in the document's own)."""
        buffers = {}
        for document in self.client.documents():
            path = uri_to_path(document.uri)
            if path and Path(path).is_relative_to(folder):
                buffers[str(Path(path).relative_to(folder))] = to_lf(document.source)
        return buffers

    def _context(self, folder: Path, path: str, target: RunTarget) -> str | None:
        parts = []
        if target.editor_diagnostics:
            parts.append(
                "Diagnostics the editor shows in this code:\n"
                + "\n".join(f"- {d}" for d in target.editor_diagnostics)
            )
        budget = self.session.settings.max_open_documents_bytes
        others = []
        for document in self.client.documents():
            other = uri_to_path(document.uri)
            if not other or other == path or not Path(other).is_relative_to(folder):
                continue
            text = document.source
            if len(text.encode()) > budget:
                continue
            budget -= len(text.encode())
            relative = Path(other).relative_to(folder)
            others.append(f"### {relative}\n```\n{text.rstrip()}\n```")
        if others:
            parts.append("Other files open in the editor:\n" + "\n".join(others))
        return "\n\n".join(parts) or None

    # -- running -------------------------------------------------------------------------

    async def _drive(self, run: ServerRun, bus: EventBus, work: Awaitable[WorkflowResult]) -> None:
        progress = RunProgress(self.client, run.run_id, run.title, run.cancel.cancel)
        bus.subscribe(progress.on_event)
        await progress.begin()
        run.progress_token = progress.token

        def end(message: str) -> None:
            # A result's summary names its workflow; other endings need the run's title.
            prefix = "agentls" if run.result is not None else run.title
            progress.end(message, run.told, prefix)

        try:
            result = await work
        except AgentlsError as error:
            run.status = "failed"
            kind = (
                types.MessageType.Warning
                if isinstance(error, textfile.BinaryFileError)
                else types.MessageType.Error
            )
            self.delivery.tell(run, kind, f"{run.title}: {error}")
            end(f"failed: {error}")
            return
        except asyncio.CancelledError:
            run.status = "cancelled"
            end("cancelled")
            raise
        except Exception as error:  # keep serving whatever happens in a run
            run.status = "failed"
            self.delivery.tell(
                run, types.MessageType.Error, f"{run.title} failed unexpectedly: {error}"
            )
            end(f"failed: {error}")
            raise
        run.result = result
        run.status = result.status
        self._forget_old_results(self.session.config(run.folder).settings)
        run.report_uri = self.delivery.write_report(run, result)
        self.delivery.publish(run, result)
        if result.refused:  # a warning: an agent tried to change what it may not
            self.client.show(types.MessageType.Warning, _refused_message(run.title, result))
        if result.status in ("ok", "partial") and result.edits:
            if self.session.settings.apply_mode == "review":
                run.note = self.reviews.propose(run, result, self._on_reject(run, result))
            else:
                await self.delivery.deliver(run, result)
        elif result.status == "failed":
            self.delivery.tell(run, types.MessageType.Error, f"agentls: {result.summary}")
        elif result.status == "cancelled":
            run.note = "nothing applied"
        if run.note:
            self.delivery.write_report(run, result)  # with what became of the edits
        end(_end_message(result, run.note))

    def _on_reject(self, run: ServerRun, result: WorkflowResult) -> str | None:
        workflow = self.session.config(run.folder).workflows.get(result.workflow)
        return workflow.on_reject if workflow is not None else None

    # -- controlling ---------------------------------------------------------------------

    def cancel(self, run_id: str) -> bool:
        run = self.runs.get(run_id)
        if run is None:
            raise TaskInputError(f"no run {run_id!r}")
        if run.task is None or run.task.done():
            return False
        run.cancel.cancel()
        return True

    def cancel_all(self) -> bool:
        """Cancel every running run; whether there was one."""
        running = [r for r in self.runs.values() if r.task is not None and not r.task.done()]
        for run in running:
            run.cancel.cancel()
        return bool(running)

    async def shutdown(self) -> None:
        """Stop every run (and its processes) before the server exits."""
        tasks = [r.task for r in self.runs.values() if r.task and not r.task.done()]
        for run in self.runs.values():
            run.cancel.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, 10)

    def _forget_old_results(self, settings: Settings) -> None:
        """Memory holds the latest ``results_in_memory`` results; the history keeps them all."""
        held = [run for run in self.runs.values() if run.result is not None]
        for run in held[: max(0, len(held) - settings.results_in_memory)]:
            run.result = None

    def _result(self, run: ServerRun) -> WorkflowResult | None:
        """The run's result, read back from the history when memory no longer holds it."""
        if run.result is not None or run.status == "running":
            return run.result
        with contextlib.suppress(AgentlsError, IndexError, OSError):
            return History(run.folder).turns(run.run_id)[-1][1]
        return None

    def describe(self, run_id: str) -> Mapping[str, Any]:
        run = self.runs.get(run_id)
        if run is None:
            raise TaskInputError(f"no run {run_id!r}")
        result = self._result(run)
        markdown = (
            workflow_markdown(result) + (f"\n{run.note}\n" if run.note else "")
            if result
            else f"# {run.title}\n\n{run.status}\n"
        )
        return redact_value(
            {
                "runId": run_id,
                "status": run.status,
                "markdown": markdown,
                "reportUri": run.report_uri,
                "note": self.reviews.note(run_id) or run.note,
                "applicable": result is not None and self._applicable(run, result),
                "steps": [_step(record) for record in (result.steps if result else [])],
            }
        )

    def list_runs(self) -> list[dict[str, Any]]:
        """This session's runs, the newest first, with what can be done with each."""
        listed = []
        for run in reversed(list(self.runs.values())):
            result = None if run.status == "running" else self._result(run)
            listed.append(
                {
                    "runId": run.run_id,
                    "title": run.title,
                    "status": run.status,
                    "note": self.reviews.note(run.run_id) or run.note,
                    "uri": run.uri,
                    "followable": self._followable(run),
                    "applicable": result is not None and self._applicable(run, result),
                    "state": self._state(run),
                    "proposal": self.reviews.counts(run.run_id),
                }
            )
        return redact_value(listed)

    def _state(self, run: ServerRun) -> str:
        """running, failed, cancelled; else what became of its proposal (proposed, applied,
        partly applied, rejected, stale, undone), or done."""
        if run.status in ("running", "failed", "cancelled"):
            return run.status
        reviewed = self.session.proposals.get(run.run_id)
        return reviewed.state if reviewed is not None else "done"

    def _followable(self, run: ServerRun) -> bool:
        if run.status == "running" or not run.recorded:
            return False
        try:
            info = History(run.folder).run(run.run_id)
        except AgentlsError:
            return False
        return followable(self.session.config(run.folder), info)

    def _applicable(self, run: ServerRun, result: WorkflowResult) -> bool:
        """Whether the run proposes edits that its files do not hold yet."""
        reviewed = self.session.proposals.get(run.run_id)
        if reviewed is not None:  # under review: what is left to accept
            return bool(reviewed.count(HunkState.PENDING))
        return (
            run.status != "running"
            and result.status in ("ok", "partial")
            and bool(result.edits)
            and not self.delivery.holds(run, proposal(result))
        )

    async def apply_run(self, run_id: str, candidate: int | None = None) -> dict[str, Any]:
        """Apply a finished run's proposal that was not applied (declined, discarded in a
        preview, refused), without running the agents again; or a best_of run's
        ``candidate`` instead of its pick (in review mode: proposed instead of it)."""
        run = self.runs.get(run_id)
        if run is None:
            raise TaskInputError(f"no run {run_id!r} in this session")
        if run.status == "running":
            raise TaskInputError(f"run {run_id} is still going; apply it once it ends")
        result = self._result(run)
        if result is not None and candidate is not None:
            result = candidate_result(result, candidate, self._held(run, result))
            if self.session.settings.apply_mode == "review":  # its own proposal, to review
                run.note = self.reviews.propose(run, result, self._on_reject(run, result))
                return {"applied": False, "note": run.note}
        reviewed = self.session.proposals.get(run_id)
        if reviewed is not None and reviewed.count(HunkState.PENDING):  # under review
            accepted = await self.reviews.accept(run_id)
            return {"applied": True, "note": accepted["note"]}
        if result is None or result.status not in ("ok", "partial") or not result.edits:
            raise TaskInputError(f"run {run_id} has no changes to apply")
        if self.delivery.holds(run, proposal(result)):
            raise TaskInputError(f"run {run_id} is applied already")
        delivered = await self.delivery.send(run, result, preview=False)
        self.delivery.write_report(run, result)
        if delivered != "applied":
            raise TaskInputError(f"{run.title}: {run.note}")
        return {"applied": True, "note": run.note}

    def _held(self, run: ServerRun, result: WorkflowResult) -> dict[str, str | None] | None:
        """The texts of the run's proposal the files hold now (the pick, or a candidate
        applied before), if any: what another candidate's edits go from."""
        for edits in [result.edits, *(c.edits for c in result.candidates)]:
            texts = proposed_texts(edits, result.originals)
            if edits and self.delivery.holds(run, texts):
                return texts
        return None


def _step(record: StepRecord) -> dict[str, Any]:
    return {
        "step": record.step,
        "agent": record.agent,
        "task": record.task.value,
        "status": record.status.value,
        "iteration": record.iteration,
    }


def _display(folder: Path, path: str) -> str:
    """``path`` as messages name it: relative to the workspace folder when inside it."""
    return str(Path(path).relative_to(folder)) if Path(path).is_relative_to(folder) else path


def _refused_message(title: str, result: WorkflowResult) -> str:
    return f"{title}: " + "; ".join(str(r) for r in result.refused)


def _end_message(result: WorkflowResult, note: str) -> str:
    return result.summary + _cached_note(result) + (f"; {note}" if note else "")


def _cached_note(result: WorkflowResult) -> str:
    agents = sorted({record.agent for record in result.cached_steps})
    return f"; cached answer of {', '.join(agents)}" if agents else ""
