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
from typing import TYPE_CHECKING, Any, Literal

from lsprotocol import types
from pygls.capabilities import get_capability

from agentls import textfile
from agentls.errors import AgentlsError, TaskInputError
from agentls.lines import line_count, to_lf
from agentls.orchestration.config import AgentlsConfig, Settings
from agentls.orchestration.conversation import follow_up, followable, proposal
from agentls.orchestration.events import (
    AgentOutput,
    Event,
    EventBus,
    IterationFinished,
    StepFinished,
    StepStarted,
)
from agentls.orchestration.history import History, workspace_state_dir
from agentls.orchestration.quick_tasks import with_task_workflow
from agentls.orchestration.report import workflow_markdown
from agentls.orchestration.results import LineRange, TaskKind, WorkflowResult
from agentls.orchestration.targets import expand
from agentls.orchestration.tasks import record_refused
from agentls.orchestration.workflow import CancelToken, WorkflowEngine, WorkflowRequest
from agentls.redaction import redact, redact_value
from agentls.server.convert import path_to_uri, uri_to_path
from agentls.server.workspace_edits import OpenDocument, build_workspace_edit
from agentls.state import write_private

if TYPE_CHECKING:
    from agentls.server.language_server import AgentlsServer

Delivery = Literal["applied", "refused", "nothing"]
"""What became of a run's edits sent to the editor ("nothing": no edit was left to send)."""


@dataclass
class ServerRun:
    run_id: str
    title: str
    uri: str
    folder: Path
    selection: LineRange | None = None
    """The lines of ``uri`` the run was asked about (None: the whole file)."""
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
    recorded: bool = False
    """Whether the history has the run (a run refused before it started has none)."""


@dataclass(frozen=True)
class RunTarget:
    uri: str
    selection: LineRange | None
    instruction: str | None
    editor_diagnostics: tuple[str, ...] = ()
    """Other tools' diagnostics in the selection, as lines of text for the prompt."""
    changed: str | None = None
    """Run on what changed since this revision (``targets.changed_files``) instead."""

    @property
    def many(self) -> bool:
        """Whether it names several files: what changed, or a folder (``uri``)."""
        path = uri_to_path(self.uri)
        return self.changed is not None or (path is not None and Path(path).is_dir())


@dataclass(frozen=True)
class RunOrigin:
    """What a run was started as, to start it again (``agentls.rerun``)."""

    target: RunTarget
    workflow: str
    quick_task: tuple[TaskKind, str] | None = None
    """The task and agent of a quick task (then ``workflow`` is its one-step workflow)."""


class RunManager:
    def __init__(self, server: AgentlsServer) -> None:
        self.server = server
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

    def follow_up(self, run_id: str, message: str) -> str:
        previous = self.runs.get(run_id)
        if previous is None:
            raise TaskInputError(f"no run {run_id!r} in this session")
        if previous.status == "running":
            raise TaskInputError(f"run {run_id} is still going; follow up once it ends")
        if not previous.recorded:
            raise TaskInputError(f"run {run_id} never started, so it has no conversation to go on")
        config = self.server.session.config(previous.folder)
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
            done = await follow_up(engine, history, run_id, message, run.cancel, buffers)
            run.recorded = True
            return done.result

        return self._launch(run, bus, work())

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
        if self.server.session.workspace_folder(self.server.workspace, target.uri) is None:
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
            files = await expand(folder, given, target.changed, cwd=folder)
            request = WorkflowRequest(
                workflow=name,
                workspace=folder,
                path=files[0],
                more_paths=tuple(files[1:]),
                instruction=target.instruction,
                buffers=buffers,
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
        folder = self.server.session.folder_for(self.server.workspace, uri)
        return folder, self.server.session.config(folder)

    def _engine(
        self, folder: Path, config: AgentlsConfig, use_cache: bool = True
    ) -> tuple[WorkflowEngine, EventBus]:
        bus = EventBus()
        runtime = self.server.session.runtime(folder)
        if not use_cache:
            runtime = runtime.fresh()
        return WorkflowEngine(config, bus, runtime=runtime), bus

    def _buffers(self, folder: Path) -> dict[str, str]:
        """The editor's text of every open document in ``folder``, saved or not, with
        ``\n`` line endings as agentls holds texts (edits go back in the document's own)."""
        buffers = {}
        for document in list(self.server.workspace.text_documents.values()):
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
        if run.note:
            self._write_report(run, result)  # with what became of the edits
        progress.end(_end_message(result, run.note))

    def _publish(self, run: ServerRun, result: WorkflowResult) -> None:
        by_path: dict[str, list[Any]] = {}
        reviewers = {
            s.agent for s in result.steps if s.task is TaskKind.REVIEW and s.status == "ok"
        }
        if not reviewers:
            return
        for finding in result.findings:
            by_path.setdefault(finding.path, []).append(finding)
        target = uri_to_path(run.uri)
        for path in result.files:  # a reviewed file without findings has none left
            by_path.setdefault(path, [])
        for path, findings in by_path.items():
            full = run.folder / path
            uri = run.uri if str(full) == target else path_to_uri(str(full))
            document = self.server.workspace.get_text_document(uri)
            reviewed = run.selection if uri == run.uri else None
            self.server.session.diagnostics.replace(
                uri,
                findings,
                document.source,
                run.run_id,
                reviewers,
                reviewed,
                cached=result.cached_reviewers,
            )
            self.server.publish(uri)

    async def _deliver(self, run: ServerRun, result: WorkflowResult) -> None:
        mode = self.server.session.settings.apply_mode
        if mode == "preview" and not self.server.edit_support().change_annotations:
            mode = "ask"
        if mode == "ask" and not await self._confirmed(run, result):
            run.note = f"not applied; {_apply_later(run.run_id)}"
            return
        if await self._send(run, result, preview=mode == "preview") == "refused":
            self._warn_without_progress(run)

    async def _confirmed(self, run: ServerRun, result: WorkflowResult) -> bool:
        """Whether the user wants the edits (applyMode "ask"); after Show report, asked again."""
        question = (
            f"{run.title} proposes changes to {len({e.path for e in result.edits})} "
            "file(s). Apply them?"
        )
        choice = await self.server.ask(question, ["Apply", "Show report", "Discard"])
        if choice == "Show report" and run.report_uri:
            await self.server.show_document(run.report_uri)
            choice = await self.server.ask(question, ["Apply", "Discard"])
        return choice == "Apply"

    async def _send(self, run: ServerRun, result: WorkflowResult, preview: bool) -> Delivery:
        """Send the edits to the editor as one edit; ``run.note`` says what became of them."""
        runtime = self.server.session.runtime(run.folder)
        built = build_workspace_edit(
            result,
            run.folder,
            lambda path: self._open_document(run.folder, path),
            self.server.edit_support(),
            needs_confirmation=preview,
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
                f"not applied: {', '.join(built.conflicts)} changed where the agents worked; "
                "your text is untouched and the proposal stays in the run's report"
            )
            return "refused"
        if built.edit is None:
            run.note = "nothing to apply"
            return "nothing"
        applied = await self.server.apply_edit(built.edit, run.title)
        if not applied.applied:
            # VS Code gives no reason when the user discards its refactor preview.
            reason = applied.failure_reason
            runtime.record("refused", run_id=run.run_id, reason=f"editor: {reason or 'declined'}")
            run.note = f"not applied{f': {reason}' if reason else ''}; {_apply_later(run.run_id)}"
            return "refused"
        runtime.record("edits_applied", run_id=run.run_id, files=built.files, via="lsp")
        run.note = f"applied to {', '.join(built.files)}"
        if built.skipped:
            run.note += f" (skipped: {', '.join(built.skipped)})"
        return "applied"

    def _warn_without_progress(self, run: ServerRun) -> None:
        """Tell ``run.note`` as a warning, unless the run's progress is going: its end message
        says it then (once: the editor shows that)."""
        if run.progress_token is None:
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
                "applicable": result is not None and self._applicable(run, result),
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
                    "note": run.note,
                    "uri": run.uri,
                    "followable": self._followable(run),
                    "applicable": result is not None and self._applicable(run, result),
                }
            )
        return redact_value(listed)

    def _followable(self, run: ServerRun) -> bool:
        if run.status == "running" or not run.recorded:
            return False
        try:
            info = History(run.folder).run(run.run_id)
        except AgentlsError:
            return False
        return followable(self.server.session.config(run.folder), info)

    def _applicable(self, run: ServerRun, result: WorkflowResult) -> bool:
        """Whether the run proposes edits that its files do not hold yet."""
        return (
            run.status != "running"
            and result.status in ("ok", "partial")
            and bool(result.edits)
            and not self._holds(run, proposal(result))
        )

    def _holds(self, run: ServerRun, texts: Mapping[str, str | None]) -> bool:
        """Whether every file has its text of ``texts`` (in the editor, else on disk)."""
        for path, text in texts.items():
            document = self._open_document(run.folder, path)
            if document is not None:
                current: str | None = document.text
            else:
                try:
                    current = textfile.read_text(run.folder / path, path)
                except (OSError, AgentlsError):
                    return False
            if current != text:
                return False
        return True

    async def apply_run(self, run_id: str) -> dict[str, Any]:
        """Apply a finished run's proposal that was not applied (declined, discarded in a
        preview, refused), without running the agents again."""
        run = self.runs.get(run_id)
        if run is None:
            raise TaskInputError(f"no run {run_id!r} in this session")
        if run.status == "running":
            raise TaskInputError(f"run {run_id} is still going; apply it once it ends")
        result = self._result(run)
        if result is None or result.status not in ("ok", "partial") or not result.edits:
            raise TaskInputError(f"run {run_id} has no changes to apply")
        if self._holds(run, proposal(result)):
            raise TaskInputError(f"run {run_id} is applied already")
        delivered = await self._send(run, result, preview=False)
        self._write_report(run, result)
        if delivered != "applied":
            raise TaskInputError(f"{run.title}: {run.note}")
        return {"applied": True, "note": run.note}


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
            cached = event.result is not None and event.result.cached
            message = f"{event.step}: {event.status}" + (" (cached)" if cached else "")
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


def _apply_later(run_id: str) -> str:
    return (
        f"Apply run (in a terminal: `agentls apply {run_id}`) applies it while its files are "
        "unchanged"
    )


def _end_message(result: WorkflowResult, note: str) -> str:
    return result.summary + _cached_note(result) + (f"; {note}" if note else "")


def _cached_note(result: WorkflowResult) -> str:
    agents = sorted({record.agent for record in result.cached_steps})
    return f"; cached answer of {', '.join(agents)}" if agents else ""
