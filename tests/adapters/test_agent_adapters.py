"""The four agent adapters against fakes that speak the real CLIs' formats and failures."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from agentls.adapters.confinement import probe
from agentls.domain.results import ErrorKind, LineRange, TaskKind, TaskResult
from agentls.orchestration.config_loader import load_config
from agentls.orchestration.tasks import TaskSpec, run_task
from tests.conftest import FAKES_BIN, Scenario, write_trusted
from tests.processes import alive, marked

TOOLS = ["claude", "codex", "gemini", "copilot"]
READ_ONLY_FLAGS = {
    "claude": ["--permission-mode", "default"],
    "codex": ["-s", "read-only"],
    "gemini": ["--approval-mode", "default"],
    "copilot": ["--deny-tool", "write"],
}
WRITE_FLAGS = {
    "claude": ["--permission-mode", "acceptEdits"],
    "codex": ["-s", "workspace-write"],
    "gemini": ["--approval-mode", "auto_edit"],
    "copilot": ["--allow-tool", "write"],
}
RESUME_FLAGS = {
    "claude": ["--resume", "sess-41"],
    "codex": ["resume", "sess-41"],
    "gemini": ["--resume", "sess-41"],
    "copilot": ["--resume=sess-41"],
}
CREDENTIAL = {
    "claude": "ANTHROPIC_API_KEY",
    "codex": "CODEX_API_KEY",
    "gemini": "GEMINI_API_KEY",
    "copilot": "COPILOT_GITHUB_TOKEN",
}
FINDINGS_REPLY = (
    "Review done.\n```json\n"
    + json.dumps(
        {
            "findings": [
                {
                    "line": 6,
                    "severity": "error",
                    "message": "ZeroDivisionError on an empty list",
                    "code": "empty-mean",
                    "suggestion": "    return sum(values) / len(values) if values else 0.0\n",
                }
            ]
        }
    )
    + "\n```\n"
)
Log = Callable[[], list[dict[str, Any]]]


def override(workspace: Path, agent: str, **fields: Any) -> None:
    path = workspace / ".agentls.yaml"
    data = yaml.safe_load(path.read_text())
    data.setdefault("agents", {})[agent] = fields
    write_trusted(path, yaml.safe_dump(data))


def run(
    workspace: Path,
    agent: str,
    task: TaskKind,
    *,
    write: bool = False,
    session_id: str | None = None,
    selection: LineRange | None = None,
    lines: list[str] | None = None,
) -> TaskResult:
    spec = TaskSpec(
        agent=agent,
        task=task,
        workspace=workspace,
        path="calc.py",
        selection=selection,
        write=write,
        session_id=session_id,
    )
    on_line = lines.append if lines is not None else None
    return asyncio.run(run_task(load_config(workspace), spec, on_line))


def contains(argv: list[str], flags: list[str]) -> bool:
    return any(argv[i : i + len(flags)] == flags for i in range(len(argv)))


@pytest.fixture(params=TOOLS)
def tool(request: pytest.FixtureRequest, credentials: None) -> str:
    return str(request.param)


def test_review_finds_problems_read_only_with_the_prompt_on_the_right_channel(
    tool: str, workspace: Path, scenario: Scenario, fake_log: Log, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UNRELATED_DATABASE_PASSWORD", "do-not-leak-me")
    scenario("ok", reply=FINDINGS_REPLY)
    progress: list[str] = []
    result = run(workspace, tool, TaskKind.REVIEW, lines=progress)
    assert result.ok, result.error
    [finding] = result.findings
    assert (finding.path, finding.line, finding.code, finding.agent) == (
        "calc.py",
        6,
        "empty-mean",
        tool,
    )
    assert finding.suggestion and "if values else 0.0" in finding.suggestion
    assert result.session_id
    assert progress, "progress lines were streamed"
    [call] = fake_log()
    assert contains(call["argv"], READ_ONLY_FLAGS[tool])
    assert "6 |     return sum(values) / len(values)" in call["prompt"]
    assert call["stdin"] is not None  # the prompt is not in argv (copilot: piped, no -p)
    assert "UNRELATED_DATABASE_PASSWORD" not in call["env"]
    assert CREDENTIAL[tool] in call["env"] or tool == "copilot"
    if tool == "claude":
        assert result.usage.cost_usd and result.usage.input_tokens and result.usage.output_tokens
    elif tool == "copilot":
        assert result.usage.premium_requests
    else:
        assert result.usage.input_tokens and result.usage.output_tokens


def test_implement_reply_becomes_an_edit_of_the_selection(
    tool: str, workspace: Path, scenario: Scenario
) -> None:
    reply = (
        "Here you go:\n```python\n"
        "def mean(values):\n    return sum(values) / max(len(values), 1)\n```\n"
    )
    scenario("ok", reply=reply)
    result = run(workspace, tool, TaskKind.IMPLEMENT, selection=LineRange(start=5, end=6))
    assert result.ok, result.error
    [edit] = result.edits
    assert edit.path == "calc.py" and edit.range == LineRange(start=5, end=6)
    assert "max(len(values), 1)" in edit.new_text
    assert "max(len" not in (workspace / "calc.py").read_text()  # nothing written


def test_write_mode_lets_the_agent_edit_and_reports_the_files(
    tool: str, workspace: Path, scenario: Scenario, fake_log: Log
) -> None:
    scenario("ok", reply="Added a guard.", edits={"calc.py": "GUARDED = True\n"})
    result = run(workspace, tool, TaskKind.REFINE, write=True)
    assert result.ok, result.error
    assert contains(fake_log()[0]["argv"], WRITE_FLAGS[tool])
    assert (workspace / "calc.py").read_text() == "GUARDED = True\n"
    assert result.changed_files == ["calc.py"]  # workspace-relative, as edits name files


def test_read_only_mode_leaves_files_alone(tool: str, workspace: Path, scenario: Scenario) -> None:
    before = (workspace / "calc.py").read_text()
    scenario("ok", reply='{"findings": []}', edits={"calc.py": "CHANGED\n"})
    result = run(workspace, tool, TaskKind.REVIEW)
    assert result.ok, result.error
    assert (workspace / "calc.py").read_text() == before
    assert result.changed_files == []


def test_follow_up_resumes_the_session(
    tool: str, workspace: Path, scenario: Scenario, fake_log: Log
) -> None:
    scenario("ok", reply="It adds numbers.")
    result = run(workspace, tool, TaskKind.EXPLAIN, session_id="sess-41")
    assert result.ok and result.text == "It adds numbers."
    assert result.session_id == "sess-41"
    assert contains(fake_log()[0]["argv"], RESUME_FLAGS[tool])


@pytest.mark.parametrize("agent", TOOLS)
def test_missing_credentials_fail_at_once_with_what_to_set(
    agent: str, workspace: Path, scenario: Scenario, fake_log: Log
) -> None:
    scenario("ok")
    result = run(workspace, agent, TaskKind.EXPLAIN)
    assert result.error is not None and result.error.kind is ErrorKind.AUTH, result.error
    assert CREDENTIAL[agent] in result.error.message
    assert len(fake_log()) == 1, "auth failures are never retried"


RETRIED_BY_AGENTLS = ["codex"]  # the other CLIs retry by themselves (tests/realcli shows it)


@pytest.mark.parametrize("tool", RETRIED_BY_AGENTLS)
def test_rate_limit_is_retried_then_succeeds(
    tool: str, workspace: Path, scenario: Scenario, fake_log: Log, credentials: None
) -> None:
    scenario("rate_limit_once", reply="fine now")
    result = run(workspace, tool, TaskKind.EXPLAIN)
    assert result.ok, result.error
    assert result.text == "fine now" and result.attempts == 2
    assert len(fake_log()) == 2


@pytest.mark.parametrize("tool", RETRIED_BY_AGENTLS)
@pytest.mark.parametrize("behavior", ["rate_limit", "server_error"])
def test_retryable_failures_give_up_after_the_configured_retries(
    tool: str, workspace: Path, scenario: Scenario, fake_log: Log, behavior: str, credentials: None
) -> None:
    override(workspace, tool, retries=1)
    scenario(behavior)
    result = run(workspace, tool, TaskKind.EXPLAIN)
    expected = ErrorKind.RATE_LIMIT if behavior == "rate_limit" else ErrorKind.TRANSIENT
    assert result.error is not None and result.error.kind is expected, result.error
    assert "gave up after 2 attempts" in result.error.message
    assert len(fake_log()) == 2


@pytest.mark.parametrize("tool", [t for t in TOOLS if t not in RETRIED_BY_AGENTLS])
def test_a_cli_that_retries_by_itself_gets_no_retries_on_top(
    tool: str, workspace: Path, scenario: Scenario, fake_log: Log, credentials: None
) -> None:
    override(workspace, tool, retries=3)
    scenario("rate_limit")
    result = run(workspace, tool, TaskKind.EXPLAIN)
    assert result.error is not None and result.error.kind is ErrorKind.RATE_LIMIT
    [call] = fake_log()  # the CLI retried (tests/realcli shows it does), agentls did not
    if tool == "claude":  # told how often
        assert "CLAUDE_CODE_MAX_RETRIES" in call["env"]


def test_a_hanging_agent_times_out_and_leaves_no_process(
    tool: str, workspace: Path, scenario: Scenario
) -> None:
    override(workspace, tool, timeout_s=1.0)
    scenario("hang")
    result = run(workspace, tool, TaskKind.EXPLAIN)
    assert result.error is not None and result.error.kind is ErrorKind.TIMEOUT
    assert f"agents.{tool}.timeout_s" in result.error.message
    assert fake_processes(tool) == []


def test_a_crash_mid_stream_is_a_crash(tool: str, workspace: Path, scenario: Scenario) -> None:
    scenario("crash")
    result = run(workspace, tool, TaskKind.EXPLAIN)
    assert result.error is not None and result.error.kind is ErrorKind.CRASH, result.error
    assert "signal" in result.error.message or "exit code" in result.error.message


def test_garbage_output_is_bad_output(tool: str, workspace: Path, scenario: Scenario) -> None:
    scenario("garbage")
    result = run(workspace, tool, TaskKind.EXPLAIN)
    assert result.error is not None and result.error.kind is ErrorKind.BAD_OUTPUT, result.error
    assert tool in result.error.message


def test_huge_output_is_capped_and_the_final_answer_still_read(
    tool: str, workspace: Path, scenario: Scenario
) -> None:
    data = yaml.safe_load((workspace / ".agentls.yaml").read_text())
    data["settings"]["max_output_bytes"] = 1024 * 1024
    write_trusted(workspace / ".agentls.yaml", yaml.safe_dump(data))
    size = 50 * 1024 * 1024 if tool == "claude" else 5 * 1024 * 1024
    scenario("huge", reply="the end", huge_bytes=size)
    result = run(workspace, tool, TaskKind.EXPLAIN)
    assert result.output_truncated
    assert result.ok, result.error
    assert result.text.endswith("the end")


def test_orphaned_grandchildren_are_stopped(
    tool: str, workspace: Path, scenario: Scenario, tmp_path: Path
) -> None:
    override(workspace, tool, sandbox="off")  # uncontained: the supervisor alone ends them
    path = scenario("orphan", reply="done")
    result = run(workspace, tool, TaskKind.EXPLAIN)
    assert result.ok, result.error
    pid = int(Path(f"{path}.orphan_pid").read_text())
    assert not alive(pid)


@pytest.mark.parametrize("agent", TOOLS)
def test_missing_binary_says_how_to_install(agent: str, workspace: Path) -> None:
    override(workspace, agent, command=[f"no-such-{agent}"])
    result = run(workspace, agent, TaskKind.EXPLAIN)
    assert result.error is not None and result.error.kind is ErrorKind.MISSING_BINARY
    assert "npm install -g" in result.error.message
    assert f"agents.{agent}.command" in result.error.message


def test_claude_valid_result_with_exit_code_1_is_success(
    credentials: None, workspace: Path, scenario: Scenario
) -> None:
    scenario("exit_after_result", reply="all good")
    result = run(workspace, "claude", TaskKind.EXPLAIN)
    assert result.ok and result.text == "all good" and result.exit_code == 1


def test_claude_json_array_output_is_read(
    credentials: None, workspace: Path, scenario: Scenario
) -> None:
    override(workspace, "claude", extra_args=["--output-format", "json"])
    scenario("ok", reply="from the array")
    result = run(workspace, "claude", TaskKind.EXPLAIN)
    assert result.ok and result.text == "from the array"


@pytest.mark.parametrize("agent", ["claude", "gemini"])
def test_turn_limit_is_an_agent_error(
    agent: str, credentials: None, workspace: Path, scenario: Scenario, fake_log: Log
) -> None:
    scenario("max_turns")
    result = run(workspace, agent, TaskKind.EXPLAIN)
    assert result.error is not None and result.error.kind is ErrorKind.AGENT_ERROR
    assert "turn" in result.error.message
    assert len(fake_log()) == 1


def test_copilot_takes_a_prompt_too_large_for_argv_on_stdin(
    credentials: None, workspace: Path, scenario: Scenario, fake_log: Log
) -> None:
    (workspace / "calc.py").write_text("x = 1\n" * 30_000)  # past Linux's 128 KiB argument
    scenario("ok")
    result = run(workspace, "copilot", TaskKind.EXPLAIN)
    assert result.ok, result.error
    [call] = fake_log()
    assert len(call["stdin"]) > 128 * 1024 and "-p" not in call["argv"]


def fake_processes(tool: str) -> list[int]:
    """Processes still running the fake of ``tool``."""
    return marked(str(FAKES_BIN / tool))


@pytest.mark.parametrize("contained", [True, False])
def test_a_step_that_may_not_write_cannot_though_the_clis_own_sandbox_failed(
    tool: str, workspace: Path, scenario: Scenario, tmp_path: Path, contained: bool
) -> None:
    if contained and not probe().usable:
        pytest.skip(f"no OS sandbox here: {probe().reason}")
    if not contained:
        override(workspace, tool, sandbox="off")  # shows what the attack does unconfined
    outside = tmp_path / "outside.txt"
    writes = {str(workspace / "calc.py"): "pwned\n", str(outside): "pwned\n"}
    scenario("ok", reply=FINDINGS_REPLY, rogue_writes=writes, own_sandbox_failed=True)
    result = run(workspace, tool, TaskKind.REVIEW)
    assert result.ok, result.error
    if contained:
        assert result.containment == "os"
        assert (workspace / "calc.py").read_text() != "pwned\n"
        assert not outside.exists()
    else:
        assert result.containment is None
        assert (workspace / "calc.py").read_text() == "pwned\n"
