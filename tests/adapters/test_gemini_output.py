"""The gemini adapter on what gemini 0.61.0 really printed (captured by tests/realcli), so the
parsing stays covered where the real CLI is not installed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agentls.adapters.base import AgentReply, TaskRequest
from agentls.adapters.gemini import GeminiAdapter
from agentls.adapters.runner import ProcessOutcome
from agentls.domain.config import AgentConfig, Settings
from agentls.domain.results import ErrorKind, TaskKind

SESSION = "7bd3b9f3-e6cd-4051-9c01-5fd98a099b42"
STATS = {
    "total_tokens": 135,
    "input_tokens": 110,
    "output_tokens": 25,
    "cached": 0,
    "input": 110,
    "duration_ms": 87,
    "tool_calls": 0,
}
API_401 = (
    '[API Error: {"error":{"code":401,"message":"API key not valid. Please pass a valid API '
    'key.","status":"UNAUTHENTICATED"}}]'
)
DAILY_QUOTA = (
    "[API Error: You have exhausted your daily quota on this model.]\nPlease wait and try again "
    "later. To increase your limits, request a quota increase through AI Studio, or switch to "
    "another /auth method"
)
EMPTY_REPLY = (
    "The model returned an empty response with no text or thoughts. This may be a transient "
    "API issue; please try again."
)
RETRYING_429 = """\
Warning: 256-color support not detected. Using a terminal with at least 256-color support is \
recommended for a better visual experience.
Ripgrep is not available. Falling back to GrepTool.
Attempt 1 failed with status 429. Retrying with backoff... _ApiError: \
{"error":{"code":429,"message":"rate limit exceeded","status":"RESOURCE_EXHAUSTED"}}
    at throwErrorIfNotOK (file:///gemini-cli/bundle/chunk-JDPZ4CE3.js:267833:24)
  status: 429
}
Attempt 2 failed with status 429. Retrying with backoff... _ApiError: \
{"error":{"code":429,"message":"rate limit exceeded","status":"RESOURCE_EXHAUSTED"}}
    at throwErrorIfNotOK (file:///gemini-cli/bundle/chunk-JDPZ4CE3.js:267833:24)
  status: 429
}
"""
NO_KEY = """\
When using Gemini API, you must specify the GEMINI_API_KEY environment variable.
Update your environment and try again (no reload needed if using .env)!
"""
NO_SESSION = "Error resuming session: No previous sessions found for this project.\n"


def adapter() -> GeminiAdapter:
    return GeminiAdapter("gemini", AgentConfig(adapter="gemini"), Settings())


def request(tmp_path: Path) -> TaskRequest:
    return TaskRequest(
        task=TaskKind.REVIEW, prompt="p", workspace=tmp_path, target="calc.py", file_text="a\n"
    )


def lines(*events: dict[str, Any]) -> str:
    head = [
        {"type": "init", "timestamp": "t", "session_id": SESSION, "model": "auto"},
        {"type": "message", "timestamp": "t", "role": "user", "content": "p"},
    ]
    return "".join(json.dumps(e) + "\n" for e in [*head, *events])


def result(status: str = "success", error: dict[str, str] | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {"type": "result", "timestamp": "t", "status": status}
    if error is not None:
        event["error"] = error
    return {**event, "stats": {**STATS, "models": {"mock-model": STATS}}}


def outcome(stdout: str = "", stderr: str = "", code: int = 0) -> ProcessOutcome:
    return ProcessOutcome(exit_code=code, stdout=stdout, stderr=stderr, duration_s=0.1)


def read(tmp_path: Path, stdout: str = "", stderr: str = "", code: int = 0) -> AgentReply:
    return adapter().read(request(tmp_path), outcome(stdout, stderr, code))


def test_a_reply_gives_text_session_and_usage(tmp_path: Path) -> None:
    said = {
        "type": "message",
        "timestamp": "t",
        "role": "assistant",
        "content": "hi",
        "delta": True,
    }
    reply = read(tmp_path, lines(said, result()))
    assert reply.error is None
    assert (reply.text, reply.session_id) == ("hi", SESSION)
    assert (reply.usage.input_tokens, reply.usage.output_tokens) == (110, 25)


def test_files_written_by_its_tools_are_changed_files(tmp_path: Path) -> None:
    tool_id = "write_file__write_file_1796607741372_0"
    used = {
        "type": "tool_use",
        "timestamp": "t",
        "tool_name": "write_file",
        "tool_id": tool_id,
        "parameters": {"file_path": "calc.py", "content": "x = 1\n"},
    }
    done = {"type": "tool_result", "timestamp": "t", "tool_id": tool_id, "status": "success"}
    assert read(tmp_path, lines(used, done, result())).changed_files == ["calc.py"]


def test_a_refused_key_is_auth_with_the_apis_words(tmp_path: Path) -> None:
    failed = result("error", {"type": "unknown", "message": API_401})
    reply = read(tmp_path, lines(failed), code=401 % 256)
    assert reply.error is not None and reply.error.kind is ErrorKind.AUTH
    assert "the API answered 401 UNAUTHENTICATED: API key not valid" in reply.error.message
    assert "[API Error" not in reply.error.message and "unknown" not in reply.error.message


def test_a_daily_quota_is_a_rate_limit(tmp_path: Path) -> None:
    failed = result("error", {"type": "unknown", "message": DAILY_QUOTA})
    reply = read(tmp_path, lines(failed), code=429 % 256)
    assert reply.error is not None and reply.error.kind is ErrorKind.RATE_LIMIT
    assert "You have exhausted your daily quota on this model" in reply.error.message
    assert "[API Error" not in reply.error.message and "\n" not in reply.error.message


def test_an_empty_reply_is_transient_and_says_so(tmp_path: Path) -> None:
    said = {"type": "error", "timestamp": "t", "severity": "error", "message": EMPTY_REPLY}
    reply = read(tmp_path, lines(said, result("error")))  # no error object, exit 0
    assert reply.error is not None and reply.error.kind is ErrorKind.TRANSIENT
    assert "empty reply" in reply.error.message
    assert "reported an error: error" not in reply.error.message


def test_a_warning_event_is_no_error(tmp_path: Path) -> None:
    said = {"type": "error", "timestamp": "t", "severity": "warning", "message": "loop?"}
    assert read(tmp_path, lines(said, result())).error is None


@pytest.mark.parametrize(
    ("status", "kind"), [(429, ErrorKind.RATE_LIMIT), (500, ErrorKind.TRANSIENT)]
)
def test_a_timeout_names_the_error_gemini_was_retrying(status: int, kind: ErrorKind) -> None:
    stderr = RETRYING_429.replace("429", str(status))
    pending = adapter().pending_error(outcome(lines(), stderr, -15))
    assert pending is not None and pending[0] is kind
    assert f"the API answered {status}" in pending[1]
    assert "attempt 2 failed" in pending[1]


def test_a_timeout_without_retries_names_nothing() -> None:
    assert adapter().pending_error(outcome(lines(), "Ripgrep is not available.\n", -15)) is None


def test_no_key_is_auth_with_both_lines(tmp_path: Path) -> None:
    reply = read(tmp_path, "", NO_KEY, 41)
    assert reply.error is not None and reply.error.kind is ErrorKind.AUTH
    assert "must specify the GEMINI_API_KEY" in reply.error.message


def test_a_session_it_cannot_resume_is_a_lost_session(tmp_path: Path) -> None:
    assert adapter().lost_session(outcome("", NO_SESSION, 42))
    reply = read(tmp_path, "", NO_SESSION, 42)
    assert reply.error is not None and "No previous sessions found" in reply.error.message


def test_an_error_event_is_progress() -> None:
    said = {"type": "error", "timestamp": "t", "severity": "error", "message": EMPTY_REPLY}
    assert adapter().describe_line(json.dumps(said)) == f"error: {EMPTY_REPLY}"


def test_a_streamed_message_is_shown_a_whole_line_at_a_time() -> None:
    """gemini streams its message in pieces ("delta"); progress never shows half a line."""
    from agentls.adapters.base import _progress_filter

    shown: list[str] = []
    forward = _progress_filter(adapter().progress_line, shown.append)
    assert forward is not None
    pieces = ['{"findin', 'gs": []}\nThe code', " looks fine.\nNo issue", "s here."]
    for piece in pieces:
        forward(
            json.dumps({"type": "message", "role": "assistant", "content": piece, "delta": True})
        )
    assert shown == ['{"findings": []}', "The code looks fine."]
    forward(json.dumps({"type": "result", "status": "success"}))  # the next event: the rest
    assert shown[-1] == "No issues here."
