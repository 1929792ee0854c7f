"""A run's result delivered to the editor: findings published as diagnostics, edits sent as
one versioned, labelled ``workspace/applyEdit`` as the apply mode says (at once, after a
question, or in the editor's preview), the report written, the user told."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

from lsprotocol import types

from agentls.domain import textfile
from agentls.domain.errors import AgentlsError
from agentls.domain.lines import to_lf
from agentls.domain.locations import workspace_state_dir
from agentls.domain.results import TaskKind, WorkflowResult
from agentls.orchestration.report import workflow_markdown
from agentls.orchestration.tasks import record_refused
from agentls.redaction import redact
from agentls.server.client import Client
from agentls.server.convert import path_to_uri, uri_to_path
from agentls.server.run import ServerRun
from agentls.server.session import Session
from agentls.server.workspace_edits import OpenDocument, build_workspace_edit
from agentls.state import write_private

Delivered = Literal["applied", "refused", "nothing"]
"""What became of a run's edits sent to the editor ("nothing": no edit was left to send)."""


def publish_diagnostics(session: Session, client: Client, uri: str) -> None:
    """Send the findings and the pending proposed changes the session holds for ``uri``."""
    client.publish(uri, session.diagnostics.diagnostics(uri) + session.proposals.diagnostics(uri))


Applied = Callable[[ServerRun, WorkflowResult, dict[str, str | None]], None]
"""Told of a run's edits the editor applied, with each file's text just before."""


class Delivery:
    def __init__(self, session: Session, client: Client, on_applied: Applied) -> None:
        self.session = session
        self.client = client
        self.on_applied = on_applied

    def tell(self, run: ServerRun, kind: types.MessageType, message: str) -> None:
        self.client.show(kind, message)
        run.told = True

    def publish(self, run: ServerRun, result: WorkflowResult) -> None:
        """The findings of the run's reviewers as diagnostics, per file; a reviewed file
        without findings has none left."""
        reviewers = {
            s.agent for s in result.steps if s.task is TaskKind.REVIEW and s.status == "ok"
        }
        if not reviewers:
            return
        by_path: dict[str, list[Any]] = {}
        for finding in result.findings:
            by_path.setdefault(finding.path, []).append(finding)
        target = uri_to_path(run.uri)
        for path in result.files:
            by_path.setdefault(path, [])
        for path, findings in by_path.items():
            full = run.folder / path
            uri = run.uri if str(full) == target else path_to_uri(str(full))
            document = self.client.document(uri)
            reviewed = run.selection if uri == run.uri else None
            self.session.diagnostics.replace(
                uri,
                findings,
                document.source,
                run.run_id,
                reviewers,
                reviewed,
                cached=result.cached_reviewers,
                related_information=self.client.capabilities.related_information,
            )
            publish_diagnostics(self.session, self.client, uri)

    async def deliver(self, run: ServerRun, result: WorkflowResult) -> None:
        """The run's edits, as the apply mode says."""
        mode = self.session.settings.apply_mode
        if mode == "preview" and not self.client.capabilities.edits.change_annotations:
            mode = "ask"
        if mode == "ask" and not await self._confirmed(run, result):
            run.note = f"not applied; {apply_later(run.run_id)}"
            return
        if await self.send(run, result, preview=mode == "preview") == "refused":
            self._warn_without_progress(run)

    async def _confirmed(self, run: ServerRun, result: WorkflowResult) -> bool:
        """Whether the user wants the edits (applyMode "ask"); after Show report, asked again."""
        question = (
            f"{run.title} proposes changes to {len({e.path for e in result.edits})} "
            "file(s). Apply them?"
        )
        choice = await self.client.ask(question, ["Apply", "Show report", "Discard"])
        if choice == "Show report" and run.report_uri:
            await self.client.show_document(run.report_uri)
            choice = await self.client.ask(question, ["Apply", "Discard"])
        return choice == "Apply"

    async def send(self, run: ServerRun, result: WorkflowResult, preview: bool) -> Delivered:
        """Send the edits to the editor as one edit; ``run.note`` says what became of them."""
        runtime = self.session.runtime(run.folder)
        built = build_workspace_edit(
            result,
            run.folder,
            lambda path: self.open_document(run.folder, path),
            self.client.capabilities.edits,
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
        before = {path: self.current_text(run.folder, path) for path in built.files}
        applied = await self.client.apply_edit(built.edit, run.title)
        if not applied.applied:
            # VS Code gives no reason when the user discards its refactor preview.
            reason = applied.failure_reason
            runtime.record("refused", run_id=run.run_id, reason=f"editor: {reason or 'declined'}")
            run.note = f"not applied{f': {reason}' if reason else ''}; {apply_later(run.run_id)}"
            return "refused"
        runtime.record("edits_applied", run_id=run.run_id, files=built.files, via="lsp")
        applied_part = result.model_copy(
            update={"edits": [e for e in result.edits if e.path in built.files]}
        )
        self.on_applied(run, applied_part, before)
        run.note = f"applied to {', '.join(built.files)}"
        if built.skipped:
            run.note += f" (skipped: {', '.join(built.skipped)})"
        return "applied"

    def _warn_without_progress(self, run: ServerRun) -> None:
        """Tell ``run.note`` as a warning, unless the run's progress is going: its end message
        says it then (once: the editor shows that)."""
        if run.progress_token is None:
            self.tell(run, types.MessageType.Warning, f"{run.title}: {run.note}")

    def open_document(self, folder: Path, path: str) -> OpenDocument | None:
        target = str(folder / path)
        for document in self.client.documents():
            if uri_to_path(document.uri) == target:
                return OpenDocument(document.uri, document.version, document.source)
        return None

    def current_text(self, folder: Path, path: str) -> str | None:
        """The file's text with ``\n`` endings: the editor's, else the disk's."""
        document = self.open_document(folder, path)
        if document is not None:
            return to_lf(document.text)
        text = textfile.text_or_none(folder / path)
        return None if text is None else to_lf(text)

    def holds(self, run: ServerRun, texts: Mapping[str, str | None]) -> bool:
        """Whether every file has its text of ``texts`` (in the editor, else on disk)."""
        for path, text in texts.items():
            document = self.open_document(run.folder, path)
            if document is not None:
                current: str | None = document.text
            else:
                try:
                    current = textfile.read_text(run.folder / path, path)
                except (OSError, AgentlsError):  # there, but not text: not what was proposed
                    return False
            if current != text:
                return False
        return True

    def write_report(self, run: ServerRun, result: WorkflowResult) -> str:
        path = workspace_state_dir(run.folder) / "reports" / f"{run.run_id}.md"
        text = workflow_markdown(result) + (f"\n{run.note}\n" if run.note else "")
        write_private(path, redact(text).encode("utf-8"))
        return path_to_uri(str(path))


def apply_later(run_id: str) -> str:
    return (
        f"Apply run (in a terminal: `agentls apply {run_id}`) applies it while its files are "
        "unchanged"
    )
