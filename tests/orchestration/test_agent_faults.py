"""A hostile agent in an agentic step: it plants git configuration that would run a program,
repoints its worktree's ``.git``, or leaves a daemon behind. The fake codex does each."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest

from agentls.domain.results import WorkflowResult
from agentls.orchestration.config_loader import load_config
from agentls.orchestration.workflow import WorkflowEngine, WorkflowRequest
from tests.agentic import agentic, calls, make_repository, worktrees
from tests.conftest import fsmonitor
from tests.processes import alive, daemonizing_command, marked, wait_for_pids

pytestmark = pytest.mark.usefixtures("credentials")

CHANGED = "def add(a, b):\n    return a + b  # changed by the agent\n"


def run(workspace: Path) -> WorkflowResult:
    engine = WorkflowEngine(load_config(workspace))
    request = WorkflowRequest(workflow="agentic", workspace=workspace, path="calc.py")
    return asyncio.run(engine.run(request))


@pytest.mark.parametrize(
    "where",
    [
        ["git", "--git-dir=../git", "config"],  # agentls's git folder for the copy
        ["git", "config"],  # after a git init of its own, in the copy
    ],
    ids=["beside", "inside"],
)
def test_fsmonitor_planted_in_a_copy_never_runs_and_fails_the_step(
    workspace: Path, tmp_path: Path, where: list[str]
) -> None:
    script, marker = fsmonitor(tmp_path)
    commands = [[*where, "core.fsmonitor", str(script)]]
    if where == ["git", "config"]:
        commands.insert(0, ["git", "init", "-q"])
    agentic(workspace, tmp_path / "fake", edits={"calc.py": CHANGED}, commands=commands)
    result = run(workspace)
    assert result.status == "failed"
    [step] = result.steps
    assert "the agent changed the sandbox's git metadata" in step.reason
    assert "its changes were not taken" in step.reason
    assert result.edits == []
    assert not marker.exists()
    [call] = calls(tmp_path / "fake")
    assert not Path(call["cwd"]).parent.exists()  # the sandbox is gone


def test_a_repointed_worktree_link_fails_the_step(workspace: Path, tmp_path: Path) -> None:
    script, marker = fsmonitor(tmp_path)
    evil = tmp_path / "evil"
    subprocess.run(["git", "init", "-q", str(evil)], check=True)
    (evil / ".git" / "config").write_text(f"[core]\n\tfsmonitor = {script}\n", "utf-8")
    agentic(
        workspace,
        tmp_path / "fake",
        edits={"calc.py": CHANGED},
        rogue_writes={".git": f"gitdir: {evil / '.git'}\n"},
    )
    make_repository(workspace)
    result = run(workspace)
    assert result.status == "failed"
    assert result.steps[0].reason == (
        "the agent changed the sandbox's git metadata (.git): its changes were not taken"
    )
    assert result.edits == [] and not marker.exists()
    assert worktrees(workspace) == [str(workspace)]


def test_a_daemon_the_agent_left_is_dead_when_the_step_ends(
    workspace: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "fake"
    folder.mkdir()
    command, pid_file = daemonizing_command(folder)
    agentic(workspace, folder, edits={"calc.py": CHANGED}, commands=[command])
    result = run(workspace)
    assert result.status == "ok", result.summary
    assert [e.path for e in result.edits] == ["calc.py"]
    [daemon] = wait_for_pids(pid_file, 1)
    assert not alive(daemon)
    [call] = calls(folder)
    assert not alive(call["pid"])
    assert marked(str(folder)) == []
