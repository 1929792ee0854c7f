"""Nothing an agent starts outlives it: daemons, setsid grandchildren, and agentls's own death."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from agentls.adapters import runner
from agentls.adapters.runner import ProcessSpec, minimal_env, run_process
from tests.processes import alive, daemonizing_command, marked, wait_for_pids, wait_until

pytestmark = pytest.mark.skipif(not runner.SUPERVISED, reason="the supervisor is Linux's")

PY = sys.executable


def spec(tmp_path: Path, argv: list[str], **kwargs: object) -> ProcessSpec:
    options: dict[str, object] = {"timeout_s": 30.0, "kill_grace_s": 0.3, **kwargs}
    return ProcessSpec(argv=argv, cwd=tmp_path, env=minimal_env(()), **options)  # type: ignore[arg-type]


async def test_a_daemon_the_agent_left_is_ended_with_it(tmp_path: Path) -> None:
    command, pid_file = daemonizing_command(tmp_path)
    outcome = await run_process(spec(tmp_path, command))
    assert outcome.exit_code == 0, outcome.stderr
    [daemon] = wait_for_pids(pid_file, 1)
    assert not alive(daemon), "the daemon (setsid, SIGTERM ignored) outlived the agent"
    assert marked(str(tmp_path)) == []


async def test_cancel_ends_a_daemon_that_ignores_sigterm(tmp_path: Path) -> None:
    command, pid_file = daemonizing_command(tmp_path, linger_s=120)
    task = asyncio.ensure_future(run_process(spec(tmp_path, command, cancel_grace_s=0.05)))
    while not pid_file.exists():
        await asyncio.sleep(0.02)
    [daemon] = wait_for_pids(pid_file, 1)
    assert alive(daemon)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not alive(daemon)
    assert marked(str(tmp_path)) == []


@pytest.mark.parametrize("ticks", range(6))
async def test_a_cancel_while_the_agent_starts_leaves_nothing(tmp_path: Path, ticks: int) -> None:
    command, _ = daemonizing_command(tmp_path, linger_s=120)
    task = asyncio.ensure_future(run_process(spec(tmp_path, command, cancel_grace_s=0.05)))
    for _ in range(ticks):
        await asyncio.sleep(0)
    time.sleep(0.3)  # a busy event loop: the agent is up before its pipes are connected
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 30)
    assert marked(str(tmp_path)) == []


async def test_a_timeout_ends_the_daemon_too(tmp_path: Path) -> None:
    command, pid_file = daemonizing_command(tmp_path, linger_s=120)
    outcome = await run_process(spec(tmp_path, command, timeout_s=1.0))
    assert outcome.timed_out
    [daemon] = wait_for_pids(pid_file, 1)
    assert not alive(daemon)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("import sys; sys.exit(3)", 3),
        ("import os, signal; os.kill(os.getpid(), signal.SIGTERM)", -signal.SIGTERM),
        ("import os, signal; os.kill(os.getpid(), signal.SIGKILL)", -signal.SIGKILL),
    ],
)
async def test_the_exit_is_the_agents_own(tmp_path: Path, code: str, expected: int) -> None:
    outcome = await run_process(spec(tmp_path, [PY, "-c", code]))
    assert outcome.exit_code == expected


async def test_stdin_stdout_and_the_folder_are_the_agents(tmp_path: Path) -> None:
    code = "import os, sys; print(sys.stdin.read().upper(), os.getcwd(), os.getppid() != 1)"
    outcome = await run_process(spec(tmp_path, [PY, "-c", code], stdin="prompt"))
    assert outcome.stdout.split() == ["PROMPT", str(tmp_path), "True"]


async def test_a_program_that_is_not_executable_is_still_a_missing_binary(tmp_path: Path) -> None:
    script = tmp_path / "tool"
    script.write_text("#!/bin/sh\n")
    with pytest.raises(runner.MissingBinaryError) as caught:
        await run_process(spec(tmp_path, ["./tool"]))
    assert caught.value.reason == "is not executable"


# agentls itself is killed (SIGKILL: no clean-up of its own runs) while an agent works.
DYING_AGENTLS = """
import asyncio, sys
from pathlib import Path
from agentls.adapters.runner import ProcessSpec, minimal_env, run_process
argv = sys.argv[1:]
asyncio.run(run_process(ProcessSpec(argv=argv, cwd=Path.cwd(), env=minimal_env(()),
                                    kill_grace_s=0.3)))
"""


def test_when_agentls_is_killed_its_agents_and_their_daemons_end(tmp_path: Path) -> None:
    command, pid_file = daemonizing_command(tmp_path, linger_s=120)
    agentls = subprocess.Popen(
        [PY, "-c", textwrap.dedent(DYING_AGENTLS), *command],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
    )
    try:
        [daemon] = wait_for_pids(pid_file, 1, timeout_s=30)
        lingering = [p for p in marked(str(pid_file)) if p != daemon]
        assert lingering, "the agent's slow command should be running"
        agentls.kill()
        agentls.wait(10)
        wait_until(lambda: marked(str(tmp_path)) == [], "the agent's processes ending")
        assert not alive(daemon)
    finally:
        agentls.kill()
        agentls.wait(10)
