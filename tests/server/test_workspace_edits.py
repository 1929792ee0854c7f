from __future__ import annotations

from pathlib import Path

from lsprotocol import types

from agentls.domain.results import LineRange, ProposedEdit, WorkflowResult
from agentls.server.workspace_edits import ClientEditSupport, OpenDocument, build_workspace_edit


def result(edits: list[ProposedEdit], originals: dict[str, str | None]) -> WorkflowResult:
    return WorkflowResult(
        run_id="r",
        workflow="w",
        status="ok",
        stop_reason="completed",
        edits=edits,
        originals=originals,
        summary="s",
    )


def test_creations_deletions_and_versioned_edits(tmp_path: Path) -> None:
    (tmp_path / "old.py").write_text("gone\n")
    (tmp_path / "a.py").write_text("one\ntwo\n")
    run = result(
        [
            ProposedEdit(path="a.py", range=LineRange(start=2, end=2), new_text="TWO\n"),
            ProposedEdit(path="new.py", kind="create", new_text="fresh\n"),
            ProposedEdit(path="old.py", kind="delete"),
        ],
        {"a.py": "one\ntwo\n", "new.py": None, "old.py": "gone\n"},
    )
    opened = OpenDocument((tmp_path / "a.py").as_uri(), 7, "one\ntwo\n")
    built = build_workspace_edit(
        run, tmp_path, lambda p: opened if p == "a.py" else None, ClientEditSupport()
    )
    assert built.edit is not None and not built.conflicts
    kinds = [type(c).__name__ for c in built.edit.document_changes or []]
    assert kinds == ["TextDocumentEdit", "CreateFile", "TextDocumentEdit", "DeleteFile"]
    first = (built.edit.document_changes or [])[0]
    assert isinstance(first, types.TextDocumentEdit) and first.text_document.version == 7


def test_without_document_changes_creations_are_skipped_and_said(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("one\n")
    run = result(
        [
            ProposedEdit(path="a.py", new_text="ONE\n"),
            ProposedEdit(path="b.py", kind="create", new_text="b\n"),
        ],
        {"a.py": "one\n", "b.py": None},
    )
    support = ClientEditSupport(document_changes=False, resource_operations=frozenset())
    built = build_workspace_edit(run, tmp_path, lambda p: None, support)
    assert built.edit is not None and built.edit.changes is not None
    assert list(built.edit.changes) == [(tmp_path / "a.py").as_uri()]
    assert built.skipped == ["create b.py"]


def test_a_file_changed_on_disk_is_a_conflict(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("changed by someone\n")
    run = result([ProposedEdit(path="a.py", new_text="mine\n")], {"a.py": "original\n"})
    built = build_workspace_edit(run, tmp_path, lambda p: None, ClientEditSupport())
    assert built.edit is None and built.conflicts == ["a.py"]
