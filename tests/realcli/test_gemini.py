"""Gemini CLI, the real CLI, driven by agentls against the mock Gemini API.

Gemini answers a review or a text-mode implement in its headless ``stream-json`` mode; these
tests check what agentls reads from it (findings, edits, session, usage, error kinds) and what
gemini sent the API (the tools a read-only run offers, the prompt, a resumed conversation).
Gemini retries 429 and 5xx itself with a 5-30 s backoff, so those tests give the step a short
``timeout_s`` and check that agentls names the error gemini was still retrying.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.realcli.conftest import RealCLI, real_cli
from tests.realcli.mock import Failure, MockModelAPI, Recorded, say
from tests.realcli.mock.gemini import DAILY_QUOTA, SIDE_INPUT_TOKENS

FINDINGS = (
    '```json\n{"findings": [{"line": 6, "severity": "warning", "message": "empty list"}]}\n```'
)
MEAN = "def mean(values):\n    return sum(values) / len(values) if values else 0.0\n"
WRITE_TOOLS = {"replace", "write_file", "edit", "run_shell_command"}
SHORT_TIMEOUT_S = 6
"""Long enough for gemini to start and fail its first call; gemini waits 5 s or more before
its first retry, so a persistent error is still being retried when the time runs out."""
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@pytest.fixture
def gemini(api: MockModelAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RealCLI:
    return real_cli("gemini", api, tmp_path, monkeypatch)


def tools(turn: Recorded) -> set[str]:
    """The function declarations gemini offered the model in ``turn``."""
    return {
        str(declaration["name"])
        for tool in turn.body.get("tools") or []
        for declaration in tool.get("functionDeclarations") or []
    }


def texts(turn: Recorded) -> list[tuple[str, str]]:
    """``turn``'s conversation: (role, text) of every text part, in order."""
    return [
        (str(content.get("role")), str(part["text"]))
        for content in turn.body.get("contents") or []
        for part in content.get("parts") or []
        if "text" in part
    ]


def error_of(result: dict[str, Any]) -> dict[str, str]:
    error = result["error"]
    assert isinstance(error, dict), result
    return error


def one_step(cli: RealCLI, task: str) -> str:
    """A workflow of one text-mode ``task`` step by gemini: its name."""
    name = f"gemini-{task}"
    cli.configure(workflows={name: {"steps": [{"agent": "gemini", "task": task}]}})
    return name


def run_json(cli: RealCLI, *args: str) -> dict[str, Any]:
    done = cli.agentls(*args, "--json")
    assert done.stdout, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_a_review_reads_findings_session_and_usage(gemini: RealCLI) -> None:
    gemini.api.script(FINDINGS)
    result: dict[str, Any] = gemini.exec_json("calc.py", "--task", "review")
    assert result["status"] == "ok", result
    assert [(f["line"], f["message"]) for f in result["findings"]] == [(6, "empty list")]
    assert UUID.match(str(result["session_id"])), result["session_id"]
    # gemini counts its model router's side request in the usage it reports
    assert result["usage"]["input_tokens"] == 100 + SIDE_INPUT_TOKENS
    [turn] = gemini.api.turns()
    assert turn.headers["x-goog-api-key"]
    prompt = "\n".join(text for role, text in texts(turn) if role == "user")
    assert "calc.py" in prompt and "return sum(values) / len(values)" in prompt


def test_a_review_is_offered_no_tool_that_writes(gemini: RealCLI) -> None:
    gemini.api.script(FINDINGS)
    result: dict[str, Any] = gemini.exec_json("calc.py", "--task", "review")
    assert result["status"] == "ok", result
    [turn] = gemini.api.turns()
    offered = tools(turn)
    assert "read_file" in offered  # it may read the workspace...
    assert not offered & WRITE_TOOLS, offered  # ...but not change it (--approval-mode default)


def test_an_implement_in_text_mode_proposes_the_code_block_as_an_edit(gemini: RealCLI) -> None:
    workflow = one_step(gemini, "implement")
    before = (gemini.workspace / "calc.py").read_text()
    gemini.api.script(say(f"Here it is.\n```python\n{MEAN}```\n"))
    run = run_json(gemini, "run", workflow, "calc.py:5-6", "--instruction", "handle []")
    assert run["status"] == "ok", run
    [edit] = run["edits"]
    assert edit["path"] == "calc.py"
    assert "+    return sum(values) / len(values) if values else 0.0" in edit["diff"]
    assert (gemini.workspace / "calc.py").read_text() == before  # proposed, not written
    [turn] = gemini.api.turns()
    assert not tools(turn) & WRITE_TOOLS  # a text-mode step runs read-only too
    assert "handle []" in "\n".join(text for _, text in texts(turn))


@pytest.mark.parametrize(
    ("status", "message"),
    [(401, "API key not valid. Please pass a valid API key."), (403, "Permission denied")],
)
def test_a_refused_key_is_an_auth_error_at_once(gemini: RealCLI, status: int, message: str) -> None:
    gemini.api.always(Failure(status, message))
    result: dict[str, Any] = gemini.exec_json("calc.py", "--task", "review")
    assert result["status"] == "failed"
    error = error_of(result)
    assert error["kind"] == "auth", error
    assert f"API answered {status}" in error["message"] and message in error["message"]
    assert "GEMINI_API_KEY" in error["message"]  # what to do about it
    assert len(gemini.api.turns()) == 1  # neither gemini nor agentls tried again


@pytest.mark.parametrize(("status", "kind"), [(429, "rate_limit"), (500, "transient")])
def test_a_persistent_api_error_is_named_when_the_step_times_out(
    gemini: RealCLI, status: int, kind: str
) -> None:
    gemini.configure(agents={"gemini": {"timeout_s": SHORT_TIMEOUT_S}})
    gemini.api.always(Failure(status))
    result: dict[str, Any] = gemini.exec_json("calc.py", "--task", "review")
    assert result["status"] == "failed"
    error = error_of(result)
    assert error["kind"] == kind, error  # not "timeout": what gemini kept retrying
    assert f"API answered {status}" in error["message"], error
    assert f"{SHORT_TIMEOUT_S} s ran out" in error["message"], error
    assert gemini.api.turns()


def test_a_daily_quota_is_a_rate_limit_without_waiting(gemini: RealCLI) -> None:
    gemini.configure(agents={"gemini": {"retries": 0}})
    gemini.api.always(Failure(429, DAILY_QUOTA))
    result: dict[str, Any] = gemini.exec_json("calc.py", "--task", "review")
    error = error_of(result)
    assert error["kind"] == "rate_limit", error
    assert "daily quota" in error["message"] and "ran out" not in error["message"]
    assert len(gemini.api.turns()) == 1  # gemini gives up on a daily quota at once


def test_an_empty_reply_is_asked_again_then_a_transient_error(gemini: RealCLI) -> None:
    # gemini asks four times itself (nudging the model), then gives up with an error event
    # and no error object: transient, said so, and agentls adds no tries of its own
    gemini.api.script(*[say("")] * 3, FINDINGS)
    result: dict[str, Any] = gemini.exec_json("calc.py", "--task", "review")
    assert result["status"] == "ok", result
    assert [f["line"] for f in result["findings"]] == [6]
    gemini.api.script(*[say("")] * 5)
    failed: dict[str, Any] = gemini.exec_json("calc.py", "--task", "review", "--no-cache")
    assert error_of(failed)["kind"] == "transient", failed
    assert "empty" in error_of(failed)["message"]
    assert len(gemini.api.turns()) == 4 + 4


def test_a_persistent_429_ends_after_the_agents_retries_saying_so(gemini: RealCLI) -> None:
    gemini.configure(agents={"gemini": {"retries": 1}})
    gemini.api.always(Failure(429))
    result: dict[str, Any] = gemini.exec_json("calc.py", "--task", "review")
    error = error_of(result)
    assert error["kind"] == "rate_limit", error
    assert "API answered 429" in error["message"] and "ran out" not in error["message"]
    assert len(gemini.api.turns()) == 2  # its call and one retry: the budget, not minutes


@pytest.mark.parametrize("sandbox", ["os", "off"])
def test_api_error_reports_stay_out_of_the_temp_folder(
    gemini: RealCLI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox: str
) -> None:
    """On an API error gemini writes ``gemini-client-error-*.json`` (the request: the user's
    code), world-readable, into its temp folder; agentls gives it a private one. With
    ``sandbox: off`` nothing else (bubblewrap's own /tmp) keeps it from the real one."""
    gemini.configure(agents={"gemini": {"sandbox": sandbox}})
    temp = tmp_path / "system-temp"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))  # the temp folder agentls and its agents see
    gemini.api.always(Failure(401))
    result: dict[str, Any] = gemini.exec_json("calc.py", "--task", "review")
    assert error_of(result)["kind"] == "auth"
    assert gemini.api.turns()
    assert not [p.name for p in temp.rglob("gemini-client-error-*")]


def test_a_follow_up_resumes_the_session_with_the_earlier_turns(gemini: RealCLI) -> None:
    workflow = one_step(gemini, "implement")
    first = f"First version.\n```python\n{MEAN}```\n"
    gemini.api.script(say(first), say(f"With a docstring.\n```python\n{MEAN}```\n"))
    run = run_json(gemini, "run", workflow, "calc.py:5-6", "--instruction", "handle []")
    assert run["status"] == "ok", run
    followup = run_json(gemini, "followup", run["run_id"], "add a docstring")
    assert followup["status"] == "ok", followup
    earlier, resumed = gemini.api.turns()
    conversation = texts(resumed)
    assert texts(earlier)[-1] in conversation  # the first request, from gemini's session
    assert ("model", first.strip()) in conversation  # and the model's first answer
    assert "add a docstring" in conversation[-1][1]
