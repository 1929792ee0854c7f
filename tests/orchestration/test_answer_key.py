"""What the result cache keys on for a request that covers several files: each file's text and
the configuration the tool reads for each of them."""

from __future__ import annotations

import asyncio
from pathlib import Path

from agentls.adapters.base import TargetFile, TaskRequest
from agentls.adapters.ruff import RuffAdapter
from agentls.adapters.runner import LineCallback
from agentls.domain.config import AgentConfig
from agentls.domain.results import TaskKind, TaskResult
from agentls.orchestration.config_loader import load_config
from agentls.orchestration.runtime import Runtime


class CountingRuff(RuffAdapter):
    """ruff's key, without running ruff: each run is counted."""

    runs = 0

    async def run(self, request: TaskRequest, on_line: LineCallback | None = None) -> TaskResult:
        CountingRuff.runs += 1
        return TaskResult(agent=self.agent_name, task=request.task)


def test_every_file_of_a_request_and_its_config_are_in_the_key(workspace: Path) -> None:
    (workspace / "sub").mkdir()
    (workspace / "sub" / "ruff.toml").write_text("line-length = 80\n")
    config = load_config(workspace)
    runtime = Runtime.create(config, "test")
    adapter = CountingRuff("ruff", AgentConfig(adapter="ruff"), config.settings)

    def review(second_text: str) -> bool:
        request = TaskRequest(
            task=TaskKind.REVIEW,
            prompt="review calc.py and sub/more.py",
            workspace=workspace,
            target="calc.py",
            file_text=(workspace / "calc.py").read_text(),
            more_files=(TargetFile("sub/more.py", second_text),),
        )
        return asyncio.run(runtime.run_task(adapter, request)).cached

    assert [review("x = 1\n"), review("x = 1\n")] == [False, True]
    (workspace / "sub" / "ruff.toml").write_text("line-length = 90\n")  # only sub/more.py's
    assert [review("x = 1\n"), review("x = 1\n")] == [False, True]
    assert review("x = 2\n") is False
    assert CountingRuff.runs == 3
