"""What agentls adds to an ACP agent's task: the fake ACP agent of tests/fakes (written with
the SDK) answering a review at once, driven by a bare SDK client (spawn, ``initialize``,
``session/new``, one ``session/prompt``, its updates read) against the same agent through
agentls's ``acp`` adapter (the runner, the supervisor, bubblewrap for a read-only step, the
permission policy, the MCP findings server offered, the reply read into findings, the audit).
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any, cast

from acp import PROTOCOL_VERSION, Client, text_block
from acp.schema import ClientCapabilities, FileSystemCapabilities
from acp.stdio import spawn_agent_process

from agentls.domain.results import TaskKind
from agentls.orchestration.config_loader import load_config
from agentls.orchestration.runtime import Runtime
from agentls.orchestration.tasks import TaskSpec, run_task

FAKE = Path(__file__).resolve().parent.parent / "tests" / "fakes" / "acp_fake.py"
REPLY = json.dumps({"findings": [{"line": 1, "severity": "info", "message": "a note"}]})


class _Client:
    """A client that only listens: what a bare ACP client does for a review."""

    def __init__(self) -> None:
        self.updates = 0

    async def session_update(self, session_id: str, update: Any, **kwargs: Any) -> None:
        self.updates += 1


async def bare_client(root: Path, env: dict[str, str], prompt: str) -> float:
    started = time.perf_counter()
    client = cast(Client, _Client())  # a listener: the SDK answers the rest "not found"
    async with spawn_agent_process(client, sys.executable, str(FAKE), env=env, cwd=root) as (
        connection,
        _,
    ):
        capabilities = ClientCapabilities(fs=FileSystemCapabilities())
        await connection.initialize(
            protocol_version=PROTOCOL_VERSION, client_capabilities=capabilities
        )
        session = await connection.new_session(cwd=str(root), mcp_servers=[])
        await connection.prompt(session_id=session.session_id, prompt=[text_block(prompt)])
    return time.perf_counter() - started


async def through_agentls(root: Path, runtime: Runtime) -> float:
    spec = TaskSpec(agent="acpfake", task=TaskKind.REVIEW, workspace=root, path="small.py")
    started = time.perf_counter()
    result = await run_task(runtime.config, spec, runtime=runtime)
    assert result.ok and result.findings, result.error
    return time.perf_counter() - started


def agent_entry(scenario: Path, io: Path) -> dict[str, object]:
    """The fake ACP agent as an agentls agent, reading ``scenario``."""
    return {
        "adapter": "acp",
        "command": [sys.executable, str(FAKE)],
        "set_env": {"AGENTLS_FAKE_SCENARIO": str(scenario)},
        "sandbox_paths": [str(io)],
    }


def write_scenario(io: Path) -> Path:
    scenario = io / "acp.json"
    scenario.write_text(json.dumps({"behavior": "ok", "reply": REPLY}))
    return scenario


async def measure(root: Path, env: dict[str, str], repeats: int) -> tuple[float, float]:
    """Medians of the bare client and of agentls, taken in turns."""
    config = load_config(root)
    runtime = Runtime.create(config, "bench", use_cache=False)
    prompt = "Review small.py and answer with the findings JSON."
    await through_agentls(root, runtime)  # imports and first-use set-up
    bare, ours = [], []
    for _ in range(repeats):
        bare.append(await bare_client(root, env, prompt))
        ours.append(await through_agentls(root, runtime))
    return statistics.median(bare), statistics.median(ours)


async def real_claude(base: Path, repeats: int) -> tuple[float, float] | None:
    """Claude Code's review of one file on the mock Messages API of tests/realcli, through
    agentls: headless (``claude -p``) against claude-agent-acp; medians, taken in turns. None
    where the real CLIs are not installed (``make realcli``)."""
    import pytest

    from tests.realcli.acp_agents import acp_agent
    from tests.realcli.conftest import cli_binary, real_cli
    from tests.realcli.mock import MockModelAPI
    from tests.realcli.test_claude import FINDINGS

    patch = pytest.MonkeyPatch()
    api = MockModelAPI().start()
    try:
        folder = base / "real"
        folder.mkdir()
        try:
            acp_binary = cli_binary("claude-acp")
            cli = real_cli("claude", api, folder, patch)
        except (pytest.skip.Exception, pytest.fail.Exception):  # not installed
            return None
        acp_agent(cli, "claude-acp", [str(acp_binary)])
        config = load_config(cli.workspace)
        runtime = Runtime.create(config, "bench", use_cache=False)

        async def review(agent: str) -> float:
            api.script(FINDINGS)
            spec = TaskSpec(agent=agent, task=TaskKind.REVIEW, workspace=cli.workspace,
                            path="calc.py")  # fmt: skip
            started = time.perf_counter()
            result = await run_task(config, spec, runtime=runtime)
            assert result.ok and result.findings, result.error
            return time.perf_counter() - started

        await review("claude")
        await review("claude-acp")  # first starts: Node's compile caches
        headless, acp = [], []
        for _ in range(repeats):
            headless.append(await review("claude"))
            acp.append(await review("claude-acp"))
        return statistics.median(headless), statistics.median(acp)
    finally:
        api.stop()
        patch.undo()
