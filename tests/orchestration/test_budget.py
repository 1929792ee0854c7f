"""Budgets in the engine: the run stops before the step that would go past a cap, with stop
reason budget and what it did so far; a minutes cap stops the running step; spend the CLIs do
not report is estimated, and marked so."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import pytest
import yaml

from agentls.domain.budget import Budget, Price, tokens_text
from agentls.domain.locations import user_config_path
from agentls.domain.results import ErrorKind, TaskError, TaskKind, TaskResult, Usage
from agentls.orchestration.budget import Ledger, accounted
from agentls.orchestration.workflow import WorkflowRequest
from tests.fakes.script import SCENARIO_VARIABLE, scenario_file
from tests.orchestration.test_workflow import IMPLEMENTED, REFINED, Setup, code
from tests.processes import with_environment

pytestmark = pytest.mark.usefixtures("credentials")

THREE_STEPS = [
    {"agent": "claude", "task": "implement", "id": "first"},
    {"agent": "claude", "task": "refine", "id": "second"},
    {"agent": "claude", "task": "refine", "id": "third"},
]


@pytest.fixture
def setup(workspace: Path, tmp_path: Path) -> Setup:
    return Setup(workspace, tmp_path)


def test_the_run_stops_before_the_step_that_would_go_past_the_cap(setup: Setup) -> None:
    setup.agent("claude", code(IMPLEMENTED), code(REFINED), usage={"cost": 0.41})
    setup.workflow("capped", steps=THREE_STEPS, budget={"usd": 1.00})
    result = setup.run("capped")
    assert result.status == "partial" and result.stop_reason == "budget"
    assert result.stopped == (
        "stopped before step third: $0.82 of $1.00 spent, and a claude step cost up to $0.41"
    )
    assert result.stopped in result.summary
    assert [r.step for r in result.steps] == ["first", "second"]
    assert len(setup.calls("claude")) == 2
    assert [e.path for e in result.edits] == ["calc.py"]  # what the steps so far proposed
    assert result.budget == Budget(usd=1.00)
    assert result.usage.cost_usd == pytest.approx(0.82)


def test_a_run_stops_once_a_cap_is_reached(setup: Setup) -> None:
    setup.agent("claude", code(IMPLEMENTED), usage={"cost": 0.41})
    setup.workflow("capped", steps=THREE_STEPS, budget={"usd": 0.30})
    result = setup.run("capped")
    assert result.stop_reason == "budget"
    assert result.stopped == "stopped before step second: $0.41 of $0.30 spent"


def test_an_agents_share_stops_the_run_before_that_agents_next_step(setup: Setup) -> None:
    setup.agent("claude", code(IMPLEMENTED), usage={"cost": 0.41})
    setup.agent("codex", code(REFINED))
    setup.config["agents"]["claude"]["budget"] = {"usd": 0.50}
    steps = [THREE_STEPS[0], {"agent": "codex", "task": "refine", "id": "second"}, THREE_STEPS[2]]
    setup.workflow("shared", steps=steps)
    result = setup.run("shared")
    assert result.stop_reason == "budget" and result.status == "partial"
    assert result.stopped == (
        "stopped before step third: claude has spent $0.41 of its $0.50, and a claude step "
        "cost up to $0.41"
    )
    assert [r.step for r in result.steps] == ["first", "second"]


@pytest.mark.parametrize(("own", "stops_before"), [(0.50, "second"), (100.0, "third")])
def test_a_runs_own_budget_can_only_tighten_the_workflows(
    setup: Setup, own: float, stops_before: str
) -> None:
    setup.agent("claude", code(IMPLEMENTED), usage={"cost": 0.41})
    setup.workflow("capped", steps=THREE_STEPS, budget={"usd": 1.00})
    request = WorkflowRequest(
        workflow="capped", workspace=setup.workspace, path="calc.py", budget=Budget(usd=own)
    )
    result = asyncio.run(setup.engine().run(request))
    assert result.stopped.startswith(f"stopped before step {stops_before}:"), result.stopped
    assert result.budget == Budget(usd=min(own, 1.00))


def test_tokens_a_cli_does_not_report_are_estimated_and_count(setup: Setup) -> None:
    setup.agent("copilot", code(IMPLEMENTED))  # copilot reports premium requests, no tokens
    user = yaml.safe_load(user_config_path().read_text())  # a price is the user's own
    user["agents"]["copilot"]["price"] = {"usd_per_premium_request": 0.04}
    user_config_path().write_text(yaml.safe_dump(user))
    steps = [
        {"agent": "copilot", "task": "implement", "id": "first"},
        {"agent": "copilot", "task": "refine", "id": "second"},
    ]
    setup.workflow("capped", steps=steps, budget={"tokens": 10})
    result = setup.run("capped")
    [first] = result.steps
    assert first.result is not None
    usage = first.result.usage
    assert usage.estimated and result.usage.estimated
    assert usage.output_tokens == math.ceil(len(first.result.text) / 4)
    assert usage.input_tokens and usage.input_tokens > 100  # the prompt holds the file
    assert usage.cost_usd == pytest.approx(0.04)  # its one premium request, at the user's price
    assert result.stop_reason == "budget"
    assert result.stopped.startswith(
        f"stopped before step second: {tokens_text(usage.tokens)} of 10 tokens spent"
    )


def test_a_minutes_cap_stops_a_hanging_agent_and_nothing_is_left_running(setup: Setup) -> None:
    setup.agent("claude", behavior="hang")
    setup.workflow("capped", steps=THREE_STEPS, budget={"minutes": 0.05})
    result = setup.run("capped")
    assert result.status == "partial" and result.stop_reason == "budget"
    assert result.stopped == "stopped during step first: the 0.05 minutes of the budget were up"
    assert result.steps == [] and result.edits == []
    # found by their environment: in bubblewrap's PID namespace the pids they log are not ours
    scenario = str(scenario_file(setup.tmp / "fake", "claude"))
    assert with_environment(SCENARIO_VARIABLE, scenario) == []


def _result(agent: str, usage: Usage, cached: bool = False) -> TaskResult:
    return TaskResult(agent=agent, task=TaskKind.REVIEW, usage=usage, cached=cached)


def test_cached_answers_spend_nothing() -> None:
    ledger = Ledger(Budget(tokens=1000))
    ledger.add("gemini", _result("gemini", Usage(input_tokens=5000), cached=True))
    assert ledger.total().tokens == 0
    assert ledger.refusal("step review", ["gemini"]) is None


def test_a_parallel_groups_forecast_is_its_steps_together() -> None:
    ledger = Ledger(Budget(usd=1.0))
    ledger.add("claude", _result("claude", Usage(cost_usd=0.40)))
    assert ledger.refusal("the parallel steps a, b", ["claude", "claude"]) == (
        "stopped before the parallel steps a, b: $0.40 of $1.00 spent, and its steps together "
        "cost $0.80"
    )
    assert ledger.refusal("step a", ["claude"]) is None


def test_estimates_only_where_nothing_was_reported_and_something_was_sent() -> None:
    prompt, reply = "p" * 400, "r" * 41
    reported = _result("claude", Usage(input_tokens=7, output_tokens=3)).model_copy(
        update={"text": reply}
    )
    assert accounted(reported, prompt, None).usage == reported.usage
    silent = _result("gemini", Usage()).model_copy(update={"text": reply})
    estimated = accounted(silent, prompt, Price(input_usd_per_mtok=1e6)).usage
    assert (estimated.input_tokens, estimated.output_tokens) == (100, 11)
    assert estimated.estimated and estimated.cost_usd == pytest.approx(100.0)
    never_ran = silent.failed(TaskError(kind=ErrorKind.MISSING_BINARY, message="no gemini"))
    assert accounted(never_ran, prompt, None).usage == Usage()
    assert accounted(silent, prompt, None, uses_a_model=False).usage == Usage()
