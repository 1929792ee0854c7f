"""How a test scripts the fake agent CLIs: the scenario file they read, the variables that
point them to it and to their log, and the log read back. The one test module that knows the
format (fakelib.py reads it; README.md beside it describes it)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

SCENARIO_VARIABLE = "AGENTLS_FAKE_SCENARIO"
LOG_VARIABLE = "AGENTLS_FAKE_LOG"
VARIABLES = (SCENARIO_VARIABLE, LOG_VARIABLE)
PREFIX = "AGENTLS_FAKE"
"""What every variable steering the fakes starts with (an environment to isolate drops them)."""


def scenario_file(folder: Path, agent: str | None = None) -> Path:
    """Where ``agent``'s scenario is in ``folder`` (``None``: the one every fake reads)."""
    return folder / ("scenario.json" if agent is None else f"scenario-{agent}.json")


def log_file(folder: Path, agent: str | None = None) -> Path:
    """Where ``agent``'s calls are logged in ``folder`` (``None``: every fake's)."""
    return folder / ("log.jsonl" if agent is None else f"log-{agent}.jsonl")


def write_scenario(
    folder: Path,
    agent: str | None = None,
    /,
    behavior: str = "ok",
    replies: Sequence[str] = (),
    **fields: Any,
) -> Path:
    """Write a scenario in ``folder`` and give its path: ``behavior``, then ``replies`` as a
    ``sequence`` (call *n* answers ``replies[n]``, the last repeats), then the other fields
    (``reply``, ``edits``, ``delay_s``, ``sequence``…), as README.md describes them."""
    scenario: dict[str, Any] = {"behavior": behavior}
    if replies:
        scenario["sequence"] = [{"reply": reply} for reply in replies]
    scenario.update(fields)
    folder.mkdir(parents=True, exist_ok=True)
    path = scenario_file(folder, agent)
    path.write_text(json.dumps(scenario))
    return path


def fake_env(scenario: Path | None = None, log: Path | None = None) -> dict[str, str]:
    """The variables that point the fakes to ``scenario`` and ``log`` (those given)."""
    env = {}
    if scenario is not None:
        env[SCENARIO_VARIABLE] = str(scenario)
    if log is not None:
        env[LOG_VARIABLE] = str(log)
    return env


def script_agent(
    config: dict[str, Any],
    agent: str,
    scenario: Path | None,
    log: Path | None = None,
    **env: str,
) -> dict[str, Any]:
    """Point ``agent``'s fake to ``scenario`` and ``log`` in a configuration mapping (as in
    ``.agentls.yaml``): its ``set_env`` becomes those variables and ``env``. The agent's
    mapping, to set more of it."""
    settings: dict[str, Any] = config.setdefault("agents", {}).setdefault(agent, {})
    settings["set_env"] = {**fake_env(scenario, log), **env}
    return settings


def read_calls(log: Path) -> list[dict[str, Any]]:
    """The calls a fake logged in ``log``, in order (none when it was never called)."""
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
