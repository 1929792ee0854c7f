"""``initialize`` and ``session/new``: what agentls declares, and the workflow as a session
config option the client can change."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from acp import PROTOCOL_VERSION, RequestError, resource_link_block, spawn_agent_process, text_block
from acp.schema import ClientCapabilities, Implementation

from agentls import __version__
from tests.acp_agent.client import RecordingClient, acp_agent
from tests.acp_agent.conftest import WORKFLOWS
from tests.conftest import write_trusted


async def test_initialize_says_who_agentls_is_and_what_it_takes(
    acp_workspace: Path, stderr_log: Path
) -> None:
    client = RecordingClient()
    with stderr_log.open("w") as stderr:
        async with spawn_agent_process(
            client,
            sys.executable,
            "-m",
            "agentls",
            "acp",
            env=dict(os.environ),
            cwd=acp_workspace,
            transport_kwargs={"stderr": stderr},
        ) as (conn, _):
            answer = await conn.initialize(
                protocol_version=PROTOCOL_VERSION,
                client_capabilities=ClientCapabilities(),
                client_info=Implementation(name="test", version="1"),
            )
    assert answer.protocol_version == PROTOCOL_VERSION
    assert answer.agent_info is not None
    assert (answer.agent_info.name, answer.agent_info.version) == ("agentls", __version__)
    capabilities = answer.agent_capabilities
    assert capabilities is not None and capabilities.load_session is False
    assert capabilities.prompt_capabilities is not None
    assert capabilities.prompt_capabilities.embedded_context is True


async def test_the_workflow_is_a_select_option_that_the_client_can_change(
    acp_workspace: Path, stderr_log: Path
) -> None:
    client = RecordingClient()
    async with acp_agent(client, acp_workspace, stderr_log) as agent:
        [option] = agent.session.config_options or []
        assert (option.id, option.type, option.category) == ("workflow", "select", "mode")
        assert option.current_value == "review"  # the built-in reviewers, when there is one
        offered = {choice.value: choice.description for choice in option.options}
        for name, workflow in WORKFLOWS.items():
            assert offered[name] == workflow["description"]
        assert {"default", "review", "offline"} <= set(offered)

        changed = await agent.conn.set_config_option(
            config_id="workflow", session_id=agent.session_id, value="fix"
        )
        assert [o.current_value for o in changed.config_options] == ["fix"]

        with pytest.raises(RequestError) as refused:
            await agent.conn.set_config_option(
                config_id="workflow", session_id=agent.session_id, value="nope"
            )
        assert "no workflow named 'nope'; known: " in str(refused.value)


async def test_a_configuration_that_does_not_load_is_one_line_at_each_prompt(
    tmp_path: Path, stderr_log: Path
) -> None:
    folder = tmp_path / "broken"
    folder.mkdir()
    write_trusted(folder / ".agentls.yaml", "workflows: [not, a, mapping\n")
    client = RecordingClient()
    async with acp_agent(client, folder, stderr_log) as agent:
        assert not agent.session.config_options
        answer = await agent.conn.prompt(
            session_id=agent.session_id, prompt=[text_block("review this")]
        )
    assert answer.stop_reason == "end_turn"
    text = client.text().strip()
    assert text.startswith("agentls: ") and ".agentls.yaml" in text
    assert len(text.splitlines()) == 1
    assert "Traceback" not in stderr_log.read_text()


async def test_the_workflow_is_a_mode_too_for_clients_without_config_options(
    acp_workspace: Path, stderr_log: Path
) -> None:
    """A client that knows modes (not config options) picks ``offline``: ruff reviews, no
    network, no credentials."""
    (acp_workspace / "bad.py").write_text("import os\n")
    client = RecordingClient()
    async with acp_agent(client, acp_workspace, stderr_log) as agent:
        modes = agent.session.modes
        assert modes is not None and modes.current_mode_id == "review"
        assert {"check", "fix", "offline"} <= {mode.id for mode in modes.available_modes}
        await agent.conn.set_session_mode(session_id=agent.session_id, mode_id="offline")
        link = resource_link_block("bad.py", (acp_workspace / "bad.py").as_uri())
        answer = await agent.conn.prompt(session_id=agent.session_id, prompt=[link])
    assert answer.stop_reason == "end_turn"
    assert client.titles()[0] == "review: ruff review"
    assert any(
        line.startswith("- bad.py:1 ") and "F401" in line for line in client.text().splitlines()
    )
