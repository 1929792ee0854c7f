"""The fakes fail the way the real CLIs do (so the adapters are tested against the truth)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import FAKES_BIN


def fake(tool: str, *args: str, cwd: Path, stdin: str = "hi") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(FAKES_BIN / tool), *args], cwd=cwd, input=stdin, capture_output=True, text=True
    )


@pytest.mark.parametrize(
    ("tool", "code", "message"),
    [
        ("claude", 1, "error: unknown option '--bogus'"),
        ("codex", 2, "error: unexpected argument '--bogus' found"),
        ("gemini", 1, "Unknown argument"),
        ("copilot", 1, "error: Invalid command format."),
    ],
)
def test_unknown_flags_are_usage_errors(tool: str, code: int, message: str, tmp_path: Path) -> None:
    args = ["exec", "--bogus"] if tool == "codex" else ["-p", "x", "--bogus"]
    done = fake(tool, *args, cwd=tmp_path)
    assert done.returncode == code and message in done.stderr


def test_claude_stream_json_needs_verbose(tmp_path: Path) -> None:
    done = fake("claude", "-p", "--output-format", "stream-json", cwd=tmp_path)
    assert done.returncode == 1 and "requires --verbose" in done.stderr


def test_codex_refuses_to_run_outside_git_without_the_flag(tmp_path: Path) -> None:
    done = fake("codex", "exec", "--json", "-", cwd=tmp_path)
    assert done.returncode == 1
    assert "Not inside a trusted directory and --skip-git-repo-check" in done.stderr


def test_gemini_refuses_an_untrusted_folder(tmp_path: Path) -> None:
    done = fake("gemini", "-p", "x", "-o", "json", cwd=tmp_path)
    assert done.returncode == 55


def test_gemini_auth_failure_is_json_on_stderr_in_json_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GEMINI_CLI_TRUST_WORKSPACE", "true")
    done = fake("gemini", "-p", "x", "-o", "json", cwd=tmp_path)
    assert done.returncode == 41 and done.stdout == ""
    assert json.loads(done.stderr)["error"]["type"] == "FatalAuthenticationError"


def test_claude_json_output_is_one_line_or_an_array_when_verbose(
    tmp_path: Path, credentials: None
) -> None:
    single = fake("claude", "-p", "--output-format", "json", cwd=tmp_path)
    assert json.loads(single.stdout)["type"] == "result"
    verbose = fake("claude", "-p", "--output-format", "json", "--verbose", cwd=tmp_path)
    messages = json.loads(verbose.stdout)
    assert isinstance(messages, list) and messages[-1]["type"] == "result"


def test_every_stream_line_is_json(tmp_path: Path, credentials: None) -> None:
    (tmp_path / ".git").mkdir()
    runs = {
        "claude": ["-p", "--output-format", "stream-json", "--verbose"],
        "codex": ["exec", "--json", "--skip-git-repo-check", "-"],
        "copilot": ["-p", "x", "--output-format", "json"],
    }
    for tool, args in runs.items():
        done = fake(tool, *args, cwd=tmp_path)
        assert done.returncode == 0, (tool, done.stderr)
        events = [json.loads(line) for line in done.stdout.splitlines()]
        assert events and all("type" in e for e in events), tool
