"""The CLI's honest edges: the same exit codes under ``run`` and ``exec`` (0 ok, 1 the run
failed, 2 bad input, 130 Ctrl-C, 128 + N a signal), contradicting flags refused, "no changes"
said, ``doctor`` content with the offline reviewer, and a history that says what became of
each run (applied, undone, interrupted)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cli.test_cli import agentls, start
from tests.cli.test_run_cli import NEW_MEAN
from tests.conftest import Scenario, write_trusted
from tests.processes import wait_until

pytestmark = pytest.mark.usefixtures("credentials")

FakeLog = Callable[[], list[dict[str, Any]]]


def history(workspace: Path) -> list[dict[str, Any]]:
    done = agentls("history", "--json", cwd=workspace)
    assert done.returncode == 0, done.stderr
    runs: list[dict[str, Any]] = json.loads(done.stdout)
    return runs


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


# -- exit codes: the same for run and exec -----------------------------------------------


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("missing.py", "missing.py does not exist"),
        ("calc.py:5-40", "lines 5-40 are outside calc.py, which has 6 lines"),
        ("calc.py:7", "lines 7-7 are outside calc.py, which has 6 lines"),
    ],
)
@pytest.mark.parametrize("command", [["run", "offline"], ["exec", "ruff"]], ids=["run", "exec"])
def test_bad_input_exits_2_under_run_and_exec_and_is_no_run(
    workspace: Path, command: list[str], target: str, expected: str
) -> None:
    extra = ["--task", "review"] if command[0] == "exec" else []
    done = agentls(*command, target, *extra, cwd=workspace)
    assert done.returncode == 2, done.stderr
    assert expected in one_line(done.stderr)
    assert done.stdout == ""
    assert history(workspace) == []  # bad input is recorded nowhere as a run


def test_a_bad_configuration_exits_2_under_run_too(workspace: Path) -> None:
    write_trusted(workspace / ".agentls.yaml", "agents:\n  claude:\n    retries: many\n")
    done = agentls("run", "offline", "calc.py", cwd=workspace)
    assert done.returncode == 2
    assert done.stderr.startswith("agentls: invalid configuration:")
    assert "agents.claude.retries" in done.stderr and "Traceback" not in done.stderr
    assert history(workspace) == []


def test_an_agent_failure_exits_1_under_run_and_exec_and_the_run_is_recorded(
    one_step: Path, scenario: Scenario
) -> None:
    scenario("server_error")
    ran = agentls("run", "one", "calc.py:5-6", "--json", cwd=one_step)
    assert ran.returncode == 1, ran.stderr
    assert json.loads(ran.stdout)["status"] == "failed"
    executed = agentls("exec", "codex", "calc.py:5-6", "--task", "implement", cwd=one_step)
    assert executed.returncode == 1, executed.stderr
    [run] = history(one_step)
    assert run["status"] == "failed" and run["state"] is None


# -- flags that contradict each other ----------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--apply", "--diff"], "give --apply or --diff, not both"),
        (["--diff", "--apply"], "give --apply or --diff, not both"),
        (["--diff", "--json"], "give --diff or --json, not both"),
    ],
)
def test_contradicting_flags_are_refused_before_anything_runs(
    one_step: Path, scenario: Scenario, fake_log: FakeLog, flags: list[str], expected: str
) -> None:
    scenario("ok", reply=f"```python\n{NEW_MEAN}```")
    original = (one_step / "calc.py").read_text()
    done = agentls("run", "one", "calc.py:5-6", *flags, cwd=one_step)
    assert done.returncode == 2
    assert one_line(done.stderr) == f"agentls: {expected}" + (
        " (--apply --json shows what was written)"
        if "--apply" in expected
        else " (the JSON holds each edit's diff)"
    )
    assert done.stdout == "" and fake_log() == [] and history(one_step) == []
    assert (one_step / "calc.py").read_text() == original

    first = json.loads(agentls("run", "one", "calc.py:5-6", "--json", cwd=one_step).stdout)
    again = agentls("followup", first["run_id"], "more", *flags, cwd=one_step)
    assert again.returncode == 2 and expected in one_line(again.stderr)
    assert history(one_step)[0]["turns"] == 1  # the follow-up never ran


# -- "no changes" said ---------------------------------------------------------------------


def test_diff_and_apply_say_when_no_change_was_proposed(workspace: Path) -> None:
    diff = agentls("run", "offline", "calc.py", "--diff", cwd=workspace)
    assert diff.returncode == 0, diff.stderr
    assert diff.stdout == ""  # still an (empty) patch for `| git apply`
    run_id = history(workspace)[0]["run_id"]
    assert f"agentls: no changes proposed (run {run_id})" in diff.stderr.splitlines()

    applied = agentls("run", "offline", "calc.py", "--apply", cwd=workspace)
    assert applied.returncode == 0, applied.stderr
    assert "no changes proposed; nothing to apply" in applied.stdout
    assert all(run["state"] is None for run in history(workspace))


def test_apply_on_a_failed_run_says_nothing_was_written(
    workspace: Path, scenario: Scenario
) -> None:
    config = yaml.safe_load((workspace / ".agentls.yaml").read_text())
    steps = [{"agent": "codex", "task": "implement"}, {"agent": "codex", "task": "review"}]
    config["workflows"] = {"two": {"steps": steps}}
    write_trusted(workspace / ".agentls.yaml", yaml.safe_dump(config))
    original = (workspace / "calc.py").read_text()
    scenario(sequence=[{"reply": f"```python\n{NEW_MEAN}```"}, {"behavior": "server_error"}])
    done = agentls("run", "two", "calc.py:5-6", "--apply", cwd=workspace)
    assert done.returncode == 1
    run_id = history(workspace)[0]["run_id"]
    assert f"not applied: the run failed; nothing was written (run {run_id})" in done.stdout
    assert (workspace / "calc.py").read_text() == original


def test_apply_on_a_failed_run_without_edits_says_there_are_none(
    one_step: Path, scenario: Scenario
) -> None:
    scenario("server_error")
    done = agentls("run", "one", "calc.py:5-6", "--apply", cwd=one_step)
    assert done.returncode == 1
    assert "no changes proposed; nothing to apply" in done.stdout


# -- doctor --------------------------------------------------------------------------------

MISSING = {name: {"command": [f"{name}-not-installed"]} for name in ("claude", "codex", "gemini",
           "copilot")}  # fmt: skip


def test_doctor_is_content_with_the_offline_reviewer_alone(workspace: Path) -> None:
    write_trusted(workspace / ".agentls.yaml", yaml.safe_dump({"agents": MISSING}))
    done = agentls("doctor", cwd=workspace)
    assert done.returncode == 0, done.stdout
    assert "note claude: `claude-not-installed` is not on PATH" in done.stdout
    assert "note codex: `codex-not-installed` is not on PATH" in done.stdout
    assert "\nfix " not in "\n" + done.stdout
    assert "ok  ruff: " in done.stdout
    assert "ok  1 of 5 enabled agents can run: ruff (the offline reviewer)" in done.stdout
    assert "sandbox" in done.stdout  # the sandbox line stays


def test_doctor_fails_when_no_agent_can_run(workspace: Path) -> None:
    agents = {**MISSING, "ruff": {"enabled": False}}
    write_trusted(workspace / ".agentls.yaml", yaml.safe_dump({"agents": agents}))
    done = agentls("doctor", cwd=workspace)
    assert done.returncode == 1
    assert "fix codex: `codex-not-installed` is not on PATH" in done.stdout
    assert "fix no agent can run: install one of the CLIs above" in done.stdout
    assert "ok  ruff" not in done.stdout and "enabled agents can run" not in done.stdout


def test_doctor_fails_on_an_invalid_configuration_in_one_line(workspace: Path) -> None:
    write_trusted(workspace / ".agentls.yaml", "agents:\n  claude:\n    retries: many\n")
    done = agentls("doctor", cwd=workspace)
    assert done.returncode == 1
    assert done.stdout.startswith("fix invalid configuration:")
    assert ".agentls.yaml:3: agents.claude.retries" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


# -- history: applied, undone, interrupted -------------------------------------------------


def test_history_says_which_runs_were_applied_and_undone(
    one_step: Path, scenario: Scenario
) -> None:
    scenario("ok", reply=f"```python\n{NEW_MEAN}```")
    proposed = json.loads(agentls("run", "one", "calc.py:5-6", "--json", cwd=one_step).stdout)
    applied = json.loads(
        agentls("run", "one", "calc.py:5-6", "--apply", "--json", cwd=one_step).stdout
    )
    states = {run["run_id"]: run["state"] for run in history(one_step)}
    assert states == {proposed["run_id"]: None, applied["run_id"]: "applied"}
    table = agentls("history", cwd=one_step)
    assert " edits " in table.stdout and " applied " in table.stdout

    assert agentls("undo", applied["run_id"], cwd=one_step).returncode == 0
    states = {run["run_id"]: run["state"] for run in history(one_step)}
    assert states[applied["run_id"]] == "undone" and states[proposed["run_id"]] is None
    assert " undone " in agentls("history", cwd=one_step).stdout


def interrupt(cli: subprocess.Popen[str], fake_log: FakeLog, signum: int, calls: int) -> str:
    """Wait until the fake agent has been called ``calls`` times, send ``signum``; stderr."""
    try:
        wait_until(lambda: len(fake_log()) >= calls, "the agent to start", timeout_s=60)
        cli.send_signal(signum)
        _, stderr = cli.communicate(timeout=60)
    finally:
        cli.kill()
    return stderr


INTERRUPTED = pytest.mark.parametrize(
    ("signum", "code", "line"),
    [
        (signal.SIGINT, 130, "agentls: interrupted; every agent was stopped"),
        (
            signal.SIGTERM,
            143,
            "agentls: stopped by SIGTERM; every agent was stopped, its sandbox removed",
        ),
    ],
    ids=["ctrl-c", "sigterm"],
)
"""Ctrl-C and SIGTERM mid-run: the exit code and the last line each gives."""


@INTERRUPTED
def test_an_interrupted_run_is_in_the_history_as_interrupted(
    one_step: Path, scenario: Scenario, fake_log: FakeLog, signum: int, code: int, line: str
) -> None:
    scenario("ok", reply=f"```python\n{NEW_MEAN}```", delay_s=120)
    cli = start(one_step, "run", "one", "calc.py:5-6", "--apply")
    stderr = interrupt(cli, fake_log, signum, 1)
    assert cli.returncode == code, stderr
    assert [ln for ln in stderr.splitlines() if ln.strip()][-1] == line
    assert "Traceback" not in stderr
    [run] = history(one_step)
    assert (run["status"], run["state"], run["turns"]) == ("cancelled", "interrupted", 1)
    assert "cancelled" in run["summary"]
    assert " interrupted " in agentls("history", cwd=one_step).stdout
    assert (
        "def mean(values):\n    return sum(values) / len(values)\n"
        in (one_step / "calc.py").read_text()
    )  # nothing was applied


def test_an_interrupted_follow_up_is_recorded_as_its_turn(
    one_step: Path, scenario: Scenario, fake_log: FakeLog
) -> None:
    scenario("ok", reply=f"```python\n{NEW_MEAN}```")
    first = json.loads(agentls("run", "one", "calc.py:5-6", "--json", cwd=one_step).stdout)
    scenario("ok", reply=f"```python\n{NEW_MEAN}```", delay_s=120)
    cli = start(one_step, "followup", first["run_id"], "and add types")
    stderr = interrupt(cli, fake_log, signal.SIGINT, 2)
    assert cli.returncode == 130, stderr
    [run] = history(one_step)
    assert (run["status"], run["state"], run["turns"]) == ("cancelled", "interrupted", 2)


def test_a_run_interrupted_in_the_shell_is_in_the_history_as_interrupted(
    one_step: Path, scenario: Scenario, fake_log: FakeLog
) -> None:
    scenario("ok", reply=f"```python\n{NEW_MEAN}```", delay_s=120)
    shell = subprocess.Popen(
        [sys.executable, "-m", "agentls", "shell", "calc.py:5-6", "--workflow", "one"],
        cwd=one_step,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert shell.stdin is not None
    shell.stdin.write("handle empty lists\n")
    shell.stdin.flush()
    stderr = interrupt_then(shell, fake_log, "/quit\n")
    assert shell.returncode == 0, stderr
    assert "interrupted; the agents were stopped" in stderr and "Traceback" not in stderr
    [run] = history(one_step)
    assert (run["status"], run["state"], run["turns"]) == ("cancelled", "interrupted", 1)


def interrupt_then(shell: subprocess.Popen[str], fake_log: FakeLog, line: str) -> str:
    """Ctrl-C once the shell's agent started, then ``line``; the shell's stderr."""
    assert shell.stdin is not None
    try:
        wait_until(lambda: len(fake_log()) >= 1, "the agent to start", timeout_s=60)
        shell.send_signal(signal.SIGINT)
        _, stderr = shell.communicate(line, timeout=60)
    finally:
        shell.kill()
    return stderr
