"""Logs: what a run logs names the run, binding a field loads nothing, and secrets are
redacted before a line is written."""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentls.log import bound, configure_logging, get_logger


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging("INFO", json=True, stream=stream)
    yield stream
    configure_logging("WARNING")


def records(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_fields_bound_reach_messages_of_the_tasks_started_within(captured: io.StringIO) -> None:
    log = get_logger("agentls.test")

    async def step() -> None:
        log.info("in a task", key="sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789")

    async def run() -> None:
        with bound(run_id="r1"):
            await asyncio.gather(step(), step())
            with bound(step="review"):
                log.info("nested")
        log.info("after")

    asyncio.run(run())
    first, second, nested, after = records(captured)
    assert first["run_id"] == second["run_id"] == "r1" and first["key"] == "[REDACTED]"
    assert (nested["run_id"], nested["step"]) == ("r1", "review")
    assert "run_id" not in after


def test_a_runs_log_lines_name_the_run(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text("import os\n")
    done = subprocess.run(
        [sys.executable, "-m", "agentls", "-v", "--log-json", "run", "offline", "bad.py",
         "--json"],
        capture_output=True,
        timeout=120,
        cwd=tmp_path,
    )  # fmt: skip
    run_id = json.loads(done.stdout)["run_id"]
    lines = [json.loads(line) for line in done.stderr.decode().splitlines() if line.startswith("{")]
    assert lines and {line.get("run_id") for line in lines if "agent" in line} == {run_id}
