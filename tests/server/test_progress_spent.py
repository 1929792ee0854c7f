"""What live progress says a run has spent so far."""

from __future__ import annotations

from typing import Any

from agentls.domain.budget import Budget
from agentls.domain.results import TaskKind, TaskResult, Usage
from agentls.orchestration.events import StepFinished, WorkflowStarted
from agentls.server.progress import RunProgress


class Reports:
    def __init__(self) -> None:
        self.messages: list[str] = []

    def report_progress(self, token: str, report: Any) -> None:
        self.messages.append(report.message)


def test_spent_adds_the_usage_of_finished_agents_and_skips_cached_answers() -> None:
    client = Reports()
    progress = RunProgress(client, "0" * 12, "t", lambda: None)  # type: ignore[arg-type]
    progress.token = "agentls-000000000000-abcdef"
    assert progress.spent() == "0 s"

    def finished(usage: Usage, cached: bool = False) -> None:
        result = TaskResult(agent="codex", task=TaskKind.REVIEW, usage=usage, cached=cached)
        progress.on_event(StepFinished("r", "review", 1, "ok", result=result))

    finished(Usage(input_tokens=900, output_tokens=300, cost_usd=0.031))
    finished(Usage(input_tokens=10_000, cost_usd=1.0), cached=True)  # nothing spent now
    finished(Usage(input_tokens=40))
    assert progress.spent() == "0 s, 1.2k tokens, $0.03"
    assert client.messages[-1] == "review: ok · 0 s, 1.2k tokens, $0.03"


def test_spent_is_shown_against_the_budget_and_estimates_are_marked() -> None:
    client = Reports()
    progress = RunProgress(client, "0" * 12, "t", lambda: None)  # type: ignore[arg-type]
    progress.token = "agentls-000000000000-abcdef"
    budget = Budget(usd=2.0, tokens=400_000, minutes=10)
    progress.on_event(WorkflowStarted("r", "capped", ["copilot"], 2, budget))
    assert progress.spent() == "0 s of 10 min, 0 of 400k tokens, $0.00 of $2.00"
    usage = Usage(input_tokens=3000, output_tokens=200, cost_usd=0.4, estimated=True)
    result = TaskResult(agent="copilot", task=TaskKind.REFINE, usage=usage)
    progress.on_event(StepFinished("r", "refine", 1, "ok", result=result))
    assert client.messages[-1] == "refine: ok · 0 s of 10 min, ~3.2k of 400k tokens, $0.40 of $2.00"
