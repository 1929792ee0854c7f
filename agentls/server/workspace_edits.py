"""A run's proposed edits as one versioned WorkspaceEdit, rebased onto what the user typed.

Edits were computed against each file's text when the run started. An open document that the
user changed since gets the edits moved onto its new text when no change overlaps them, and
otherwise nothing is applied at all: the user's keystrokes win and the proposal stays in the
run's report.

A preview (applyMode "preview") is for VS Code's refactor preview, which opens when any change
of an edit needs confirmation, and shows each change that needs it unticked (its bulk edit
preview starts with ``checked.updateChecked(edit, !edit.metadata?.needsConfirmation)``), so
Apply would apply nothing. The changes themselves are therefore annotated without needing
confirmation, and one no-op change that needs it opens the preview: a "soft" create
(``ignoreIfExists``) of a file that exists, which the preview leaves out of its list and
Apply leaves out of the edit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lsprotocol import types

from agentls.domain import textfile
from agentls.domain.edits import by_file, deletes
from agentls.domain.paths import screen_edits
from agentls.domain.rebase import rebase
from agentls.domain.results import ProposedEdit, RefusedPath, WorkflowResult
from agentls.server.client import ClientEditSupport
from agentls.server.convert import path_to_uri, text_edit

ANNOTATION_ID = "agentls"
CONFIRM_ID = "agentls-preview"


@dataclass(frozen=True)
class OpenDocument:
    uri: str
    version: int | None
    text: str


@dataclass
class BuiltEdit:
    edit: types.WorkspaceEdit | None = None
    files: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    """Files the user changed where the proposal overlaps the change (nothing is applied)."""
    skipped: list[str] = field(default_factory=list)
    """Creations or deletions the client cannot do."""
    refused: list[RefusedPath] = field(default_factory=list)
    """Paths agent output may not change, left out (the workflow already refuses them)."""


def build_workspace_edit(
    result: WorkflowResult,
    workspace: Path,
    open_document: Callable[[str], OpenDocument | None],
    support: ClientEditSupport,
    needs_confirmation: bool = False,
    protected: Sequence[str] = (),
) -> BuiltEdit:
    """``open_document(path)`` gives the editor's document for a workspace path, if open;
    ``protected``: the user's ``settings.protected_paths``."""
    built = BuiltEdit()
    allowed, built.refused = screen_edits(workspace, result.edits, protected)
    document_changes: list[
        types.TextDocumentEdit | types.CreateFile | types.RenameFile | types.DeleteFile
    ] = []
    changes: dict[str, list[types.TextEdit]] = {}
    annotation = ANNOTATION_ID if needs_confirmation and support.change_annotations else None
    for path, edits in by_file(allowed).items():
        uri = path_to_uri(str(workspace / path))
        base = result.originals.get(path)
        document = open_document(path)
        current = document.text if document is not None else textfile.text_or_none(workspace / path)
        version = document.version if document is not None else None
        if document is not None:
            uri = document.uri
        if deletes(edits):
            if "delete" not in support.resource_operations or not support.document_changes:
                built.skipped.append(f"delete {path}")
                continue
            document_changes.append(types.DeleteFile(uri=uri, annotation_id=annotation))
            built.files.append(path)
            continue
        if base is None:  # a new file
            if current is not None:
                built.conflicts.append(path)
                continue
            if "create" not in support.resource_operations or not support.document_changes:
                built.skipped.append(f"create {path}")
                continue
            document_changes.append(types.CreateFile(uri=uri, annotation_id=annotation))
            text_edits = [_text_edit("", edit, annotation) for edit in edits]
            document_changes.append(_document_edit(uri, None, text_edits))
            built.files.append(path)
            continue
        if current is None:
            built.conflicts.append(path)
            continue
        moved = rebase(base, current, edits)
        if moved is None:
            built.conflicts.append(path)
            continue
        text_edits = [_text_edit(current, edit, annotation) for edit in moved]
        document_changes.append(_document_edit(uri, version, text_edits))
        changes[uri] = [text_edit(current, edit) for edit in moved]
        built.files.append(path)
    if built.conflicts or not built.files:
        return built
    if support.document_changes:
        annotations = None
        if annotation:
            opener = _preview_opener(workspace, built.files, support)
            annotations = {
                ANNOTATION_ID: types.ChangeAnnotation(
                    label=f"agentls: {result.workflow}",
                    needs_confirmation=opener is None,
                    description=result.summary,
                )
            }
            if opener is not None:
                document_changes.insert(0, opener)
                annotations[CONFIRM_ID] = types.ChangeAnnotation(
                    label="agentls: preview", needs_confirmation=True
                )
        built.edit = types.WorkspaceEdit(
            document_changes=document_changes, change_annotations=annotations
        )
    else:
        built.edit = types.WorkspaceEdit(changes=changes)
    return built


def _preview_opener(
    workspace: Path, files: list[str], support: ClientEditSupport
) -> types.CreateFile | None:
    """The no-op change that opens the preview with every change ticked (see the module's
    docstring), or None when the client cannot take it: then every change needs
    confirmation."""
    if "create" not in support.resource_operations:
        return None
    existing = next((path for path in files if (workspace / path).is_file()), None)
    if existing is None:
        return None
    return types.CreateFile(
        uri=path_to_uri(str(workspace / existing)),
        options=types.CreateFileOptions(ignore_if_exists=True),
        annotation_id=CONFIRM_ID,
    )


def _text_edit(
    text: str, edit: ProposedEdit, annotation: str | None
) -> types.TextEdit | types.AnnotatedTextEdit:
    plain = text_edit(text, edit)
    if annotation is None:
        return plain
    return types.AnnotatedTextEdit(
        range=plain.range, new_text=plain.new_text, annotation_id=annotation
    )


def _document_edit(
    uri: str, version: int | None, edits: list[types.TextEdit | types.AnnotatedTextEdit]
) -> types.TextDocumentEdit:
    return types.TextDocumentEdit(
        text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version),
        edits=list(edits),
    )
