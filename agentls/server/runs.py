"""Runs started from the editor: progress, cancellation, and delivering the result.

A run command returns its id at once; the workflow runs as a background task. Progress is
server-created work-done progress (cancellable); at the end the findings are published as
diagnostics and the edits sent with ``workspace/applyEdit`` as one versioned, labelled edit.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.capabilities import get_capability

from agentls import textfile
from agentls.errors import AgentlsError, TaskInputError
from agentls.lines import line_count
from agentls.orchestration.config import AgentlsConfig, Settings, StepConfig, WorkflowConfig
from agentls.orchestration.conversation import follow_up
from agentls.orchestration.events import (
    AgentOutput,
    Event,
    EventBus,
    IterationFinished,
    StepFinished,
    StepStarted,
)
from agentls.orchestration.history import History, workspace_state_dir
from agentls.orchestration.report import workflow_markdown
from agentls.orchestration.results import LineRange, TaskKind, WorkflowResult
from agentls.orchestration.tasks import record_refused
from agentls.orchestration.workflow import CancelToken, WorkflowEngine, WorkflowRequest
from agentls.redaction import redact, redact_value
from agentls.server.convert import path_to_uri, uri_to_path
from agentls.server.workspace_edits import OpenDocument, build_workspace_edit
from agentls.state import write_private

if TYPE_CHECKING:
    from agentls.server.language_server import AgentlsServer


@dataclass
class ServerRun:
    run_id: str
    title: str
    uri: str
    folder: Path
    cancel: CancelToken = field(default_factory=CancelToken)
    task: asyncio.Task[None] | None = None
    progress_token: str | None = None
    result: WorkflowResult | None = None
    report_uri: str | None = None
    status: str = "running"
    note: str = ""
    """What happened to the edits (applied, refused, conflicts)."""
    told: bool = False
    """Whether a message already told the user how the run ended."""


@dataclass(frozen=True)
class RunTarget:
    uri: str
    selection: LineRange | None
    instruction: str | None
    editor_diagnostics: tuple[str, ...] = ()
    """Other tools' diagnostics in the selection, as lines of text for the prompt."""


class RunManager:
    def __init__(self, server: AgentlsServer) -> None:
        self.server = server
        self.runs: dict[str, ServerRun] = {}

    # -- starting ------------------------------------------------------------------------

    def start_workflow(self, target: RunTarget, workflow: str | None) -> str:
        folder, config = self._folder_config(target.uri)
        name = workflow or config.settings.default_workflow
        if name not in config.workflows:
            raise TaskInputError(
                f"no workflow named {name!r}; known: {', '.join(config.workflows)}"
            )
        return self._start(target, folder, config, name, f"agentls: {name}")

    def start_task(self, target: RunTarget, agent: str | None, task: TaskKind) -> str:
        folder, config = self._folder_config(target.uri)
        agent = agent or config.settings.task_agents.get(task)
        if agent is None or agent not in config.agents:
            raise TaskInputError(f"no agent named {agent!r}; see agentls.listAgents")
        name = f"{task.value} ({agent})"
        single = WorkflowConfig(
            description=f"{agent} {task.value}", steps=[StepConfig(agent=agent, task=task)]
        )
        config = config.model_copy(update={"workflows": {**config.workflows, name: single}})
        return self._start(target, folder, config, name, f"agentls: {task.value} with {agent}")

    def follow_up(self, run_id: str, message: str) -> str:
        previous = self.runs.get(run_id)
        if previous is None:
            raise TaskInputError(f"no run {run_id!r} in this session")
        config = self.server.session.config(previous.folder)
        run = ServerRun(
            run_id=run_id,
            title=f"{previous.title} (follow-up)",
            uri=previous.uri,
            folder=previous.folder,
        )
        self.runs.pop(run_id)  # to the end: the newest result is the last one forgotten
        self.runs[run_id] = run
        buffers = self._buffers(previous.folder)
        engine, bus = self._engine(previous.folder, config)

        async def work() -> WorkflowResult:
            history = History(previous.folder)
            done = await follow_up(engine, history, run_id, message, run.cancel, buffers)
            return done.result

        run.task = asyncio.ensure_future(self._drive(run, bus, work()))
        return run_id

    def _start(
        self, target: RunTarget, folder: Path, config: AgentlsConfig, name: str, title: str
    ) -> str:
        document = self.server.workspace.get_text_document(target.uri)
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
        run = ServerRun(run_id=run_id, title=title, uri=target.uri, folder=folder)
        self.runs[run_id] = run
        request = WorkflowRequest(
            workflow=name,
            workspace=folder,
            path=path,
            selection=target.selection,
            instruction=target.instruction,
            buffers=self._buffers(folder),
            context=self._context(folder, path, target),
        )
        engine, bus = self._engine(folder, config)

        async def work() -> WorkflowResult:
            result = await engine.run(request, run.cancel, run_id=run_id)
            relative = str(Path(path).relative_to(folder))
            History(folder).record_run(result, relative, target.selection, target.instruction)
            return result

        run.task = asyncio.ensure_future(self._drive(run, bus, work()))
        return run_id

    def _folder_config(self, uri: str) -> tuple[Path, AgentlsConfig]:
        folder = self.server.session.folder_for(self.server.workspace, uri)
        return folder, self.server.session.config(folder)

    def _engine(self, folder: Path, config: AgentlsConfig) -> tuple[WorkflowEngine, EventBus]:
        bus = EventBus()
        runtime = self.server.session.runtime(folder)
        return WorkflowEngine(config, bus, runtime=runtime), bus

    def _buffers(self, folder: Path) -> dict[str, str]:
        """The editor's text of every open document in ``folder``, saved or not."""
        buffers = {}
        for document in list(self.server.workspace.text_documents.values()):
            path = uri_to_path(document.uri)
            if path and Path(path).is_relative_to(folder):
                buffers[str(Path(path).relative_to(folder))] = document.source
        return buffers

    def _context(self, folder: Path, path: str, target: RunTarget) -> str | None:
        parts = []
        if target.editor_diagnostics:
            parts.append(
                "Diagnostics the editor shows in this code:\n"
                + "\n".join(f"- {d}" for d in target.editor_diagnostics)
            )
        budget = self.server.session.settings.max_open_documents_bytes
        others = []
        for document in list(self.server.workspace.text_documents.values()):
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
        progress = _Progress(self.server, run)
        bus.subscribe(progress.on_event)
        await progress.begin()
        try:
            result = await work
        except AgentlsError as error:
            run.status = "failed"
            kind = (
                types.MessageType.Warning
                if isinstance(error, textfile.BinaryFileError)
                else types.MessageType.Error
            )
            self._tell(run, kind, f"{run.title}: {error}")
            progress.end(f"failed: {error}")
            return
        except asyncio.CancelledError:
            run.status = "cancelled"
            progress.end("cancelled")
            raise
        except Exception as error:  # keep serving whatever happens in a run
            run.status = "failed"
            self._tell(run, types.MessageType.Error, f"{run.title} failed unexpectedly: {error}")
            progress.end(f"failed: {error}")
            raise
        run.result = result
        run.status = result.status
        self._forget_old_results(self.server.session.config(run.folder).settings)
        run.report_uri = self._write_report(run, result)
        self._publish(run, result)
        if result.refused:  # a warning: an agent tried to change what it may not
            self.server.show(types.MessageType.Warning, _refused_message(run.title, result))
        if result.status in ("ok", "partial") and result.edits:
            await self._deliver(run, result)
        elif result.status == "failed":
            self._tell(run, types.MessageType.Error, f"agentls: {result.summary}")
        elif result.status == "cancelled":
            run.note = "nothing applied"
        progress.end(_end_message(result, run.note))

    def _publish(self, run: ServerRun, result: WorkflowResult) -> None:
        by_path: dict[str, list[Any]] = {}
        reviewed = any(s.task is TaskKind.REVIEW and s.status == "ok" for s in result.steps)
        if not reviewed:
            return
        for finding in result.findings:
            by_path.setdefault(finding.path, []).append(finding)
        target = uri_to_path(run.uri)
        if target is not None:
            by_path.setdefault(str(Path(target).relative_to(run.folder)), [])
        for path, findings in by_path.items():
            full = run.folder / path
            uri = run.uri if str(full) == target else path_to_uri(str(full))
            document = self.server.workspace.get_text_document(uri)
            self.server.session.diagnostics.replace(uri, findings, document.source, run.run_id)
            self.server.publish(uri)

    async def _deliver(self, run: ServerRun, result: WorkflowResult) -> None:
        mode = self.server.session.settings.apply_mode
        support = self.server.edit_support()
        if mode == "preview" and not support.change_annotations:
            mode = "ask"
        if mode == "ask":
            choice = await self.server.ask(
                f"{run.title} proposes changes to {len({e.path for e in result.edits})} "
                "file(s). Apply them?",
                ["Apply", "Show report", "Discard"],
            )
            if choice == "Show report" and run.report_uri:
                await self.server.show_document(run.report_uri)
            if choice != "Apply":
                run.note = "not applied; the proposal stays in the run's report"
                return
        runtime = self.server.session.runtime(run.folder)
        built = build_workspace_edit(
            result,
            run.folder,
            lambda path: self._open_document(run.folder, path),
            support,
            needs_confirmation=mode == "preview",
            protected=runtime.config.settings.protected_paths,
        )
        record_refused(runtime, run.run_id, built.refused)
        if built.conflicts:
            runtime.record(
                "refused",
                run_id=run.run_id,
                reason="edit overlaps the user's typing",
                files=built.conflicts,
            )
            run.note = (
                f"not applied: {', '.join(built.conflicts)} changed where the agents worked "
                "while they ran; your text is untouched (agentls.showRun has the proposal)"
            )
            self._tell(run, types.MessageType.Warning, f"{run.title}: {run.note}")
            return
        if built.edit is None:
            run.note = "nothing to apply"
            return
        applied = await self.server.apply_edit(built.edit, run.title)
        if applied.applied:
            runtime.record("edits_applied", run_id=run.run_id, files=built.files, via="lsp")
            run.note = f"applied to {', '.join(built.files)}"
            if built.skipped:
                run.note += f" (skipped: {', '.join(built.skipped)})"
        else:
            reason = applied.failure_reason or "the editor did not apply it"
            runtime.record("refused", run_id=run.run_id, reason=f"editor: {reason}")
            run.note = f"not applied: {reason}; the proposal stays in agentls.showRun"
            self._tell(run, types.MessageType.Warning, f"{run.title}: {run.note}")

    def _tell(self, run: ServerRun, kind: types.MessageType, message: str) -> None:
        self.server.show(kind, message)
        run.told = True

    def _open_document(self, folder: Path, path: str) -> OpenDocument | None:
        target = str(folder / path)
        for document in list(self.server.workspace.text_documents.values()):
            if uri_to_path(document.uri) == target:
                return OpenDocument(document.uri, document.version, document.source)
        return None

    def _write_report(self, run: ServerRun, result: WorkflowResult) -> str:
        path = workspace_state_dir(run.folder) / "reports" / f"{run.run_id}.md"
        text = workflow_markdown(result) + (f"\n{run.note}\n" if run.note else "")
        write_private(path, redact(text).encode("utf-8"))
        return path_to_uri(str(path))

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
                "note": run.note,
            }
        )


class _Progress:
    """Work-done progress for one run, cancellable from the editor."""

    def __init__(self, server: AgentlsServer, run: ServerRun) -> None:
        self.server = server
        self.run = run
        self.token: str | None = None
        self.total = 1
        self.step = ""

    async def begin(self) -> None:
        if not get_capability(self.server.client_capabilities, "window.work_done_progress", False):
            # Without progress the start and the end are messages, or the user would see
            # nothing until an edit or a diagnostic came (e.g. Emacs 28's eglot).
            self.server.show(
                types.MessageType.Info, f"{self.run.title}: started (run {self.run.run_id})"
            )
            return
        token = f"agentls-{self.run.run_id}-{uuid.uuid4().hex[:6]}"
        try:
            await asyncio.shield(self.server.work_done_progress.create_async(token))
        except Exception:  # the client refused a token: run without progress
            return
        self.token = self.run.progress_token = token
        self.server.work_done_progress.tokens[token].add_done_callback(self._cancelled)
        self.server.work_done_progress.begin(
            token,
            types.WorkDoneProgressBegin(
                title=self.run.title, cancellable=True, message="starting", percentage=0
            ),
        )

    def _cancelled(self, future: Any) -> None:
        """``window/workDoneProgress/cancel`` from the editor stops the run."""
        if future.cancelled():
            self.run.cancel.cancel()

    def on_event(self, event: Event) -> None:
        if self.token is None:
            return
        message: str | None = None
        percentage: int | None = None
        if isinstance(event, StepStarted):
            self.total = event.total
            self.step = (
                f"iteration {event.iteration} · step {event.index}/{event.total} "
                f"{event.step} ({event.agent})"
            )
            message = self.step
            percentage = min(99, 100 * (event.index - 1) // max(event.total, 1))
        elif isinstance(event, AgentOutput):
            message = f"{self.step}: {event.line[:120]}"
        elif isinstance(event, StepFinished):
            message = f"{event.step}: {event.status}"
        elif isinstance(event, IterationFinished):
            message = f"iteration {event.iteration} done, {event.findings} findings open"
        if message is not None:
            self.server.work_done_progress.report(
                self.token, types.WorkDoneProgressReport(message=message, percentage=percentage)
            )

    def end(self, message: str) -> None:
        if self.token is not None:
            self.server.work_done_progress.end(
                self.token, types.WorkDoneProgressEnd(message=message)
            )
            self.token = None
        elif not self.run.told:
            # A result's summary names its workflow; other endings need the run's title.
            prefix = "agentls" if self.run.result is not None else self.run.title
            self.server.show(types.MessageType.Info, f"{prefix}: {message}")


def _display(folder: Path, path: str) -> str:
    """``path`` as messages name it: relative to the workspace folder when inside it."""
    return str(Path(path).relative_to(folder)) if Path(path).is_relative_to(folder) else path


def _refused_message(title: str, result: WorkflowResult) -> str:
    return f"{title}: " + "; ".join(str(r) for r in result.refused)


def _end_message(result: WorkflowResult, note: str) -> str:
    return result.summary + (f"; {note}" if note else "")
