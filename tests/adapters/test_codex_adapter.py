"""The Codex adapter's reading of codex 0.171's output: failures in codex's own words, and the
usage of a resumed thread (a running total, less what the thread's rollout says it had)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from agentls.adapters.base import TaskRequest
from agentls.adapters.codex import CodexAdapter
from agentls.adapters.runner import ProcessOutcome
from agentls.domain.config import AgentConfig, Settings
from agentls.domain.results import ErrorKind, TaskKind, Usage
from agentls.orchestration.config_loader import load_config
from agentls.orchestration.tasks import TaskSpec, run_task
from tests.conftest import Scenario

THREAD = "01a24e1d-2694-7573-9d48-191eac5af561"
HIGH_DEMAND = "We\u2019re currently experiencing high demand, which may cause temporary errors."


def adapter() -> CodexAdapter:
    return CodexAdapter("codex", AgentConfig(adapter="codex", env=["CODEX_HOME"]), Settings())


def request(workspace: Path, session_id: str | None = None) -> TaskRequest:
    return TaskRequest(
        task=TaskKind.EXPLAIN,
        prompt="p",
        workspace=workspace,
        target="calc.py",
        file_text="x = 1\n",
        session_id=session_id,
    )


def outcome(*events: dict[str, object], exit_code: int = 0) -> ProcessOutcome:
    stdout = "".join(json.dumps(event) + "\n" for event in events)
    return ProcessOutcome(exit_code=exit_code, stdout=stdout, stderr="", duration_s=0.1)


def failed(message: str) -> ProcessOutcome:
    return outcome(
        {"type": "thread.started", "thread_id": THREAD},
        {"type": "turn.started"},
        {"type": "error", "message": f"Reconnecting... 1/1 ({message})"},
        {"type": "error", "message": message},
        {"type": "turn.failed", "error": {"message": message}},
        exit_code=1,
    )


def completed(thread: str, input_tokens: int, output_tokens: int) -> ProcessOutcome:
    usage = {"input_tokens": input_tokens, "cached_input_tokens": 0, "output_tokens": output_tokens}
    return outcome(
        {"type": "thread.started", "thread_id": thread},
        {"type": "item.completed", "item": {"id": "item_0", "type": "agent_message", "text": "ok"}},
        {"type": "turn.completed", "usage": usage},
    )


def write_rollout(home: Path, thread: str, totals: list[tuple[int, int]]) -> Path:
    """A rollout of one turn per total (the running totals after each)."""
    folder = home / "sessions" / "2026" / "12" / "07"
    folder.mkdir(parents=True)
    records: list[dict[str, object]] = [{"type": "session_meta", "payload": {"id": thread}}]
    for tokens_in, tokens_out in totals:
        usage = {"input_tokens": tokens_in, "output_tokens": tokens_out}
        records += [
            {"type": "event_msg", "payload": {"type": "task_started"}},
            {"type": "response_item", "payload": {"type": "message", "role": "user"}},
            {"type": "event_msg", "payload": {"type": "token_count", "info": None}},
            {
                "type": "event_msg",
                "payload": {"type": "token_count", "info": {"total_token_usage": usage}},
            },
        ]
    path = folder / f"rollout-2026-12-07T01-27-42-{thread}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        (HIGH_DEMAND, "transient"),
        ("stream disconnected before completion: the server had an error", "transient"),
        (
            "stream disconnected before completion: Transport error: network error: error "
            "decoding response body",
            "transient",
        ),
        ("exceeded retry limit, last status: 429 Too Many Requests", "rate_limit"),
        ("unexpected status 401 Unauthorized: Incorrect API key provided, url: http://h", "auth"),
        ("Missing environment variable: `OPENAI_API_KEY`.", "auth"),
        ("Codex ran out of room in the model's context window.", "agent_error"),
    ],
)
def test_codex_failures_are_classified_by_its_own_words(
    tmp_path: Path, message: str, kind: str
) -> None:
    reply = adapter().read(request(tmp_path), failed(message))
    assert reply.error is not None and reply.error.kind is ErrorKind(kind), reply.error
    assert reply.session_id == THREAD


def test_a_lost_thread_is_recognised(tmp_path: Path) -> None:
    stderr = f"Error: thread/resume: thread/resume failed: no rollout found for thread id {THREAD}"
    lost = ProcessOutcome(exit_code=1, stdout="", stderr=stderr, duration_s=0.1)
    assert adapter().lost_session(lost)


def test_a_new_thread_reports_its_usage_as_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CODEX_HOME", str(tmp_path / "codex"))
    reply = adapter().read(request(tmp_path), completed(THREAD, 100, 20))
    assert reply.usage == Usage(input_tokens=100, output_tokens=20)


def test_a_resumed_thread_reports_only_this_turns_usage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "codex"
    monkeypatch.setenv("CODEX_HOME", str(home))
    write_rollout(home, THREAD, [(100, 20), (250, 25), (550, 32)])  # this turn: the third
    reply = adapter().read(request(tmp_path, THREAD), completed(THREAD, 550, 32))
    assert reply.usage == Usage(input_tokens=300, output_tokens=7)


def test_a_resumed_thread_without_its_rollout_has_unknown_usage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CODEX_HOME", str(tmp_path / "codex"))
    reply = adapter().read(request(tmp_path, THREAD), completed(THREAD, 550, 32))
    assert reply.error is None
    assert reply.usage == Usage()  # unknown, rather than the thread's whole total


def test_a_resume_that_started_a_new_thread_reports_its_usage_as_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CODEX_HOME", str(tmp_path / "codex"))
    other = "01a24e1e-fc7e-7452-bc83-b1991c07257c"
    reply = adapter().read(request(tmp_path, THREAD), completed(other, 100, 20))
    assert reply.session_id == other
    assert reply.usage == Usage(input_tokens=100, output_tokens=20)


def test_a_follow_up_through_the_fake_counts_only_its_turn(
    workspace: Path,
    scenario: Scenario,
    credentials: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CODEX_HOME", str(tmp_path / "codex"))
    scenario("ok", reply="It adds numbers.", session_id=THREAD)
    config = load_config(workspace)
    spec = TaskSpec(agent="codex", task=TaskKind.EXPLAIN, workspace=workspace, path="calc.py")
    first = asyncio.run(run_task(config, spec))
    assert first.ok and first.session_id == THREAD, first.error
    again = TaskSpec(
        agent="codex",
        task=TaskKind.EXPLAIN,
        workspace=workspace,
        path="calc.py",
        session_id=THREAD,
    )
    second = asyncio.run(run_task(config, again))
    assert second.ok, second.error
    [rollout] = (tmp_path / "codex" / "sessions").glob(f"*/*/*/rollout-*-{THREAD}.jsonl")
    assert '"input_tokens": 4800' in rollout.read_text()  # the fake's running total
    assert first.usage.input_tokens == second.usage.input_tokens == 2400
    assert first.usage.output_tokens == second.usage.output_tokens == 310
