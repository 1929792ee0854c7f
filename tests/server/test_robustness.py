"""Fuzzed request parameters never take the server down; shutdown leaves no process behind."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.adapters.test_agent_adapters import fake_processes
from tests.conftest import write_trusted
from tests.fakes.script import script_agent, write_scenario
from tests.server.rawlsp import RawServer

pytestmark = pytest.mark.usefixtures("credentials")

COMMANDS = [
    "agentls.runWorkflow",
    "agentls.runTask",
    "agentls.cancel",
    "agentls.followUp",
    "agentls.showRun",
    "agentls.listRuns",
    "agentls.applyRun",
    "agentls.listWorkflows",
    "agentls.clearDiagnostics",
]
values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 10**6) | st.text(max_size=15),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "uri",
                    "range",
                    "start",
                    "end",
                    "line",
                    "character",
                    "task",
                    "agent",
                    "workflow",
                    "runId",
                    "message",
                    "instruction",
                    "diagnostics",
                    "x",
                ]
            ),
            inner,
            max_size=5,
        )
    ),
    max_leaves=12,
)


# Each example starts a server; shrinking would start hundreds, so a failure is shown unshrunk.
@settings(
    max_examples=4,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
@given(
    batch=st.lists(
        st.tuples(st.sampled_from([*COMMANDS, "code_action"]), values), min_size=40, max_size=40
    )
)
def test_random_parameters_get_answers_and_the_server_keeps_serving(
    workspace: Path, batch: list[tuple[str, Any]]
) -> None:
    async def session() -> None:
        server = await RawServer.start(workspace)
        await server.initialize(workspace)
        uri = server.open(workspace / "calc.py")
        rng = random.Random(7)
        for name, value in batch:
            if rng.random() < 0.5 and isinstance(value, dict):
                value = {**value, "uri": uri}
            if name == "code_action":
                params = {
                    "textDocument": {"uri": uri},
                    "range": value,
                    "context": {"diagnostics": value if isinstance(value, list) else []},
                }
                reply = await server.request("textDocument/codeAction", params)
            else:
                reply = await server.request(
                    "workspace/executeCommand", {"command": name, "arguments": [value]}
                )
            assert "result" in reply or "error" in reply
            if "error" in reply:
                assert reply["error"]["code"] == -32602, reply  # InvalidParams, never a crash
        listing = await server.request(
            "workspace/executeCommand", {"command": "agentls.listWorkflows", "arguments": [{}]}
        )
        assert listing["result"]
        assert await server.close() == 0

    asyncio.run(session())


def test_shutdown_stops_every_run_and_leaves_no_process(workspace: Path, tmp_path: Path) -> None:
    scenario = write_scenario(tmp_path, "codex", behavior="hang")
    config_file = workspace / ".agentls.yaml"
    config = yaml.safe_load(config_file.read_text())
    script_agent(config, "codex", scenario)
    write_trusted(config_file, yaml.safe_dump(config))

    async def session() -> None:
        server = await RawServer.start(workspace)
        await server.initialize(workspace)
        uri = server.open(workspace / "calc.py")
        for _ in range(3):
            reply = await server.request(
                "workspace/executeCommand",
                {"command": "agentls.runWorkflow", "arguments": [{"uri": uri}]},
            )
            assert "runId" in reply["result"]
        for _ in range(100):
            if len(fake_processes("codex")) >= 3:
                break
            await asyncio.sleep(0.05)
        assert len(fake_processes("codex")) >= 3
        assert await server.close() == 0

    asyncio.run(session())
    assert fake_processes("codex") == []
