from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from agentls.domain.edits import apply_edits
from agentls.orchestration.sandbox import PREFIX, sandbox
from tests.conftest import git


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    (root / "a.py").write_text("one\ntwo\nthree\n")
    (root / "gone.py").write_text("bye\n")
    (root / ".gitignore").write_text("build/\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "init")
    (root / "a.py").write_text("one\ntwo (uncommitted)\nthree\n")  # dirty
    (root / "new.py").write_text("untracked\n")
    (root / "build").mkdir()
    (root / "build" / "out.txt").write_text("ignored\n")
    return root


async def test_worktree_sandbox_sees_dirty_files_and_buffers_and_reports_agent_changes(
    repo: Path, tmp_path: Path
) -> None:
    async with sandbox(repo, {"b.py": "unsaved buffer\n"}) as box:
        assert box.kind == "worktree"
        root = box.root
        assert (root / "a.py").read_text() == "one\ntwo (uncommitted)\nthree\n"
        assert (root / "new.py").read_text() == "untracked\n"
        assert (root / "b.py").read_text() == "unsaved buffer\n"
        # what an agent does
        (root / "a.py").write_text("one\ntwo (uncommitted)\nthree\nfour\n")
        (root / "created.py").write_text("fresh\n")
        (root / "gone.py").unlink()
        (root / "escape").symlink_to(tmp_path)
        changes = await box.changes()
    by_path = {(e.path, e.kind): e for e in changes.edits}
    assert set(by_path) == {("a.py", "replace"), ("created.py", "create"), ("gone.py", "delete")}
    a = by_path[("a.py", "replace")]
    assert apply_edits((repo / "a.py").read_text(), [a]).endswith("three\nfour\n")
    assert any(refused.path == "escape" for refused in changes.refused)
    assert not root.exists()
    assert "agentls-sandbox" not in git(repo, "worktree", "list")
    assert (repo / "gone.py").exists() and not (repo / "created.py").exists()  # untouched


async def test_copy_sandbox_honours_gitignore(tmp_path: Path) -> None:
    root = tmp_path / "plain"
    (root / "node_modules" / "x").mkdir(parents=True)
    (root / "logs").mkdir()
    (root / "logs" / "today.log").write_text("x\n")
    (root / ".gitignore").write_text("*.log\n")
    (root / "m.py").write_text("m\n")
    async with sandbox(root, {}) as box:
        assert box.kind == "copy"
        assert (box.root / "m.py").exists()
        assert not (box.root / "node_modules").exists()
        assert not (box.root / "logs" / "today.log").exists()
        (box.root / "m.py").write_text("m2\n")
        changes = await box.changes()
    assert [(e.path, e.new_text) for e in changes.edits] == [("m.py", "m2\n")]
    assert (root / "m.py").read_text() == "m\n"


async def test_a_protected_file_nobody_touched_is_not_called_refused(tmp_path: Path) -> None:
    root = tmp_path / "plain"  # a copy: its index starts with every file, .agentls.yaml too
    root.mkdir()
    (root / ".agentls.yaml").write_text("settings: {}\n")
    (root / "m.py").write_text("m\n")
    async with sandbox(root, {"m.py": "m1\n"}) as box:
        (box.root / "m.py").write_text("m2\n")
        changes = await box.changes()
    assert [e.path for e in changes.edits] == ["m.py"]
    assert changes.refused == []


async def test_sandbox_is_removed_when_the_run_fails(tmp_path: Path) -> None:
    root = tmp_path / "plain"
    root.mkdir()
    (root / "m.py").write_text("m\n")
    seen: list[Path] = []
    with pytest.raises(RuntimeError):
        async with sandbox(root, {}) as box:
            seen.append(box.root)
            raise RuntimeError("agent crashed")
    assert not seen[0].exists()


async def test_buffers_for_deleted_and_odd_paths(repo: Path) -> None:
    (repo / "gone.py").unlink()  # deleted in the working tree, not committed
    overlay = {"weird [*] name.py": "odd\n", "never_existed.py": None}
    async with sandbox(repo, overlay) as box:
        assert not (box.root / "gone.py").exists()
        assert (box.root / "weird [*] name.py").read_text() == "odd\n"
        changes = await box.changes()
    assert changes.edits == []  # the starting point is recorded as it was laid down


async def test_a_steps_sandbox_path_someone_else_prepared_is_never_used(tmp_path: Path) -> None:
    root = tmp_path / "plain"
    root.mkdir()
    (root / "m.py").write_text("m\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    name = f"run-{os.getpid()}-implement"
    trap = Path(tempfile.gettempdir()).resolve() / f"{PREFIX}{name}"
    trap.symlink_to(elsewhere)  # another user's link where the step's sandbox will be
    try:
        async with sandbox(root, {}, name) as box:
            assert not box.root.is_relative_to(trap) and box.root.parent != trap
            (box.root / "m.py").write_text("m2\n")
        assert list(elsewhere.iterdir()) == []
        assert trap.is_symlink()  # left as it was
    finally:
        trap.unlink()
