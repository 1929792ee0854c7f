"""The workflow engine end to end, with the fake CLIs as the agents."""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from agentls.domain.results import LineRange, WorkflowResult
from agentls.orchestration.config_loader import load_config
from agentls.orchestration.conversation import follow_up
from agentls.orchestration.events import Event, EventBus, StepStarted
from agentls.orchestration.history import History
from agentls.orchestration.workflow import CancelToken, WorkflowEngine, WorkflowRequest
from tests.adapters.test_agent_adapters import fake_processes
from tests.conftest import write_trusted
from tests.fakes.script import log_file, read_calls, script_agent, write_scenario

pytestmark = pytest.mark.usefixtures("credentials")

IMPLEMENTED = "def mean(values):\n    return sum(values) / len(values) if values else 0.0\n"
REFINED = (
    "def mean(values: list[float]) -> float:\n"
    "    return sum(values) / len(values) if values else 0.0\n"
)


MEAN_LINES = LineRange(start=5, end=6)


def code(text: str, path: str | None = None) -> str:
    info = f"python path={path}" if path else "python"
    return f"Done.\n```{info}\n{text}```\n"


def findings(*lines: int, code_id: str = "F1") -> str:
    items = [{"line": n, "severity": "warning", "message": f"issue {n}", "code": f"{code_id}{n}"}
             for n in lines]  # fmt: skip
    return "```json\n" + json.dumps({"findings": items}) + "\n```"


class Setup:
    """Per-agent scenarios for the fakes, and workflows, in the workspace's .agentls.yaml."""

    def __init__(self, workspace: Path, tmp_path: Path) -> None:
        self.workspace = workspace
        self.tmp = tmp_path
        self.config = yaml.safe_load((workspace / ".agentls.yaml").read_text())
        self.logs: dict[str, Path] = {}

    def agent(self, name: str, *replies: str, behavior: str = "ok", **fields: Any) -> None:
        """Scripted answers: the first call answers replies[0], and so on (the last repeats).
        The fake's files are in a folder it may write when contained, its home a test's own."""
        fakes = self.tmp / "fake"
        scenario = write_scenario(fakes, name, behavior, replies, **fields)
        log = self.logs[name] = log_file(fakes, name)
        agent = script_agent(self.config, name, scenario, log, HOME=str(self.tmp / "home"))
        agent["sandbox_paths"] = [str(fakes)]

    def workflow(self, name: str, **definition: Any) -> None:
        self.config.setdefault("workflows", {})[name] = definition

    def calls(self, name: str) -> list[dict[str, Any]]:
        return read_calls(self.logs[name])

    def engine(self, bus: EventBus | None = None) -> WorkflowEngine:
        write_trusted(self.workspace / ".agentls.yaml", yaml.safe_dump(self.config))
        return WorkflowEngine(load_config(self.workspace), bus)

    def run(
        self,
        workflow: str,
        selection: LineRange | None = MEAN_LINES,
        instruction: str | None = "handle empty lists",
        bus: EventBus | None = None,
    ) -> WorkflowResult:
        request = WorkflowRequest(
            workflow=workflow,
            workspace=self.workspace,
            path="calc.py",
            selection=selection,
            instruction=instruction,
        )
        return asyncio.run(self.engine(bus).run(request))


@pytest.fixture
def setup(workspace: Path, tmp_path: Path) -> Setup:
    return Setup(workspace, tmp_path)


def final_text(setup: Setup, result: WorkflowResult) -> str:
    from agentls.orchestration.conversation import proposal

    return proposal(result)["calc.py"] or ""


def test_default_workflow_implements_reviews_and_refines_until_the_review_is_clean(
    setup: Setup,
) -> None:
    setup.agent("codex", code(IMPLEMENTED))
    setup.agent("gemini", findings(5, 6), findings())
    setup.agent("claude", code(REFINED))
    result = setup.run("default")
    assert result.status == "ok", result.summary
    assert result.stop_reason == "below_threshold" and result.iterations == 2
    assert [(r.step, r.iteration, r.status) for r in result.steps] == [
        ("implement", 1, "ok"),
        ("review", 1, "ok"),
        ("refine", 1, "ok"),
        ("review", 2, "ok"),
        ("refine", 2, "skipped"),
    ]
    assert final_text(setup, result).endswith(REFINED)
    assert "def add(a, b):" in final_text(setup, result)
    assert result.findings == []  # the latest review found nothing
    [refine] = setup.calls("claude")
    assert "Review findings to address" in refine["prompt"]
    assert "calc.py:5 [warning] issue 5" in refine["prompt"]
    assert "if values else 0.0" in refine["prompt"]  # refine sees the implementation
    second_review = setup.calls("gemini")[1]
    assert "def mean(values: list[float]) -> float:" in second_review["prompt"]
    assert "handle empty lists" in setup.calls("codex")[0]["prompt"]
    assert (setup.workspace / "calc.py").read_text().count("if values") == 0  # nothing written
    assert set(result.usage_by_agent) == {"codex", "gemini", "claude"}
    assert result.usage.cost_usd


def test_the_cycle_stops_at_max_iterations_and_says_so(setup: Setup) -> None:
    setup.agent("codex", code(IMPLEMENTED))
    setup.agent("gemini", findings(5, 6))
    setup.agent("claude", code(REFINED))
    setup.workflow(
        "capped",
        max_iterations=2,
        steps=[
            {"agent": "codex", "task": "implement"},
            {"agent": "gemini", "task": "review"},
            {"agent": "claude", "task": "refine", "when": "review.findings >= 1"},
        ],
    )
    result = setup.run("capped")
    assert result.stop_reason == "max_iterations" and result.iterations == 2
    assert len(setup.calls("gemini")) == 2 and len(setup.calls("claude")) == 2
    assert "stopped at max_iterations (2) with 2 finding(s) still open" in result.summary
    assert [f.line for f in result.findings] == [5, 6]


def test_the_threshold_is_read_from_the_workflow(setup: Setup) -> None:
    setup.agent("codex", code(IMPLEMENTED))
    setup.agent("gemini", findings(5, 6))
    setup.agent("claude", code(REFINED))
    setup.workflow(
        "picky",
        max_iterations=5,
        min_suggestions_threshold=3,
        steps=[
            {"agent": "codex", "task": "implement"},
            {"agent": "gemini", "task": "review"},
            {"agent": "claude", "task": "refine"},
        ],
    )
    result = setup.run("picky")
    assert result.stop_reason == "below_threshold" and result.iterations == 1


def test_parallel_reviews_are_merged_and_a_failing_reviewer_does_not_stop_the_others(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup.agent("claude", findings(2, 5))
    setup.agent("gemini", findings(5, 6))
    setup.agent("codex", behavior="auth")
    result = setup.run("review", selection=None)
    statuses = {r.step: r.status for r in result.steps}
    assert statuses == {"claude_review": "ok", "gemini_review": "ok", "codex_review": "failed"}
    assert result.status == "failed" and "codex_review" in result.summary
    assert [(f.line, f.reported_by) for f in result.findings] == [
        (2, "only claude reported this"),
        (5, "confirmed by claude and gemini"),
        (6, "only gemini reported this"),
    ]
    assert result.findings[1].agents == ["claude", "gemini"]
    assert [f.severity for f in result.findings] == ["warning", "error", "warning"]


def test_the_refiner_hears_every_reviewers_fix_when_they_differ(setup: Setup) -> None:
    def fix(text: str) -> str:
        item = {"line": 6, "message": "division by zero on empty values", "suggestion": text}
        return "```json\n" + json.dumps({"findings": [item]}) + "\n```"

    setup.agent("gemini", fix("    return 0\n"))
    setup.agent("claude", fix("    return sum(values) / max(len(values), 1)\n"))
    setup.agent("codex", code(REFINED))
    setup.workflow(
        "pair_then_refine",
        steps=[
            {
                "parallel": [
                    {"agent": "gemini", "task": "review", "id": "gemini_review"},
                    {"agent": "claude", "task": "review", "id": "claude_review"},
                ]
            },
            {"agent": "codex", "task": "refine"},
        ],
    )
    result = setup.run("pair_then_refine")
    assert result.status == "ok", result.summary
    [refine] = setup.calls("codex")
    assert "  suggested replacement:\n        return 0" in refine["prompt"]
    assert (
        "  claude suggests instead for line 6:\n        return sum(values) / max(len(values), 1)"
    ) in refine["prompt"]


def test_fail_fast_cancels_the_siblings(setup: Setup) -> None:
    setup.agent("claude", findings(2), delay_s=30)
    setup.agent("gemini", behavior="auth")
    setup.workflow(
        "strict",
        steps=[
            {
                "fail_fast": True,
                "parallel": [
                    {"agent": "claude", "task": "review", "id": "slow"},
                    {"agent": "gemini", "task": "review", "id": "broken"},
                ],
            }
        ],
    )
    result = setup.run("strict")
    assert {r.step: r.status for r in result.steps} == {"broken": "failed", "slow": "failed"}
    assert any("a sibling failed" in r.reason for r in result.steps)
    assert result.duration_s < 20
    assert fake_processes("claude") == []


def test_an_optional_step_may_fail(setup: Setup) -> None:
    setup.agent("copilot", behavior="auth")
    setup.agent("gemini", findings(5))
    setup.config["agents"]["codex"] = {"command": ["codex-is-not-installed"]}
    setup.workflow(
        "lenient",
        steps=[
            {"agent": "copilot", "task": "review", "id": "suggestions", "optional": True},
            {"agent": "codex", "task": "review", "id": "missing", "optional": True},
            {"agent": "gemini", "task": "review"},
        ],
    )
    result = setup.run("lenient")
    assert result.status == "partial"
    by_step = {r.step: r for r in result.steps}
    assert by_step["suggestions"].status == "failed" and by_step["review"].status == "ok"
    assert "codex-is-not-installed" in by_step["missing"].reason
    assert [f.line for f in result.findings] == [5]


def test_conditions_skip_steps(setup: Setup) -> None:
    setup.agent("gemini", findings())
    setup.agent("claude", code(REFINED))
    setup.workflow(
        "guarded",
        steps=[
            {"agent": "gemini", "task": "review"},
            {"agent": "claude", "task": "refine", "when": "review.findings >= 1"},
            {"agent": "claude", "task": "explain", "when": 'review.status == "ok"'},
        ],
    )
    result = setup.run("guarded")
    assert [(r.step, r.status) for r in result.steps] == [
        ("review", "ok"),
        ("refine", "skipped"),
        ("explain", "ok"),
    ]
    assert result.edits == []


def test_cancel_stops_the_run_and_every_agent(setup: Setup) -> None:
    setup.agent("codex", behavior="hang")
    seen: list[Event] = []
    token = CancelToken()

    def on_event(event: Event) -> None:
        seen.append(event)
        if isinstance(event, StepStarted):
            asyncio.get_running_loop().call_later(0.5, token.cancel)

    bus = EventBus()
    bus.subscribe(on_event)
    request = WorkflowRequest(workflow="default", workspace=setup.workspace, path="calc.py")

    async def go() -> WorkflowResult:
        return await setup.engine(bus).run(request, token)

    result = asyncio.run(go())
    assert result.status == "cancelled" and result.stop_reason == "cancelled"
    assert fake_processes("codex") == []


def test_agentic_steps_edit_in_a_sandbox_and_come_back_as_edits(setup: Setup) -> None:
    setup.agent(
        "codex",
        "I changed the files.",
        edits={"calc.py": "def add(a, b):\n    return a + b\n", "helpers.py": "HELP = 1\n"},
    )
    setup.workflow(
        "agentic",
        steps=[{"agent": "codex", "task": "implement", "mode": "agentic"}],
    )
    before = (setup.workspace / "calc.py").read_text()
    result = setup.run("agentic", selection=None)
    assert result.status == "ok", result.summary
    kinds = {(e.path, e.kind) for e in result.edits}
    assert ("helpers.py", "create") in kinds and ("calc.py", "replace") in kinds
    assert final_text(setup, result) == "def add(a, b):\n    return a + b\n"
    assert (setup.workspace / "calc.py").read_text() == before
    assert not (setup.workspace / "helpers.py").exists()
    [call] = setup.calls("codex")
    assert "workspace-write" in call["argv"]
    assert call["cwd"] != str(setup.workspace)
    assert not Path(call["cwd"]).exists()  # the sandbox is gone


def test_an_agentic_steps_changed_file_counts_once_and_the_prompt_asks_for_edits(
    setup: Setup,
) -> None:
    setup.agent("codex", "Done.", edits={"calc.py": "def add(a, b):\n    return b + a\n"})
    setup.agent("claude", "Looks right.")
    setup.workflow(
        "agentic",
        steps=[
            {"id": "implement", "agent": "codex", "task": "implement", "mode": "agentic"},
            {"agent": "claude", "task": "explain", "when": "implement.changed_files == 1"},
        ],
    )
    result = setup.run("agentic", selection=None)
    assert [r.status for r in result.steps] == ["ok", "ok"], result.summary
    implement = result.steps[0].result
    assert implement is not None and implement.changed_files == ["calc.py"]
    [call] = setup.calls("codex")
    assert "Make the change yourself" in call["prompt"]
    assert "Do not edit files yourself" not in call["prompt"]


def test_a_reply_that_names_a_file_outside_the_workspace_is_refused(setup: Setup) -> None:
    setup.agent("codex", code("print('pwned')\n", path="../outside.py") + code(IMPLEMENTED))
    setup.workflow("one", steps=[{"agent": "codex", "task": "implement"}])
    result = setup.run("one")
    assert not (setup.workspace.parent / "outside.py").exists()
    assert all(e.path == "calc.py" for e in result.edits)


def test_follow_up_continues_the_run_with_the_agents_session(setup: Setup) -> None:
    setup.agent("claude", code(REFINED), code("def mean(values):\n    return 0.0\n"))
    setup.workflow("polish", steps=[{"agent": "claude", "task": "refine"}])
    history = History(setup.workspace)
    first = setup.run("polish")
    history.record_run(first, "calc.py", LineRange(start=5, end=6), "handle empty lists")
    engine = setup.engine()
    done = asyncio.run(follow_up(engine, history, first.run_id[:6], "make it return zero"))
    assert done.turn == 1 and done.result.run_id == first.run_id
    _, second_call = setup.calls("claude")
    session = first.steps[0].result.session_id if first.steps[0].result else None
    assert session and second_call["argv"][second_call["argv"].index("--resume") + 1] == session
    assert "handle empty lists" in second_call["prompt"]
    assert "make it return zero" in second_call["prompt"]
    assert "def mean(values: list[float]) -> float:" in second_call["prompt"]  # last proposal
    assert final_text(setup, done.result).endswith("def mean(values):\n    return 0.0\n")
    assert [t[0] for t in history.turns(first.run_id)] == [None, "make it return zero"]


def test_a_follow_up_resumes_each_steps_own_session(setup: Setup) -> None:
    findings = '{"findings": [{"line": 6, "message": "empty list"}]}'
    setup.agent("claude", findings, code(REFINED), findings, code(REFINED))
    setup.workflow(
        "two",
        steps=[
            {"id": "review", "agent": "claude", "task": "review"},
            {"id": "refine", "agent": "claude", "task": "refine"},
        ],
    )
    history = History(setup.workspace)
    first = setup.run("two")
    history.record_run(first, "calc.py", LineRange(start=5, end=6), None)
    asyncio.run(follow_up(setup.engine(), history, first.run_id, "once more"))
    sessions = {r.step: r.result.session_id for r in first.steps if r.result is not None}
    assert sessions["review"] != sessions["refine"]
    review, refine = setup.calls("claude")[2:]
    assert review["argv"][review["argv"].index("--resume") + 1] == sessions["review"]
    assert refine["argv"][refine["argv"].index("--resume") + 1] == sessions["refine"]


def test_an_agentic_follow_up_works_where_the_step_kept_its_session(setup: Setup) -> None:
    setup.agent("codex", "Done.", edits={"calc.py": "VALUE = 1\n"})
    setup.workflow("agentic", steps=[{"agent": "codex", "task": "implement", "mode": "agentic"}])
    history = History(setup.workspace)
    first = setup.run("agentic", selection=None)
    history.record_run(first, "calc.py", None, None)
    asyncio.run(follow_up(setup.engine(), history, first.run_id, "once more"))
    one, two = setup.calls("codex")
    assert one["cwd"] == two["cwd"] != str(setup.workspace)  # where a per-folder session is
    assert not Path(one["cwd"]).exists()
    taken = Path(one["cwd"]).parent  # someone else holds that folder now: never used
    taken.mkdir()
    (taken / "agentls.lock").touch()
    held = os.open(taken / "agentls.lock", os.O_RDWR)
    fcntl.flock(held, fcntl.LOCK_EX)
    try:
        asyncio.run(follow_up(setup.engine(), history, first.run_id, "and again"))
    finally:
        os.close(held)
        shutil.rmtree(taken)
    three = setup.calls("codex")[2]
    assert three["cwd"] != one["cwd"]


def test_cancel_during_an_agentic_step_removes_the_sandbox(setup: Setup) -> None:
    import subprocess

    subprocess.run(["git", "init", "-q"], cwd=setup.workspace, check=True)
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init",
         "--allow-empty"],
        cwd=setup.workspace, check=True,
    )  # fmt: skip
    setup.agent("codex", behavior="hang")
    setup.workflow("agentic", steps=[{"agent": "codex", "task": "implement", "mode": "agentic"}])
    token = CancelToken()
    bus = EventBus()
    bus.subscribe(
        lambda event: (
            asyncio.get_running_loop().call_later(0.5, token.cancel)
            if isinstance(event, StepStarted)
            else None
        )
    )
    request = WorkflowRequest(workflow="agentic", workspace=setup.workspace, path="calc.py")

    async def go() -> WorkflowResult:
        return await setup.engine(bus).run(request, token)

    result = asyncio.run(go())
    assert result.status == "cancelled"
    [call] = setup.calls("codex")
    assert not Path(call["cwd"]).exists()
    worktrees = subprocess.run(
        ["git", "worktree", "list"], cwd=setup.workspace, capture_output=True, text=True
    ).stdout
    assert "agentls-sandbox" not in worktrees
    assert fake_processes("codex") == []
