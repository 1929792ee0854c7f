"""Reviewing a proposal hunk by hunk in the editor: accept, reject (with a reason), undo.

Every decision is one ``workspace/applyEdit`` at most, built from where the hunks lie in the
text as it is now (``proposals``): a hunk whose lines the user changed is stale and never
applied. Decisions go to the history, where a follow-up reads them (the agent is told what was
accepted and what was rejected, and why), and to the audit log.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lsprotocol import types

from agentls.domain import textfile
from agentls.domain.errors import AgentlsError, TaskInputError
from agentls.domain.lines import lsp_lines, newline_of, to_lf, with_newline
from agentls.domain.paths import screen_edits
from agentls.domain.proposals import Decision, Hunk, HunkState, Review, hunks_of
from agentls.domain.results import LineRange, ProposedEdit, WorkflowResult
from agentls.orchestration.history import History
from agentls.orchestration.tasks import record_refused
from agentls.server.client import Client
from agentls.server.convert import path_to_uri, text_edit, uri_to_path
from agentls.server.delivery import publish_diagnostics
from agentls.server.proposals import (
    ProposalStore,
    RunProposal,
    TrackedFile,
    TrackedHunk,
    hunk_range,
    place,
    with_hunks,
)
from agentls.server.run import ServerRun
from agentls.server.session import Session

REASONS = ["Wrong", "Not needed", "Breaks something", "Style", "No reason"]
"""What the editor's message box offers as a rejection's reason (editors that can read text
pass the user's own)."""

Refine = Callable[[str, str, str], str]
"""Starts a refine of run ``run_id`` by ``agent`` with ``message``; its run id."""


@dataclass
class _Saved:
    """A file's place-keeping before an edit is sent, to put back if the editor refuses it."""

    file: TrackedFile
    text: str | None
    hunks: list[tuple[TrackedHunk, HunkState, int, int]]

    @classmethod
    def of(cls, file: TrackedFile) -> _Saved:
        return cls(file, file.text, [(t, t.state, t.start, t.length) for t in file.hunks])

    def restore(self) -> None:
        self.file.text = self.text
        for tracked, state, start, length in self.hunks:
            tracked.state, tracked.start, tracked.length = state, start, length


class Reviews:
    def __init__(self, session: Session, client: Client, refine: Refine) -> None:
        self.session = session
        self.client = client
        self.refine = refine

    @property
    def store(self) -> ProposalStore:
        return self.session.proposals

    # -- proposing -----------------------------------------------------------------------

    def propose(self, run: ServerRun, result: WorkflowResult, on_reject: str | None) -> str:
        """Keep the run's edits as a proposal under review and show its hunks; what to tell
        the user."""
        proposal = self._proposal(run, result)
        proposal.on_reject = on_reject
        self._show(self.store.add(proposal))
        pending = proposal.count(HunkState.PENDING)
        files = len({file.path for file, t in proposal.hunks() if t.state is HunkState.PENDING})
        stale = proposal.count(HunkState.STALE)
        if not proposal.files:
            return "nothing to review"
        if not pending:
            return "nothing to review: you changed every line the proposal changes"
        note = (
            f"{pending} change{'s' if pending > 1 else ''} proposed in {files} "
            f"file{'s' if files > 1 else ''}: review them (code actions or lenses on each)"
        )
        return note + (f"; {stale} left out: you changed those lines meanwhile" if stale else "")

    def applied(
        self, run: ServerRun, result: WorkflowResult, before: dict[str, str | None]
    ) -> None:
        """The run's edits were applied as one edit (``before``: each file's text just before
        it, by path): keep them as accepted hunks, so that the run can be undone."""
        proposal = self._proposal(run, result, texts=before)
        for file in proposal.files.values():
            placed = [t for t in file.hunks if t.state is HunkState.PENDING]
            if placed and placed[0].hunk.kind == "delete":
                file.text = None
            else:
                file.splice([(t, t.hunk.new_text) for t in placed])
            for tracked in placed:
                tracked.state = HunkState.ACCEPTED
        self.store.add(proposal)

    def _proposal(
        self, run: ServerRun, result: WorkflowResult, texts: dict[str, str | None] | None = None
    ) -> RunProposal:
        """The run's hunks placed in the files' texts (``texts`` by path, else as they are
        now); edits of paths agent output may not change are left out."""
        runtime = self.session.runtime(run.folder)
        allowed, refused = screen_edits(
            run.folder, result.edits, runtime.config.settings.protected_paths
        )
        if texts is None:
            record_refused(runtime, run.run_id, refused)
        screened = result.model_copy(update={"edits": allowed})
        proposal = RunProposal(run.run_id, run.turn, run.title, run.folder)
        by_path: dict[str, list[Hunk]] = {}
        for hunk in hunks_of(screened):
            by_path.setdefault(hunk.path, []).append(hunk)
        for path, hunks in by_path.items():
            uri = self._uri(run.folder, path)
            current = texts.get(path) if texts is not None else self._text(uri)
            place(proposal, uri, hunks, screened.originals.get(path), current)
        return proposal

    # -- deciding ------------------------------------------------------------------------

    async def accept(
        self, run_id: str, ids: list[str] | None = None, uri: str | None = None
    ) -> dict[str, Any]:
        proposal = self._get(run_id)
        chosen = self._chosen(proposal, ids, uri)
        pending = [(f, t) for f, t in chosen if t.state is HunkState.PENDING]
        stale = [t.id for _, t in chosen if t.state is HunkState.STALE]
        if not pending:
            raise TaskInputError(_nothing(run_id, "accept", stale))
        edit, saved = self._edit(pending, lambda t: t.hunk.new_text, HunkState.ACCEPTED)
        applied = await self.client.apply_edit(edit, f"{proposal.title}: accept")
        if not applied.applied:
            for each in saved:
                each.restore()
            reason = applied.failure_reason or "the editor declined it"
            raise TaskInputError(f"not applied: {reason}")
        accepted = [t.id for _, t in pending]
        self._decided(proposal, "accepted", accepted)
        note = f"accepted {len(accepted)} change{'s' if len(accepted) > 1 else ''}"
        if stale:
            note += f"; {', '.join(stale)} stale: you changed those lines"
        return {"accepted": accepted, "stale": stale, "note": note}

    async def reject(
        self,
        run_id: str,
        ids: list[str] | None = None,
        uri: str | None = None,
        reason: str | None = None,
    ) -> dict[str, Any]:
        """``reason``: the user's (None: ask them)."""
        proposal = self._get(run_id)
        chosen = self._chosen(proposal, ids, uri)
        pending = [t for _, t in chosen if t.state is HunkState.PENDING]
        if not pending:
            stale = [t.id for _, t in chosen if t.state is HunkState.STALE]
            raise TaskInputError(_nothing(run_id, "reject", stale))
        if reason is None:
            which = "this change" if len(pending) == 1 else f"these {len(pending)} changes"
            answer = await self.client.ask(
                f"agentls: why reject {which}? The agent is told in a follow-up.", REASONS
            )
            if answer is None:
                return {"rejected": [], "note": "nothing rejected"}
            reason = None if answer == REASONS[-1] else answer
        for tracked in pending:
            if tracked.state is HunkState.PENDING:  # not decided while the user was asked
                tracked.state = HunkState.REJECTED
                tracked.feedback = (reason.strip() or None) if reason else None
        rejected = [t.id for t in pending]
        self._decided(proposal, "rejected", rejected)
        return {"rejected": rejected, "note": f"rejected {', '.join(rejected)}"}

    async def undo(self, run_id: str) -> dict[str, Any]:
        """Reverse the run's accepted changes onto the text as it is now (the user's later
        edits elsewhere stay); refused when they changed the same lines."""
        proposal = self.store.get(run_id)
        if proposal is None or not proposal.count(HunkState.ACCEPTED):
            raise TaskInputError(
                f"run {run_id} has nothing applied to undo in this editor session; what the CLI "
                f"wrote, `agentls undo {run_id}` undoes in a terminal"
            )
        accepted = [
            (f, t) for f, t in self._sync(proposal.hunks()) if t.state is HunkState.ACCEPTED
        ]
        touched = [(f, t) for f, t in accepted if t.touched and not t.intact(f.text)]
        if touched:
            where = "; ".join(f"{f.path}: {t.lines()}" for f, t in touched)
            raise TaskInputError(f"{where} changed since agentls wrote them; nothing was undone")
        edit, saved = self._edit(accepted, lambda t: t.hunk.old_text, HunkState.UNDONE)
        applied = await self.client.apply_edit(edit, f"{proposal.title}: undo")
        if not applied.applied:
            for each in saved:
                each.restore()
            raise TaskInputError(f"not undone: {applied.failure_reason or 'the editor declined'}")
        paths = sorted({f.path for f, _ in accepted})
        self._decided(proposal, "undone", [t.id for _, t in accepted])
        return {"undone": paths, "note": f"undone in {', '.join(paths)}"}

    # -- showing -------------------------------------------------------------------------

    def describe(self, run_id: str) -> dict[str, Any]:
        proposal = self._get(run_id)
        self._sync(proposal.hunks())
        files = []
        for file in proposal.files.values():
            lines = lsp_lines(file.text or "")
            pending = [(t, t.hunk.new_text) for t in file.hunks if t.state is HunkState.PENDING]
            proposed = with_hunks(file.text, pending) if pending else file.text
            if proposed is not None:  # in the document's own line endings, for a diff view
                proposed = with_newline(proposed, newline_of(self._source(file.uri)))
            files.append(
                {
                    "uri": file.uri,
                    "path": file.path,
                    "proposedText": proposed,
                    "hunks": [_hunk(t, lines) for t in file.hunks],
                }
            )
        return {"runId": run_id, "title": proposal.title, "state": proposal.state,
                "files": files}  # fmt: skip

    def note(self, run_id: str) -> str | None:
        """What became of the run's changes so far, e.g. ``1 accepted, 1 rejected``."""
        proposal = self.store.get(run_id)
        if proposal is None:
            return None
        counts = [(proposal.count(state), state.value) for state in HunkState]
        return ", ".join(f"{count} {state}" for count, state in counts if count) or None

    def counts(self, run_id: str) -> dict[str, int] | None:
        proposal = self.store.get(run_id)
        if proposal is None:
            return None
        return {state.value: proposal.count(state) for state in HunkState}

    # -- the parts -----------------------------------------------------------------------

    def _get(self, run_id: str) -> RunProposal:
        proposal = self.store.get(run_id)
        if proposal is None:
            raise TaskInputError(
                f"run {run_id!r} has no proposal to review in this session; agentls.listRuns "
                "lists this session's runs and their states"
            )
        return proposal

    def _chosen(
        self, proposal: RunProposal, ids: list[str] | None, uri: str | None
    ) -> list[tuple[TrackedFile, TrackedHunk]]:
        chosen = proposal.select(ids, uri)
        if ids is not None:
            unknown = sorted(set(ids) - {t.id for _, t in chosen})
            if unknown:
                raise TaskInputError(
                    f"run {proposal.run_id} has no change {', '.join(unknown)}"
                    f"{' in ' + uri if uri else ''}"
                )
        return self._sync(chosen)

    def _sync(
        self, chosen: Iterable[tuple[TrackedFile, TrackedHunk]]
    ) -> list[tuple[TrackedFile, TrackedHunk]]:
        """``chosen`` after their files follow the text as it is now (in the editor, else on
        disk: a file can change outside the editor)."""
        chosen = list(chosen)
        files = {file.uri: file for file, _ in chosen}
        self._show([uri for uri, file in files.items() if file.follow(self._text(uri))])
        return chosen

    def _edit(
        self,
        chosen: list[tuple[TrackedFile, TrackedHunk]],
        text_of: Callable[[TrackedHunk], str],
        state: HunkState,
    ) -> tuple[types.WorkspaceEdit, list[_Saved]]:
        """One edit that puts ``text_of(hunk)`` in each chosen hunk's lines; the hunks are
        moved to ``state`` here first, as the editor will have them (``_Saved`` undoes that)."""
        support = self.client.capabilities.edits
        label = _label(chosen, state) if support.change_annotations else None
        by_file: dict[str, list[TrackedHunk]] = {}
        files: dict[str, TrackedFile] = {}
        for file, tracked in chosen:
            by_file.setdefault(file.uri, []).append(tracked)
            files[file.uri] = file
        changes: list[Any] = []
        plain: dict[str, list[types.TextEdit]] = {}
        saved = [_Saved.of(file) for file in files.values()]
        for uri, hunks in by_file.items():
            file = files[uri]
            source = self._source(uri)
            creates = file.text is None
            deletes = state is HunkState.ACCEPTED and hunks[0].hunk.kind == "delete"
            deletes = deletes or (state is HunkState.UNDONE and hunks[0].hunk.kind == "create")
            if (creates or deletes) and not {"create", "delete"} & support.resource_operations:
                raise TaskInputError(
                    f"{file.path}: this editor cannot create or delete files; in a terminal, "
                    "`agentls apply RUN` can"
                )
            if deletes:
                changes.append(types.DeleteFile(uri=uri))
                file.text = None
                for tracked in hunks:
                    tracked.state = state
                continue
            if creates:
                changes.append(types.CreateFile(uri=uri))
                source = ""
            edits = [
                text_edit(source, ProposedEdit(path=file.path, range=_lines(t), new_text=text))
                for t in hunks
                if (text := text_of(t)) is not None
            ]
            annotated = [_annotated(edit) for edit in edits] if label else edits
            file.splice([(t, text_of(t)) for t in hunks])
            for tracked in hunks:
                tracked.state = state
            version = None if creates else self.client.document(uri).version
            changes.append(
                types.TextDocumentEdit(
                    text_document=types.OptionalVersionedTextDocumentIdentifier(
                        uri=uri, version=version
                    ),
                    edits=list(annotated),
                )
            )
            plain[uri] = edits
        if support.document_changes:
            annotations = None
            if label:
                annotations = {ANNOTATION: types.ChangeAnnotation(label=label)}
            return types.WorkspaceEdit(
                document_changes=changes, change_annotations=annotations
            ), saved
        return types.WorkspaceEdit(changes=plain), saved

    def _decided(self, proposal: RunProposal, what: str, ids: list[str]) -> None:
        """Record, show and act on the decisions just made."""
        runtime = self.session.runtime(proposal.folder)
        runtime.record("review", run_id=proposal.run_id, decision=what, hunks=ids)
        review = Review(
            decisions=[
                Decision(
                    hunk=t.id, path=t.hunk.path, range=t.hunk.range, agent=t.hunk.agent,
                    state=t.state, reason=t.feedback, summary=t.hunk.reason,
                )
                for _, t in proposal.hunks()
                if t.turn == proposal.turn and t.state in (HunkState.ACCEPTED, HunkState.REJECTED)
            ]
        )  # fmt: skip
        try:
            History(proposal.folder).record_review(proposal.run_id, proposal.turn, review)
        except (AgentlsError, OSError) as error:
            self.client.show(
                types.MessageType.Warning, f"agentls: the review was not recorded: {error}"
            )
        self._show(list(proposal.files))
        if what == "rejected" or what == "accepted":
            self._maybe_refine(proposal, review)

    def _maybe_refine(self, proposal: RunProposal, review: Review) -> None:
        """``on_reject: refine``: once nothing is pending and something was rejected."""
        if proposal.on_reject != "refine" or proposal.count(HunkState.PENDING):
            return
        rejected = review.rejected
        if not rejected:
            return
        agent = rejected[-1].agent
        if agent is None:
            return
        proposal.on_reject = None  # once per proposal
        message = "Refine your proposal: the user rejected some of your changes (see above)."
        try:
            self.refine(proposal.run_id, agent, message)
        except AgentlsError as error:
            self.client.show(types.MessageType.Warning, f"agentls: no refine: {error}")

    def _show(self, uris: Iterable[str]) -> None:
        for uri in uris:
            publish_diagnostics(self.session, self.client, uri)
        self.client.refresh_code_lenses()

    def _uri(self, folder: Path, path: str) -> str:
        target = str(folder / path)
        for document in self.client.documents():
            if uri_to_path(document.uri) == target:
                return document.uri
        return path_to_uri(target)

    def _text(self, uri: str) -> str | None:
        """The file's text with ``\\n`` endings: the editor's, else the disk's."""
        source = self._open_source(uri)
        if source is not None:
            return to_lf(source)
        path = uri_to_path(uri)
        text = textfile.text_or_none(Path(path)) if path else None
        return None if text is None else to_lf(text)

    def _source(self, uri: str) -> str:
        """The text edits are measured in: the editor's document, else the file on disk."""
        source = self._open_source(uri)
        if source is not None:
            return source
        path = uri_to_path(uri)
        return (textfile.text_or_none(Path(path)) if path else None) or ""

    def _open_source(self, uri: str) -> str | None:
        document = self.client.workspace.text_documents.get(uri)
        return None if document is None else document.source


ANNOTATION = "agentls-review"


def _label(chosen: list[tuple[TrackedFile, TrackedHunk]], state: HunkState) -> str:
    """What the editor's undo history calls the edit: ``agentls: accept codex's change``."""
    agents = sorted({t.hunk.agent or "agentls" for _, t in chosen})
    verb = "accept" if state is HunkState.ACCEPTED else "undo"
    plural = "changes" if len(chosen) > 1 else "change"
    return f"agentls: {verb} {' and '.join(agents)}'s {plural}"


def _annotated(edit: types.TextEdit) -> types.AnnotatedTextEdit:
    return types.AnnotatedTextEdit(
        range=edit.range, new_text=edit.new_text, annotation_id=ANNOTATION
    )


def _lines(tracked: TrackedHunk) -> LineRange:
    return LineRange(start=tracked.start + 1, end=tracked.start + tracked.length)


def _nothing(run_id: str, verb: str, stale: list[str]) -> str:
    if stale:
        return (
            f"nothing to {verb}: {', '.join(stale)} went stale (you changed those lines); "
            f"a follow-up on run {run_id} can redo them"
        )
    return f"run {run_id} has no pending change to {verb} there"


def _hunk(tracked: TrackedHunk, lines: list[str]) -> dict[str, Any]:
    hunk = tracked.hunk
    placed = tracked.live
    return {
        "id": hunk.id,
        "state": tracked.state.value,
        "kind": hunk.kind,
        "range": hunk_range(tracked, lines) if placed else None,
        "oldText": hunk.old_text,
        "newText": hunk.new_text,
        "agent": hunk.agent,
        "step": hunk.step,
        "reason": hunk.reason,
        "feedback": tracked.feedback,
    }
