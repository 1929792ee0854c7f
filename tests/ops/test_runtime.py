"""The cross-cutting parts on the real path: a run writes audit records, a cache hit skips
the agent, rate limits refuse with when to retry, metrics count, injections run nothing."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import urllib.request
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from agentls.adapters.base import Adapter, TaskRequest
from agentls.audit import AuditLog
from agentls.domain.errors import TaskInputError
from agentls.domain.locations import state_dir
from agentls.domain.results import LineRange, TaskKind, TaskResult
from agentls.metrics import metrics, serve
from agentls.orchestration.config_loader import load_config
from agentls.orchestration.runtime import Runtime
from agentls.orchestration.tasks import TaskSpec, run_task
from agentls.orchestration.workflow import WorkflowEngine, WorkflowRequest
from agentls.rate_limit import RateLimited
from tests.conftest import Scenario, write_trusted

pytestmark = pytest.mark.usefixtures("credentials")
FINDINGS = '{"findings": [{"line": 1, "message": "m"}]}'


def agentls(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentls", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
    )


def settings(workspace: Path, **values: object) -> None:
    path = workspace / ".agentls.yaml"
    data = yaml.safe_load(path.read_text())
    data["settings"].update(values)
    write_trusted(path, yaml.safe_dump(data))


def audit_records() -> list[dict[str, object]]:
    return [
        json.loads(line) for _, _, line in AuditLog(state_dir() / "audit" / "audit.log").records()
    ]


def test_a_run_leaves_a_verifiable_audit_trail(
    workspace: Path, scenario: Scenario, fake_log: object
) -> None:
    config = yaml.safe_load((workspace / ".agentls.yaml").read_text())
    config["workflows"] = {"one": {"steps": [{"agent": "codex", "task": "implement"}]}}
    write_trusted(workspace / ".agentls.yaml", yaml.safe_dump(config))
    scenario("ok", reply="```python\ndef add(a, b):\n    return b + a\n```")
    done = agentls("run", "one", "calc.py:1-2", "--apply", "--json", cwd=workspace)
    assert done.returncode == 0, done.stderr
    events = [r["event"] for r in audit_records()]
    assert events == [
        "request",
        "run_started",
        "agent_invocation",
        "agent_finished",
        "run_finished",
        "edits_applied",
    ]
    invocation = next(r for r in audit_records() if r["event"] == "agent_invocation")
    assert invocation["argv"][:3] == ["codex", "exec", "--json"]  # type: ignore[index]
    applied = next(r for r in audit_records() if r["event"] == "edits_applied")
    assert applied["files"] == ["calc.py"]
    assert AuditLog(state_dir() / "audit" / "audit.log").verify().ok


def test_an_agent_starts_only_once_its_run_is_on_disk_and_an_early_end_loses_nothing(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = load_config(workspace)
    engine = WorkflowEngine(config, runtime=Runtime.create(config, "test", use_cache=False))
    on_disk_at_start: list[list[object]] = []
    run = Adapter.run

    async def observed(self: Adapter, request: TaskRequest, on_line: object = None) -> TaskResult:
        on_disk_at_start.append([r["event"] for r in audit_records()])
        return await run(self, request)

    monkeypatch.setattr(Adapter, "run", observed)
    whole = WorkflowRequest(workflow="offline", workspace=workspace, path="calc.py")
    asyncio.run(engine.run(whole))
    assert on_disk_at_start == [["request", "run_started", "agent_invocation"]]
    events = [r["event"] for r in audit_records()]
    assert events[3:] == ["agent_finished", "run_finished"]
    outside = replace(whole, selection=LineRange(start=90, end=99))
    with pytest.raises(TaskInputError):  # ends before its run starts: the request is written
        asyncio.run(engine.run(outside))
    assert [r["event"] for r in audit_records()][5:] == ["request"]
    assert AuditLog(state_dir() / "audit" / "audit.log").verify().status == "ok"


def test_a_cache_hit_skips_the_agent_process(
    workspace: Path, scenario: Scenario, fake_log: object
) -> None:
    scenario("ok", reply=FINDINGS)
    first = agentls("exec", "claude", "calc.py", "--task", "review", "--json", cwd=workspace)
    second = agentls("exec", "claude", "calc.py", "--task", "review", "--json", cwd=workspace)
    assert json.loads(first.stdout)["findings"] == json.loads(second.stdout)["findings"]
    assert len(fake_log()) == 1  # type: ignore[operator]
    again = agentls("exec", "claude", "calc.py", "--task", "review", "--no-cache", cwd=workspace)
    assert again.returncode == 0 and len(fake_log()) == 2  # type: ignore[operator]
    (workspace / "calc.py").write_text("x = 1\n")  # other code, other key
    agentls("exec", "claude", "calc.py", "--task", "review", cwd=workspace)
    assert len(fake_log()) == 3  # type: ignore[operator]
    assert any(r["event"] == "cache_hit" for r in audit_records())


def test_failures_and_edits_are_never_cached(
    workspace: Path, scenario: Scenario, fake_log: object
) -> None:
    scenario("garbage")
    for _ in range(2):
        agentls("exec", "claude", "calc.py", "--task", "review", cwd=workspace)
    scenario("ok", reply="```python\nx = 1\n```")
    for _ in range(2):
        agentls("exec", "claude", "calc.py", "--task", "implement", cwd=workspace)
    assert len(fake_log()) == 4  # type: ignore[operator]


def test_rate_limits_refuse_with_when_to_retry(workspace: Path, scenario: Scenario) -> None:
    settings(workspace, rate_limits={"per_agent": {"claude": {"per_minute": 1, "burst": 1}}})
    scenario("ok", reply="fine")
    config = load_config(workspace)
    runtime = Runtime.create(config, "test-client", use_cache=False)
    spec = TaskSpec(agent="claude", task=TaskKind.EXPLAIN, workspace=workspace, path="calc.py")
    assert asyncio.run(run_task(config, spec, runtime=runtime)).ok
    with pytest.raises(RateLimited, match=r"agent claude\); try again in \d+ s"):
        asyncio.run(run_task(config, spec, runtime=runtime))
    settings(workspace, rate_limits={"per_client": {"per_minute": 1, "burst": 1}})
    first = agentls("exec", "ruff", "calc.py", "--task", "review", cwd=workspace)
    assert first.returncode == 0
    runtime = Runtime.create(load_config(workspace), "editor-1")
    runtime.admit("task", None)
    with pytest.raises(RateLimited, match="per client editor-1"):
        runtime.admit("task", None)
    Runtime.create(load_config(workspace), "editor-2").admit("task", None)  # another client
    assert any(r["event"] == "refused" for r in audit_records())


def test_metrics_show_a_runs_counters(workspace: Path) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    serve(port)
    (workspace / "bad.py").write_text("import os\n")
    config = load_config(workspace)
    spec = TaskSpec(agent="ruff", task=TaskKind.REVIEW, workspace=workspace, path="bad.py")
    before = (
        metrics().registry.get_sample_value(
            "agentls_tasks_total", {"agent": "ruff", "kind": "review", "outcome": "ok"}
        )
        or 0
    )
    runtime = Runtime.create(config, "metrics-test", use_cache=False)
    assert asyncio.run(run_task(config, spec, runtime=runtime)).ok
    page = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    line = 'agentls_tasks_total{agent="ruff",kind="review",outcome="ok"}'
    value = next(float(row.split()[-1]) for row in page.splitlines() if row.startswith(line))
    assert value == before + 1
    assert "agentls_task_duration_seconds_bucket" in page


@pytest.mark.parametrize(
    "hostile",
    [
        "; rm -rf ~; touch pwned",
        "$(touch pwned)",
        "`touch pwned`",
        "line\ntouch pwned",
        "it's \"quoted\" ' && touch pwned",
    ],
)
def test_injection_strings_reach_the_agent_literally_and_run_nothing(
    workspace: Path, scenario: Scenario, fake_log: object, hostile: str
) -> None:
    name = "odd $(touch pwned) `x` ; name.py".replace("/", "")
    (workspace / name).write_text("x = 1\n")
    scenario("ok", reply="fine")
    for agent in ("claude", "codex", "gemini", "copilot"):
        done = agentls(
            "exec",
            agent,
            name,
            "--task",
            "explain",
            "--instruction",
            hostile,
            "--no-cache",
            cwd=workspace,
        )
        assert done.returncode == 0, done.stderr
    calls = fake_log()  # type: ignore[operator]
    assert len(calls) == 4
    for call in calls:
        assert hostile in call["prompt"] and name in call["prompt"]
    assert not list(workspace.rglob("pwned")) and not Path("pwned").exists()


def test_control_characters_and_huge_instructions_are_refused(workspace: Path) -> None:
    bell = agentls(
        "exec", "ruff", "calc.py", "--task", "review", "--instruction", "a\x07b", cwd=workspace
    )
    assert bell.returncode == 2 and "control character" in bell.stderr
    huge = agentls(
        "exec", "ruff", "calc.py", "--task", "review", "--instruction", "x" * 30_000, cwd=workspace
    )
    assert huge.returncode == 2 and "settings.max_instruction_bytes" in huge.stderr
