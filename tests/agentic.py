"""A workspace whose ``agentic`` workflow runs the fake codex in write mode, in a sandbox,
steered by a scenario; for the tests that make the agent misbehave or kill agentls."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import yaml

from agentls.domain.config import AgentConfig
from tests.conftest import write_trusted
from tests.fakes.script import log_file, read_calls, script_agent, write_scenario


def make_repository(workspace: Path) -> None:
    identity = ["-c", "user.name=t", "-c", "user.email=t@t"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "init"]):
        subprocess.run(["git", *identity, *args], cwd=workspace, check=True, capture_output=True)


def agentic(workspace: Path, folder: Path, **scenario: Any) -> Path:
    """Configure ``workspace`` (trusted); the fake's scenario and log (``log.jsonl``) are in
    ``folder``. The OS containment is off: these tests are about agentls's own defences, and
    the agent's pids must be the ones it writes."""
    path = write_scenario(folder, None, **scenario)
    config = yaml.safe_load((workspace / ".agentls.yaml").read_text()) or {}
    config.setdefault("agents", {})["codex"] = {}  # only what is set here
    codex = script_agent(config, "codex", path, log_file(folder))
    if "sandbox" in AgentConfig.model_fields:
        codex["sandbox"] = "off"
    config.setdefault("workflows", {})["agentic"] = {
        "steps": [{"agent": "codex", "task": "implement", "mode": "agentic"}]
    }
    write_trusted(workspace / ".agentls.yaml", yaml.safe_dump(config))
    return path


def calls(folder: Path) -> list[dict[str, Any]]:
    return read_calls(log_file(folder))


def worktrees(workspace: Path) -> list[str]:
    listing = subprocess.run(
        ["git", "-c", "core.fsmonitor=false", "worktree", "list", "--porcelain"],
        cwd=workspace,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [line.split(" ", 1)[1] for line in listing.splitlines() if line.startswith("worktree ")]
