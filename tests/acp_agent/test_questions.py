"""A workflow step's ACP agent asks what the policy asks about: ``agentls acp`` puts the
question to its own client as a permission request, whose answer decides."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from acp import resource_link_block, text_block

from tests.acp_agent.client import RecordingClient, acp_agent
from tests.adapters.test_acp import FINDINGS, configure
from tests.conftest import write_trusted


@pytest.mark.parametrize(("answer", "allowed"), [("allow", True), ("deny", False)])
async def test_a_steps_question_goes_to_the_client(
    workspace: Path,
    fakes_io: Path,
    stderr_log: Path,
    scenario: Any,
    fake_log: Any,
    answer: str,
    allowed: bool,
) -> None:
    configure(workspace, fakes_io)
    config = yaml.safe_load((workspace / ".agentls.yaml").read_text())
    config["workflows"] = {"asking": {"steps": [{"agent": "fake", "task": "review"}]}}
    write_trusted(workspace / ".agentls.yaml", yaml.safe_dump(config))
    scenario("ok", reply=FINDINGS, asks=[{"kind": "execute", "title": "npm test"}])
    client = RecordingClient(answer=answer)
    async with acp_agent(client, workspace, stderr_log) as agent:
        await agent.conn.set_config_option(
            config_id="workflow", session_id=agent.session_id, value="asking"
        )
        calc = workspace / "calc.py"
        prompt = [text_block("review "), resource_link_block(calc.name, calc.as_uri())]
        done = await agent.conn.prompt(session_id=agent.session_id, prompt=prompt)
    assert done.stop_reason == "end_turn"
    [asked] = client.asked
    assert asked.tool_call.title == "fake wants to execute: npm test"
    assert [o.option_id for o in asked.options] == ["allow", "deny"]
    [question] = client.titled("fake wants to execute: npm test")[:1]
    assert question.kind == "execute"
    [call] = fake_log()
    assert call["asked"] == [allowed]
