"""``session/cancel``: the running workflow is cancelled, its agents (and what they started)
stopped, the turn answers ``cancelled``, and nothing is written."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from acp import resource_link_block, text_block

from tests.acp_agent.client import RecordingClient, acp_agent, statuses
from tests.acp_agent.conftest import NEW_MEAN
from tests.conftest import SAMPLE, Scenario
from tests.fakes.script import SCENARIO_VARIABLE
from tests.processes import alive, with_environment

pytestmark = pytest.mark.usefixtures("credentials")


async def test_a_cancel_mid_run_stops_every_agent_and_ends_the_turn_cancelled(
    acp_workspace: Path,
    stderr_log: Path,
    scenario: Scenario,
    fake_log: Callable[[], list[dict[str, Any]]],
) -> None:
    path = scenario("orphan", delay_s=300)  # it starts a child, then works for five minutes
    orphan_pid = Path(f"{path}.orphan_pid")
    client = RecordingClient()
    calc = acp_workspace / "calc.py"
    async with acp_agent(client, acp_workspace, stderr_log) as agent:
        await agent.conn.set_config_option(
            config_id="workflow", session_id=agent.session_id, value="fix"
        )
        prompt = [text_block("rewrite "), resource_link_block("calc.py", calc.as_uri())]
        turn = asyncio.ensure_future(agent.conn.prompt(session_id=agent.session_id, prompt=prompt))
        step = "implement: codex implement"
        await client.until(
            lambda: step in client.titles() and "in_progress" in statuses(client.titled(step)),
            "the step running",
        )
        await _until(lambda: orphan_pid.exists() and bool(fake_log()), "the agent working")

        def started() -> set[int]:
            """What agentls started for the run (agentls has the fakes' variables too)."""
            return set(with_environment(SCENARIO_VARIABLE, str(path))) - {agent.process.pid}

        agents = started()
        assert len(agents) >= 2  # the agent and the child it started, and their sandbox

        await agent.conn.cancel(session_id=agent.session_id)
        answer = await asyncio.wait_for(turn, 30)
        assert answer.stop_reason == "cancelled"
        assert started() == set()
        assert not any(alive(pid) for pid in agents)
        assert statuses(client.titled(step))[-1] == "failed"
        assert "cancelled; every agent was stopped" in client.text()

        # the session goes on: the next prompt runs
        scenario("ok", reply=f"```python\n{NEW_MEAN}```")
        client.answer = "discard"
        again = await agent.conn.prompt(session_id=agent.session_id, prompt=prompt)
        assert again.stop_reason == "end_turn" and len(client.asked) == 1
    assert client.writes == {} and calc.read_text() == SAMPLE


async def test_a_cancel_while_the_user_decides_writes_nothing(
    acp_workspace: Path, stderr_log: Path, scenario: Scenario
) -> None:
    scenario("ok", reply=f"```python\n{NEW_MEAN}```")
    client = RecordingClient(answer="never")
    calc = acp_workspace / "calc.py"
    async with acp_agent(client, acp_workspace, stderr_log) as agent:
        await agent.conn.set_config_option(
            config_id="workflow", session_id=agent.session_id, value="fix"
        )
        prompt = [text_block("rewrite "), resource_link_block("calc.py", calc.as_uri())]
        turn = asyncio.ensure_future(agent.conn.prompt(session_id=agent.session_id, prompt=prompt))
        await client.until(lambda: bool(client.asked), "the permission request")
        await agent.conn.cancel(session_id=agent.session_id)
        client.cancelled()
        answer = await asyncio.wait_for(turn, 30)
    assert answer.stop_reason == "cancelled"
    assert client.writes == {} and calc.read_text() == SAMPLE


async def test_a_client_that_goes_away_mid_run_leaves_no_agent_running(
    acp_workspace: Path, stderr_log: Path, scenario: Scenario
) -> None:
    """The editor quits (closes agentls's stdin) while an agent works: agentls cancels the
    run, stops the agent and what it started, and exits."""
    path = scenario("orphan", delay_s=300)
    client = RecordingClient()
    calc = acp_workspace / "calc.py"
    async with acp_agent(client, acp_workspace, stderr_log) as agent:
        process = agent.process
        prompt = [text_block("review "), resource_link_block("calc.py", calc.as_uri())]
        turn = asyncio.ensure_future(agent.conn.prompt(session_id=agent.session_id, prompt=prompt))
        await _until(lambda: Path(f"{path}.orphan_pid").exists(), "the agent working")
        assert set(with_environment(SCENARIO_VARIABLE, str(path))) - {process.pid}
    turn.cancel()
    assert await process.wait() == 0  # it exited by itself, within the SDK's grace time
    assert with_environment(SCENARIO_VARIABLE, str(path)) == []
    assert "Traceback" not in stderr_log.read_text()


async def test_sigterm_mid_run_stops_every_agent_before_agentls_exits(
    acp_workspace: Path, stderr_log: Path, scenario: Scenario
) -> None:
    path = scenario("orphan", delay_s=300)
    client = RecordingClient()
    calc = acp_workspace / "calc.py"
    async with acp_agent(client, acp_workspace, stderr_log) as agent:
        process = agent.process
        prompt = [text_block("review "), resource_link_block("calc.py", calc.as_uri())]
        turn = asyncio.ensure_future(agent.conn.prompt(session_id=agent.session_id, prompt=prompt))
        await _until(lambda: Path(f"{path}.orphan_pid").exists(), "the agent working")
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 128 + signal.SIGTERM
        turn.cancel()
    assert with_environment(SCENARIO_VARIABLE, str(path)) == []
    lines = stderr_log.read_text().strip().splitlines()
    assert lines[-1] == "agentls: stopped by SIGTERM; every agent was stopped"
    assert "Traceback" not in stderr_log.read_text()


async def _until(condition: Callable[[], bool], what: str, timeout_s: float = 30.0) -> None:
    """Poll ``condition`` (files another process writes) without blocking the event loop."""
    try:
        async with asyncio.timeout(timeout_s):
            while not condition():
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"{what}: not within {timeout_s} s") from None
