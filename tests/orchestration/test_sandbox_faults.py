"""agentls's own git is inert to what an agent plants in its sandbox, and leftovers of killed
agentls processes are pruned (never a live sandbox, never a worktree agentls did not make)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from agentls.adapters import scratch
from agentls.orchestration import leftovers
from agentls.orchestration.leftovers import prune_leftovers
from agentls.orchestration.sandbox import SandboxTamperedError, sandbox
from tests.conftest import fsmonitor, git


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    (root / "a.py").write_text("one\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "init")
    return root


def worktrees(folder: Path) -> str:
    return git(folder, "-c", "core.fsmonitor=false", "worktree", "list", "--porcelain")


async def test_a_copy_keeps_its_git_folder_outside_where_the_agent_works(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "m.py").write_text("m\n")
    async with sandbox(plain, {}) as box:
        assert box.kind == "copy"
        assert not (box.root / ".git").exists()
        assert box.git_dir is not None and not box.git_dir.is_relative_to(box.root)
        (box.root / "m.py").write_text("m2\n")
        changes = await box.changes()
    assert [(e.path, e.new_text) for e in changes.edits] == [("m.py", "m2\n")]


async def test_fsmonitor_planted_in_a_copys_git_config_never_runs(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "m.py").write_text("m\n")
    script, marker = fsmonitor(tmp_path)
    async with sandbox(plain, {}) as box:
        assert box.git_dir is not None
        planted = ["git", f"--git-dir={box.git_dir}", f"--work-tree={box.root}"]
        subprocess.run([*planted, "config", "core.fsmonitor", str(script)], check=True)
        # The plant works on a git that is not agentls's ...
        subprocess.run([*planted, "status"], capture_output=True)
        assert marker.exists()
        marker.unlink()
        # ... and agentls's own git, were it to run, does not run it
        await box.git("status", "--porcelain")
        assert not marker.exists()
        with pytest.raises(SandboxTamperedError, match=r"git metadata \(.*config\)"):
            await box.changes()
    assert not marker.exists()


async def test_a_git_repository_the_agent_made_in_a_copy_fails_it(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "m.py").write_text("m\n")
    script, marker = fsmonitor(tmp_path)
    async with sandbox(plain, {}) as box:
        subprocess.run(["git", "init", "-q"], cwd=box.root, check=True)
        subprocess.run(["git", "config", "core.fsmonitor", str(script)], cwd=box.root, check=True)
        with pytest.raises(SandboxTamperedError, match=r"\(\.git\)"):
            await box.changes()
    assert not marker.exists()


async def test_a_repointed_worktree_link_fails_and_the_worktree_is_still_removed(
    repo: Path,
    tmp_path: Path,
) -> None:
    script, marker = fsmonitor(tmp_path)
    evil = tmp_path / "evil"
    git(tmp_path, "init", "-q", str(evil))
    git(evil, "config", "core.fsmonitor", str(script))
    async with sandbox(repo, {}) as box:
        assert box.kind == "worktree"
        root = box.root
        (root / ".git").write_text(f"gitdir: {evil / '.git'}\n")
        with pytest.raises(SandboxTamperedError) as caught:
            await box.changes()
    assert str(caught.value) == (
        "the agent changed the sandbox's git metadata (.git): its changes were not taken"
    )
    assert not marker.exists()
    assert not root.exists()
    assert "agentls-sandbox" not in worktrees(repo)


async def test_an_agent_changing_the_repositorys_config_fails_it(
    repo: Path,
    tmp_path: Path,
) -> None:
    script, marker = fsmonitor(tmp_path)
    async with sandbox(repo, {}) as box:
        (box.root / "a.py").write_text("changed\n")
        subprocess.run(["git", "config", "core.fsmonitor", str(script)], cwd=box.root, check=True)
        with pytest.raises(SandboxTamperedError, match=r"\(\.git/config\)"):
            await box.changes()
    assert not marker.exists()


async def test_hooks_and_global_configuration_do_not_apply(
    repo: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The user's global configuration would hide new .py files, and a hook would run at
    # checkout: neither reaches agentls's git.
    home = tmp_path / "home"
    (home / ".config" / "git").mkdir(parents=True)
    ignore = tmp_path / "ignore-everything"
    ignore.write_text("*.py\n")
    for config in (home / ".gitconfig", home / ".config" / "git" / "config"):
        config.write_text(f"[core]\n\texcludesFile = {ignore}\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-not-for-git-0123456789")
    marker = tmp_path / "hook-ran"
    hook = repo / ".git" / "hooks" / "post-checkout"
    hook.write_text(f"#!/bin/sh\ntouch {marker}\n")
    hook.chmod(0o755)
    async with sandbox(repo, {}) as box:
        env = box.git_env()
        (box.root / "fresh.py").write_text("new\n")
        changes = await box.changes()
    assert ("fresh.py", "create") in {(e.path, e.kind) for e in changes.edits}
    assert not marker.exists()
    assert "ANTHROPIC_API_KEY" not in env
    assert env["GIT_CONFIG_GLOBAL"] == os.devnull and env["GIT_CONFIG_NOSYSTEM"] == "1"
    assert env["GIT_DIR"] == str(box.git_dir) and env["GIT_WORK_TREE"] == str(box.root)


# -- leftovers ----------------------------------------------------------------------------

# An agentls process in the middle of an agentic step, to be killed.
HOLDER = """
import asyncio, sys
from pathlib import Path
from agentls.orchestration.sandbox import sandbox
async def hold():
    async with sandbox(Path(sys.argv[1]), {}) as box:
        print(box.root, flush=True)
        await asyncio.sleep(300)
asyncio.run(hold())
"""


def killed_holder(workspace: Path) -> Path:
    """The sandbox root of an agentls process killed (SIGKILL) while it held it."""
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(HOLDER), str(workspace)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
    )
    assert holder.stdout is not None
    root = Path(holder.stdout.readline().strip())
    holder.kill()
    holder.wait(10)
    assert root.exists()
    return root


def test_a_killed_processs_sandbox_and_worktree_are_pruned(
    repo: Path,
) -> None:
    root = killed_holder(repo)
    assert str(root) in worktrees(repo)
    prune_leftovers([repo])
    assert not root.parent.exists()
    assert "agentls-sandbox" not in worktrees(repo)


def test_a_worktree_entry_whose_folder_is_gone_is_pruned_but_not_the_users(
    repo: Path,
    tmp_path: Path,
) -> None:
    root = killed_holder(repo)
    subprocess.run(["rm", "-rf", str(root.parent)], check=True)  # a reboot emptied /tmp
    mine = tmp_path / "my-own-worktree"
    git(repo, "worktree", "add", "-q", "--detach", str(mine))
    subprocess.run(["rm", "-rf", str(mine)], check=True)
    prune_leftovers([repo])
    listed = worktrees(repo)
    assert "agentls-sandbox" not in listed
    assert str(mine) in listed  # git's own prune is the user's to run


async def test_a_live_sandbox_is_never_pruned(repo: Path) -> None:
    temp = Path(tempfile.gettempdir())
    fresh = temp / f"{leftovers.PREFIX}fresh-unlocked-{os.getpid()}"
    old = temp / f"{leftovers.PREFIX}old-unlocked-{os.getpid()}"
    for folder in (fresh, old):
        folder.mkdir(exist_ok=True)
    past = time.time() - leftovers.UNLOCKED_STALE_S - 10
    os.utime(old, (past, past))
    try:
        async with sandbox(repo, {}) as box:
            await asyncio.to_thread(prune_leftovers, [repo])
            assert box.root.exists() and (box.root / "a.py").exists()
            assert str(box.root) in worktrees(repo)
            (box.root / "a.py").write_text("still mine\n")
            changes = await box.changes()
        assert [e.path for e in changes.edits] == ["a.py"]
        assert fresh.exists()  # being made by another process right now, maybe
        assert not old.exists()
    finally:
        for folder in (fresh, old):
            if folder.exists():
                folder.rmdir()


def test_an_agents_temp_folder_left_by_a_killed_agentls_is_pruned_not_a_live_one() -> None:
    with scratch.private_tmpdir() as live:
        left = Path(tempfile.mkdtemp(prefix=scratch.PREFIX))
        (left / scratch.LOCK).touch()  # its holder died: nobody holds the lock
        (left / "gemini-client-error-1.json").write_text("the user's code")
        prune_leftovers([])
        assert not left.exists()
        assert live.exists()
    assert not live.exists()
