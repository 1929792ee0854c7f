"""The server holds only the latest results in memory; older runs are read back from history."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from agentls.domain.config import AgentlsConfig, Settings
from agentls.domain.results import WorkflowResult
from agentls.orchestration.history import History
from agentls.server.proposals import ProposalStore
from agentls.server.run import ServerRun
from agentls.server.runs import RunManager


def finished(manager: RunManager, folder: Path, number: int) -> ServerRun:
    result = WorkflowResult(
        run_id=f"run{number}", workflow="review", status="ok", stop_reason="completed",
        summary=f"summary of run {number}",
    )  # fmt: skip
    History(folder).record_run(result, "a.py", None, None)
    run = ServerRun(run_id=result.run_id, title=f"run {number}", uri="file:///a.py", folder=folder)
    run.result, run.status = result, result.status
    manager.runs[run.run_id] = run
    manager._forget_old_results(manager.session.config(folder).settings)
    return run


def test_only_the_latest_results_stay_in_memory_and_older_ones_reload(tmp_path: Path) -> None:
    config = AgentlsConfig(settings=Settings(results_in_memory=2))
    session = SimpleNamespace(config=lambda folder: config, proposals=ProposalStore())
    manager = RunManager(session, client=None)  # type: ignore[arg-type]
    runs = [finished(manager, tmp_path, number) for number in range(5)]
    assert [run.result is not None for run in runs] == [False, False, False, True, True]
    described = manager.describe("run0")
    assert described["status"] == "ok" and "summary of run 0" in described["markdown"]
