"""The ``agentls`` command as a user runs it: a real process, the fakes on PATH."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from agentls.adapters.claude import ClaudeAdapter
from agentls.adapters.confinement import probe
from tests.conftest import Scenario, write_trusted

FINDINGS = '{"findings": [{"line": 2, "severity": "warning", "message": "no types", "code": "T1"}]}'


def agentls(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentls", *args],
        cwd=cwd,
        env=dict(os.environ, COLUMNS="200"),
        capture_output=True,
        text=True,
        timeout=120,
    )


def start(workspace: Path, *args: str) -> subprocess.Popen[str]:
    """``agentls ARGS`` started in ``workspace``, not waited for (to signal it mid-run)."""
    return subprocess.Popen(
        [sys.executable, "-m", "agentls", *args],
        cwd=workspace,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )


@pytest.mark.parametrize("agent", ["claude", "codex", "gemini", "copilot"])
def test_exec_json_against_each_fake(
    agent: str, workspace: Path, scenario: Scenario, credentials: None
) -> None:
    scenario("ok", reply=FINDINGS)
    done = agentls("exec", agent, "calc.py:1-2", "--task", "review", "--json", cwd=workspace)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert set(result) == {
        "agent",
        "task",
        "status",
        "text",
        "findings",
        "edits",
        "refused",
        "session_id",
        "usage",
        "duration_s",
        "attempts",
        "cached",
        "containment",
        "notes",
        "error",
    }
    assert (result["agent"], result["task"], result["status"]) == (agent, "review", "ok")
    assert result["findings"] == [
        {
            "path": "calc.py",
            "line": 2,
            "end_line": None,
            "severity": "warning",
            "message": "no types",
            "code": "T1",
            "suggestion": None,
        }
    ]
    assert set(result["usage"]) == {
        "input_tokens", "output_tokens", "cost_usd", "premium_requests", "estimated"
    }  # fmt: skip
    assert result["error"] is None and result["session_id"]
    assert result["containment"] == ("os" if probe().usable else None)


def test_exec_readable_output_shows_the_proposed_diff(
    workspace: Path, scenario: Scenario, credentials: None
) -> None:
    scenario("ok", reply="```python\ndef add(a: int, b: int) -> int:\n```")
    done = agentls("exec", "codex", "calc.py:1", "--task", "refine", cwd=workspace)
    assert done.returncode == 0, done.stderr
    assert "-def add(a, b):" in done.stdout
    assert "+def add(a: int, b: int) -> int:" in done.stdout
    assert "def add(a, b):" in (workspace / "calc.py").read_text()


def test_a_failed_task_exits_non_zero_with_one_clear_line(
    workspace: Path, scenario: Scenario
) -> None:
    scenario("ok")  # no credentials set: the fake fails authentication
    done = agentls("exec", "gemini", "calc.py", "--task", "explain", "--json", cwd=workspace)
    assert done.returncode == 1
    result = json.loads(done.stdout)
    assert result["status"] == "failed" and result["error"]["kind"] == "auth"
    assert "GEMINI_API_KEY" in result["error"]["message"]
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["exec", "nobody", "calc.py", "--task", "review"], "no agent named 'nobody'"),
        (["exec", "ruff", "missing.py", "--task", "review"], "does not exist"),
        (["exec", "ruff", "calc.py:5-40", "--task", "review"], "outside calc.py, which has 6"),
        (["exec", "ruff", "calc.py:3-2", "--task", "review"], "not a line range"),
        (
            ["exec", "ruff", "../x.py", "--task", "review", "--workspace", "."],
            "outside the workspace",
        ),
        (["exec", "aider", "calc.py", "--task", "review"], "agent 'aider' is disabled"),
    ],
)
def test_bad_input_is_one_line_without_traceback(
    workspace: Path, args: list[str], expected: str
) -> None:
    (workspace.parent / "x.py").write_text("x = 1\n")
    done = agentls(*args, cwd=workspace)
    assert done.returncode == 2
    assert expected in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_bad_config_names_the_file_and_key(workspace: Path) -> None:
    write_trusted(workspace / ".agentls.yaml", "agents:\n  claude:\n    retries: many\n")
    done = agentls("exec", "claude", "calc.py", "--task", "review", cwd=workspace)
    assert done.returncode == 2
    assert ".agentls.yaml:3: agents.claude.retries" in done.stderr
    assert "Traceback" not in done.stderr


def test_exec_with_the_offline_reviewer(workspace: Path) -> None:
    (workspace / "bad.py").write_text("import os\nprint(undefined)\n")
    done = agentls("exec", "ruff", "bad.py", "--task", "review", "--json", cwd=workspace)
    assert done.returncode == 0, done.stderr
    codes = {f["code"] for f in json.loads(done.stdout)["findings"]}
    assert {"F401", "F821"} <= codes


def test_agents_table_reports_binaries_versions_and_credentials(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GEMINI_API_KEY", "set-for-this-test")
    done = agentls("agents", "--json", cwd=workspace)
    assert done.returncode == 0, done.stderr
    rows = {row["name"]: row for row in json.loads(done.stdout)}
    assert rows["claude"]["binary"].endswith("tests/fakes/bin/claude")
    assert rows["claude"]["version"].startswith("2.1")
    assert rows["claude"]["credentials"] is False
    assert rows["gemini"]["credentials"] is True
    assert rows["ruff"]["credentials"] is None and rows["ruff"]["ready"]
    assert rows["aider"]["enabled"] is False
    table = agentls("agents", cwd=workspace)
    assert "claude" in table.stdout and "not found" not in table.stdout.split("claude-acp")[0]
    disabled = " ".join(table.stdout.split("Disabled")[1].split())
    assert "claude-acp: Claude Code over ACP (npm install -g @zed-industries/claude-agent-acp)" in (
        disabled
    )


def test_doctor_says_what_is_missing(workspace: Path, tmp_path: Path) -> None:
    write_trusted(
        workspace / ".agentls.yaml", "agents:\n  codex:\n    command: [codex-not-installed]\n"
    )
    done = agentls("doctor", cwd=workspace)
    assert done.returncode == 0  # other agents can run: a missing one is a note
    assert "configuration is valid" in done.stdout
    assert "note codex: `codex-not-installed` is not on PATH" in done.stdout
    assert "npm install -g @openai/codex" in done.stdout
    assert "ok  ruff" in done.stdout


@pytest.mark.parametrize(
    ("reported", "said"),
    [
        ("2.1.197 (Claude Code)", "older than agentls was verified with"),
        ("9.0.0 (Claude Code)", "newer than agentls was verified with"),
    ],
)
def test_doctor_says_when_a_cli_is_not_a_verified_version(
    workspace: Path, scenario: Scenario, reported: str, said: str
) -> None:
    scenario("ok", version=reported)
    done = agentls("doctor", cwd=workspace)
    oldest, newest = ClaudeAdapter.verified or ("", "")
    line = next(line for line in done.stdout.splitlines() if "claude: version" in line)
    assert said in line and f"({oldest} to {newest})" in line
    assert f"@anthropic-ai/claude-code@{newest}" in line


def test_doctor_is_quiet_about_a_verified_version(workspace: Path, scenario: Scenario) -> None:
    scenario("ok", version=f"{(ClaudeAdapter.verified or ('', ''))[1]} (Claude Code)")
    assert "claude: version" not in agentls("doctor", cwd=workspace).stdout


def test_schema_command_prints_the_committed_schema() -> None:
    root = Path(__file__).parents[2]
    done = agentls("config", "schema", cwd=root)
    assert done.stdout == (root / "config" / "schema.json").read_text()


def test_verbose_logs_go_to_stderr_and_never_show_secrets(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789"
    monkeypatch.setenv("ANTHROPIC_API_KEY", secret)
    write_trusted(
        workspace / ".agentls.yaml",
        'agents:\n  ruff:\n    extra_args: [--config, \'lint.per-file-ignores = {"x" = ["'
        + secret
        + "\"]}']\n",
    )
    done = agentls(
        "-vv", "--log-json", "exec", "ruff", "calc.py", "--task", "review", "--json", cwd=workspace
    )
    assert "agent starting" in done.stderr and "agent finished" in done.stderr
    assert secret not in done.stderr and secret not in done.stdout
    assert "[REDACTED]" in done.stderr
    json.loads(done.stdout)  # stdout holds only the result


def test_an_untrusted_repository_runs_nothing_until_trusted(tmp_path: Path) -> None:
    repository = tmp_path / "cloned"
    repository.mkdir()
    marker = tmp_path / "ran"
    program = tmp_path / "program"
    program.write_text(f"#!{sys.executable}\nopen({str(marker)!r}, 'w').write('ran')\n")
    program.chmod(0o755)
    (repository / ".agentls.yaml").write_text(
        f"agents:\n  claude:\n    command: [{program}]\n"
        f"  mine:\n    adapter: command\n    command: [{program}]\n"
    )
    listed = agentls("agents", cwd=repository)
    assert listed.returncode == 0, listed.stderr
    assert not marker.exists() and "mine" not in listed.stdout
    assert "ignored agents.claude.command, agents.mine" in listed.stderr
    assert f"agentls trust {repository}" in listed.stderr
    trusted = agentls("trust", str(repository), cwd=tmp_path)
    assert trusted.returncode == 0, trusted.stderr
    assert "agents.claude.command:" in trusted.stdout and "agents.mine:" in trusted.stdout
    listed = agentls("agents", cwd=repository)
    assert marker.exists() and "mine" in listed.stdout and "ignored" not in listed.stderr
    forgotten = agentls("trust", "--forget", str(repository), cwd=tmp_path)
    assert "no longer trusted" in forgotten.stdout
    marker.unlink()
    agentls("agents", cwd=repository)
    assert not marker.exists()


def test_config_show_says_what_an_untrusted_file_could_not_set(tmp_path: Path) -> None:
    (tmp_path / ".agentls.yaml").write_text("settings:\n  audit:\n    enabled: false\n")
    shown = agentls("config", "show", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "settings.audit: a workspace file cannot change auditing" in shown.stderr
    assert yaml.safe_load(shown.stdout.split("\n", 3)[-1])["settings"]["audit"]["enabled"]
