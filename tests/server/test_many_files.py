"""Runs on several files from the editor: a folder, what changed (issue 13, targets)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pygls.exceptions import JsonRpcException

from tests.conftest import git
from tests.server.conftest import Editor


@pytest.fixture
def repository(editor: Editor) -> Path:
    root = editor.workspace
    (root / "pkg").mkdir()
    (root / "pkg" / "a.py").write_text("import os\n")
    (root / "pkg" / "b.py").write_text("x = 1\n")
    (root / "other.py").write_text("import sys\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", ".")
    git(root, "commit", "-qm", "start")
    return root


def diagnostics(editor: Editor, root: Path, name: str) -> list[str]:
    return [d.code for d in editor.client.diagnostics.get((root / name).as_uri(), [])]


async def test_a_folder_is_reviewed_with_unsaved_buffers(editor: Editor, repository: Path) -> None:
    editor.open("pkg/b.py", "import json\n\nx = 1\n")  # unsaved: the review sees it
    folder = (repository / "pkg").as_uri()
    run_id = (await editor.command("agentls.runWorkflow", uri=folder, workflow="offline"))["runId"]
    reports = await editor.finished(run_id)
    assert "offline on 2 files: ok" in (reports[-1].message or "")
    assert diagnostics(editor, repository, "pkg/a.py") == ["F401"]
    assert diagnostics(editor, repository, "pkg/b.py") == ["F401"]
    assert diagnostics(editor, repository, "other.py") == []


async def test_what_changed_is_reviewed_and_a_clean_file_is_cleared(
    editor: Editor, repository: Path
) -> None:
    (repository / "other.py").write_text("import os\nimport sys\n")
    uri = editor.open("other.py")
    run_id = (
        await editor.command("agentls.runWorkflow", uri=uri, workflow="offline", changed="HEAD")
    )["runId"]
    await editor.finished(run_id)
    assert sorted(diagnostics(editor, repository, "other.py")) == ["F401", "F401"]
    assert diagnostics(editor, repository, "pkg/a.py") == []  # not changed: not reviewed

    (repository / "other.py").write_text("import sys\n\nprint(sys.argv)\n")
    editor.type(uri, "import sys\n\nprint(sys.argv)\n")
    run_id = (
        await editor.command("agentls.runWorkflow", uri=uri, workflow="offline", changed="HEAD")
    )["runId"]
    await editor.finished(run_id)
    assert diagnostics(editor, repository, "other.py") == []


async def test_nothing_changed_is_one_message(editor: Editor, repository: Path) -> None:
    uri = editor.open("other.py")
    run_id = (
        await editor.command("agentls.runWorkflow", uri=uri, workflow="offline", changed="HEAD")
    )["runId"]
    reports = await editor.finished(run_id)
    assert "nothing changed against HEAD" in (reports[-1].message or "")


async def test_a_client_revision_is_never_an_option_for_git(
    editor: Editor, repository: Path
) -> None:
    written = repository.parent / "written-by-git"
    uri = editor.open("other.py")
    run_id = (
        await editor.command(
            "agentls.runWorkflow", uri=uri, workflow="offline", changed=f"--output={written}"
        )
    )["runId"]
    reports = await editor.finished(run_id)
    assert "is not a revision" in (reports[-1].message or "")
    assert not written.exists()


async def test_a_client_folder_outside_the_workspace_is_refused(
    editor: Editor, repository: Path
) -> None:
    outside = repository.parent / "elsewhere"
    outside.mkdir()
    (outside / "secret.py").write_text("import secrets\n")
    with pytest.raises(JsonRpcException, match="is outside the editor's workspace folders"):
        await editor.command("agentls.runWorkflow", uri=outside.as_uri(), workflow="offline")
    assert not editor.client.diagnostics.get((outside / "secret.py").as_uri())
