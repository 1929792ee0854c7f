"""Real ACP agents (claude-agent-acp, ``gemini --acp``) driven by agentls's acp adapter, in
the process, so a test sees the ``TaskResult`` (permissions, usage) and can cancel a task.

``tap`` puts ``acp_tap.py`` between agentls and the agent, to read what they said to each
other on the wire."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from agentls.domain.results import TaskKind, TaskResult, WorkflowResult
from agentls.orchestration.config_loader import load_config
from agentls.orchestration.tasks import TaskSpec, run_task
from agentls.orchestration.workflow import WorkflowEngine, WorkflowRequest
from tests.realcli.conftest import RealCLI

TAP = Path(__file__).parent / "acp_tap.py"


def acp_agent(cli: RealCLI, agent: str, argv: list[str]) -> None:
    """Make ``agent`` run ``argv`` through the acp adapter, enabled, as ``cli.name``; it may
    write ``outbox`` besides its own state."""
    outbox(cli).mkdir()
    entry = {"adapter": "acp", "enabled": True, "command": argv}
    entry["sandbox_paths"] = [str(outbox(cli))]
    # each run is the agent's: none is answered from the result cache
    cli.configure(agents={agent: entry}, settings={"cache": {"enabled": False}})
    cli.name = agent


def outbox(cli: RealCLI) -> Path:
    """A folder the agent may write even where it runs read-only: where its traces go."""
    return cli.home.parent / "outbox"


def tap(cli: RealCLI) -> Path:
    """Run the agent behind ``acp_tap.py``: the file its messages are recorded in."""
    log = outbox(cli) / "wire.jsonl"
    config = yaml.safe_load((cli.workspace / ".agentls.yaml").read_text())
    command = [sys.executable, str(TAP), str(log), *config["agents"][cli.name]["command"]]
    cli.configure(agents={cli.name: {"command": command}})
    return log


def wire(log: Path) -> list[tuple[str, dict[str, Any]]]:
    """What was said, in order: (``client`` or ``agent``, the JSON-RPC message)."""
    said = [json.loads(line) for line in log.read_text().splitlines()]
    return [(s["from"], s["message"]) for s in said if isinstance(s["message"], dict)]


def requests(said: list[tuple[str, dict[str, Any]]], side: str, method: str) -> list[Any]:
    """The params of each ``method`` that ``side`` sent."""
    return [m.get("params") for who, m in said if who == side and m.get("method") == method]


def run(cli: RealCLI, task: TaskKind = TaskKind.REVIEW, **spec: Any) -> TaskResult:
    """One task on ``calc.py`` by the agent, as ``agentls exec`` runs it."""
    return asyncio.run(run_task(load_config(cli.workspace), _spec(cli, task, **spec)))


def run_agentic(cli: RealCLI) -> WorkflowResult:
    """A workflow of one agentic implement step by the agent, on ``calc.py``."""
    step = {"id": "implement", "agent": cli.name, "task": "implement", "mode": "agentic"}
    cli.configure(workflows={"agentic": {"steps": [step]}})
    request = WorkflowRequest(workflow="agentic", workspace=cli.workspace, path="calc.py")
    return asyncio.run(WorkflowEngine(load_config(cli.workspace)).run(request))


def cancel_while_the_model_answers(cli: RealCLI) -> None:
    """Start a review and cancel it once the agent has asked the model (whose answer the
    test's script holds back)."""

    async def go() -> None:
        spec = _spec(cli, TaskKind.REVIEW)
        task = asyncio.ensure_future(run_task(load_config(cli.workspace), spec))
        while not cli.api.turns():
            if task.done():
                raise AssertionError(f"it ended before asking the model: {task.result()}")
            await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(go())


def _spec(cli: RealCLI, task: TaskKind, **spec: Any) -> TaskSpec:
    return TaskSpec(agent=cli.name, task=task, workspace=cli.workspace, path="calc.py", **spec)
