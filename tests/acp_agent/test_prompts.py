"""``session/prompt``: the mentioned files are the target, the text the instruction, the steps
tool calls, the findings lines with locations; what lies outside the folder is refused."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from acp import resource_link_block, text_block
from acp.schema import ToolCallStart, UsageUpdate

from tests.acp_agent.client import RecordingClient, acp_agent, statuses
from tests.acp_agent.conftest import FINDINGS
from tests.conftest import TEST_SETTINGS, Scenario

pytestmark = pytest.mark.usefixtures("credentials")

Calls = Callable[[], list[dict[str, Any]]]


def link(path: Path) -> Any:
    return resource_link_block(path.name, path.as_uri())


async def test_a_review_of_a_mentioned_file_streams_its_step_and_its_findings(
    acp_workspace: Path, stderr_log: Path, scenario: Scenario, fake_log: Calls
) -> None:
    scenario("ok", reply=FINDINGS)
    client = RecordingClient()
    async with acp_agent(client, acp_workspace, stderr_log) as agent:
        await agent.conn.set_config_option(
            config_id="workflow", session_id=agent.session_id, value="check"
        )
        prompt = [
            text_block("look for missing types in "),
            link(acp_workspace / "calc.py"),
        ]
        answer = await agent.conn.prompt(session_id=agent.session_id, prompt=prompt)
    assert answer.stop_reason == "end_turn"

    step = client.titled("review: gemini review")
    assert isinstance(step[0], ToolCallStart) and step[0].kind == "read"
    assert statuses(step) == ["pending", "in_progress", "completed"]
    assert client.titles() == ["review: gemini review", "Findings: 1 finding"]
    shown = [c.content.text for u in step for c in u.content or [] if hasattr(c, "content")]
    assert any('"message": "no types"' in text for text in shown)  # the agent's progress

    assert "- calc.py:2 warning T1 no types (gemini)" in client.text().splitlines()
    [findings] = client.titled("Findings: 1 finding")
    assert isinstance(findings, ToolCallStart) and findings.kind == "read"
    assert [(loc.path, loc.line) for loc in findings.locations or []] == [
        (str(acp_workspace / "calc.py"), 1)  # ACP's lines are rows: 0-based
    ]

    [call] = fake_log()
    assert call["tool"] == "gemini"
    assert "look for missing types in" in call["prompt"]
    assert client.reads == [str(acp_workspace / "calc.py")]  # the editor's text, not the disk's
    assert any(isinstance(u, UsageUpdate) for u in client.updates)
    assert client.asked == [] and client.writes == {}


@pytest.mark.parametrize(
    "where",
    ["dot-dot", "absolute", "link"],
)
async def test_a_file_outside_the_folder_is_refused_before_anything_runs(
    acp_workspace: Path, tmp_path: Path, stderr_log: Path, fake_log: Calls, where: str
) -> None:
    outside = tmp_path / "outside.py"
    outside.write_text("SECRET = 1\n")
    if where == "dot-dot":
        block = resource_link_block("outside.py", f"{acp_workspace.as_uri()}/../outside.py")
    elif where == "absolute":
        block = link(outside)
    else:
        (acp_workspace / "inside.py").symlink_to(outside)
        block = link(acp_workspace / "inside.py")
    client = RecordingClient()
    async with acp_agent(client, acp_workspace, stderr_log) as agent:
        prompt = [text_block("review "), block]
        answer = await agent.conn.prompt(session_id=agent.session_id, prompt=prompt)
    assert answer.stop_reason == "end_turn"
    [line] = client.text().strip().splitlines()
    assert line.startswith("agentls: ") and "is outside the workspace" in line
    assert client.calls() == {} and client.reads == [] and fake_log() == []


async def test_a_prompt_without_a_file_asks_for_a_mention(
    acp_workspace: Path, stderr_log: Path, fake_log: Calls
) -> None:
    client = RecordingClient()
    async with acp_agent(client, acp_workspace, stderr_log) as agent:
        answer = await agent.conn.prompt(
            session_id=agent.session_id, prompt=[text_block("review my code")]
        )
    assert answer.stop_reason == "end_turn"
    [line] = client.text().strip().splitlines()
    assert line.startswith("agentls: mention a file with @")
    assert client.calls() == {} and fake_log() == []


async def test_an_untrusted_workspace_file_runs_none_of_its_programs(
    workspace: Path, tmp_path: Path, stderr_log: Path, scenario: Scenario, fake_log: Calls
) -> None:
    """A cloned repository's ``.agentls.yaml`` names a program as its agent's command: the
    session leaves it out and says so once; the agent that runs is the one on PATH."""
    user_config = Path(os.environ["XDG_CONFIG_HOME"]) / "agentls" / "config.yaml"
    settings = yaml.safe_load(TEST_SETTINGS)  # the fakes' variables, from a trusted layer
    user_config.write_text(json.dumps({**json.loads(user_config.read_text()), **settings}))
    marker = tmp_path / "the-repository-program-ran"
    (workspace / ".agentls.yaml").write_text(
        yaml.safe_dump(
            {
                "agents": {
                    "gemini": {
                        "command": [sys.executable, "-c", f"open({str(marker)!r}, 'w')"],
                    }
                },
                "workflows": {"check": {"steps": [{"agent": "gemini", "task": "review"}]}},
            }
        )
    )
    scenario("ok", reply=FINDINGS)
    client = RecordingClient()
    async with acp_agent(client, workspace, stderr_log) as agent:
        await agent.conn.set_config_option(
            config_id="workflow", session_id=agent.session_id, value="check"
        )
        for _ in range(2):
            prompt = [text_block("review "), link(workspace / "calc.py")]
            answer = await agent.conn.prompt(session_id=agent.session_id, prompt=prompt)
            assert answer.stop_reason == "end_turn"
    assert not marker.exists()
    assert [call["tool"] for call in fake_log()] == ["gemini"]  # the second: a cached answer
    said = [line for line in client.text().splitlines() if "ignored agents.gemini.command" in line]
    assert len(said) == 1 and f"agentls trust {workspace}" in said[0]
    assert "- calc.py:2 warning T1 no types (gemini)" in client.text().splitlines()
