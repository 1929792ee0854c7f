"""SIGTERM or SIGHUP to ``agentls run`` or ``exec`` mid-run: the agents end (daemons too), the
sandbox and its worktree go, and the exit is 128 + the signal with one line saying so."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest

from tests.agentic import agentic, calls, make_repository, worktrees
from tests.cli.test_cli import start
from tests.processes import alive, daemonizing_command, marked, wait_for_pids, wait_until

pytestmark = pytest.mark.usefixtures("credentials")


def start_daemonizing_run(workspace: Path, folder: Path) -> tuple[subprocess.Popen[str], Path]:
    """``agentls run`` of an agentic step whose agent starts a daemon (a slow tool call) that
    outlives it; the CLI and the file the daemon's pid is written to."""
    folder.mkdir()
    command, pid_file = daemonizing_command(folder, linger_s=120)
    agentic(workspace, folder, commands=[command])
    make_repository(workspace)
    return start(workspace, "run", "agentic", "calc.py"), pid_file


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["TERM", "HUP"])
def test_a_signal_to_run_ends_the_agent_and_removes_its_sandbox(
    workspace: Path, tmp_path: Path, signum: signal.Signals
) -> None:
    folder = tmp_path / "fake"
    cli, pid_file = start_daemonizing_run(workspace, folder)
    try:
        [daemon] = wait_for_pids(pid_file, 1, timeout_s=60)
        [call] = calls(folder)
        sandbox = Path(call["cwd"])
        assert sandbox.exists() and str(sandbox) in worktrees(workspace)
        cli.send_signal(signum)
        _, stderr = cli.communicate(timeout=60)
    finally:
        cli.kill()
    assert cli.returncode == 128 + signum, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines[-1] == (
        f"agentls: stopped by {signum.name}; every agent was stopped, its sandbox removed"
    )
    assert "Traceback" not in stderr
    assert not alive(call["pid"]) and not alive(daemon)
    assert marked(str(folder)) == []
    assert not sandbox.parent.exists()
    assert worktrees(workspace) == [str(workspace)]


def test_sigterm_to_exec_ends_the_agent_and_what_it_started(
    workspace: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "fake"
    scenario = agentic(workspace, folder, behavior="orphan", delay_s=120)
    cli = start(workspace, "exec", "codex", "calc.py", "--task", "explain")
    try:
        [orphan] = wait_for_pids(Path(f"{scenario}.orphan_pid"), 1, timeout_s=60)
        [call] = calls(folder)
        cli.send_signal(signal.SIGTERM)
        _, stderr = cli.communicate(timeout=60)
    finally:
        cli.kill()
    assert cli.returncode == 128 + signal.SIGTERM, stderr
    assert stderr.strip().splitlines()[-1] == ("agentls: stopped by SIGTERM; the agent was stopped")
    assert not alive(orphan) and not alive(call["pid"])


def test_after_sigkill_the_agent_ends_and_the_next_run_prunes_the_rest(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A temp folder of this test's own: another agentls starting meanwhile (a concurrent test
    # run) would rightly prune the killed run's sandbox before the test looks at it.
    (tmp_path / "tmp").mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    folder = tmp_path / "fake"
    cli, pid_file = start_daemonizing_run(workspace, folder)
    try:
        [daemon] = wait_for_pids(pid_file, 1, timeout_s=60)
        [call] = calls(folder)
        cli.kill()
        cli.communicate(timeout=60)
    finally:
        cli.kill()
    wait_until(lambda: marked(str(folder)) == [], "the agent's processes ending")
    assert not alive(call["pid"]) and not alive(daemon)
    sandbox = Path(call["cwd"])
    assert sandbox.exists() and str(sandbox) in worktrees(workspace)  # nothing cleaned up
    (workspace / "bad.py").write_text("import os\n")
    again = start(workspace, "run", "offline", "bad.py", "--json")
    _, stderr = again.communicate(timeout=120)
    assert again.returncode == 0, stderr
    assert not sandbox.parent.exists()
    assert worktrees(workspace) == [str(workspace)]
