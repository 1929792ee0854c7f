"""Best-of-N: candidates in parallel, their checks, a scripted judge's ranking, the pick."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from agentls.domain.errors import TaskInputError
from agentls.domain.results import WorkflowResult
from agentls.orchestration.best_of import candidate_result, parse_ranking
from agentls.orchestration.conversation import proposal
from tests.conftest import SAMPLE
from tests.orchestration.test_workflow import Setup, code

pytestmark = pytest.mark.usefixtures("credentials")

GUARDED = "def mean(values):\n    return sum(values) / len(values) if values else 0.0\n"
TERSE = "def mean(values):\n    return sum(values) / max(len(values), 1)\n"
UNCHANGED = "def mean(values):\n    return sum(values) / len(values)\n"
MEAN = SAMPLE.split("def mean")[0]


def ranking(*entries: Any) -> str:
    """A judge's answer in the contract's form, inside some prose."""
    items = [{"candidate": n, "reason": r} for n, r in entries]
    return "Here is my verdict.\n```json\n" + json.dumps({"ranking": items}) + "\n```\nThanks."


def best_of(setup: Setup, candidates: list[str], judge: str, **more: Any) -> None:
    stage = {"candidates": candidates, "judge": judge, "criteria": "handles empty lists", **more}
    setup.workflow("pick", steps=[{"best_of": stage}])


def texts(result: WorkflowResult) -> str:
    return proposal(result)["calc.py"] or ""


@pytest.fixture
def setup(workspace: Path, tmp_path: Path) -> Setup:
    return Setup(workspace, tmp_path)


def test_the_judges_pick_is_the_runs_proposal_and_each_candidate_stays_applicable(
    setup: Setup,
) -> None:
    setup.agent("codex", code(TERSE))
    setup.agent("gemini", code(GUARDED))
    setup.agent("claude", ranking((2, "guards the empty list"), (1, "max() is obscure")))
    best_of(setup, ["codex", "gemini"], "claude")
    result = setup.run("pick")
    assert result.status == "ok", result.summary
    assert texts(result).endswith(GUARDED)
    assert [(c.index, c.agent, c.rank, c.judge_reason) for c in result.candidates] == [
        (2, "gemini", 1, "guards the empty list"),
        (1, "codex", 2, "max() is obscure"),
    ]
    assert "picked candidate 2 of 2 (gemini)" in result.summary
    assert texts(candidate_result(result, 1)).endswith(TERSE)
    assert candidate_result(result, 2).edits == result.edits
    [judged] = setup.calls("claude")
    prompt = judged["prompt"]
    assert "handles empty lists" in prompt and "## Candidate 1" in prompt
    assert "+    return sum(values) / max(len(values), 1)" in prompt  # each one's diff
    assert "+    return sum(values) / len(values) if values else 0.0" in prompt
    assert "codex" not in prompt and "gemini" not in prompt  # changes are judged, not agents
    assert [(r.step, r.role) for r in result.steps] == [
        ("best_of#1", "candidate"),
        ("best_of#2", "candidate"),
        ("best_of#judge", "judge"),
    ]
    assert set(result.usage_by_agent) == {"codex", "gemini", "claude"}
    assert (setup.workspace / "calc.py").read_text() == SAMPLE  # nothing written


def test_a_judge_answering_garbage_keeps_the_order_and_says_so(setup: Setup) -> None:
    setup.agent("codex", code(TERSE))
    setup.agent("gemini", code(GUARDED))
    setup.agent("claude", 'They are both fine {"ranking": "yes"} [] {not json')
    best_of(setup, ["codex", "gemini"], "claude")
    result = setup.run("pick")
    assert result.status == "ok", result.summary
    assert [(c.index, c.rank) for c in result.candidates] == [(1, 1), (2, 2)]
    assert texts(result).endswith(TERSE)
    assert "the judge (claude) gave no ranking" in result.summary
    assert "the candidates stay in their order" in result.summary


def test_a_failing_judge_keeps_the_order_and_the_run_goes_on(setup: Setup) -> None:
    setup.agent("codex", code(TERSE))
    setup.agent("gemini", code(GUARDED))
    setup.agent("claude", behavior="auth")
    best_of(setup, ["codex", "gemini"], "claude")
    result = setup.run("pick")
    assert result.status == "partial", result.summary  # the judge's step failed, not the run
    assert texts(result).endswith(TERSE)
    assert "the judge (claude) failed, so the candidates stay in their order" in result.summary


def test_a_failed_candidate_is_listed_failed_and_never_ranked_first(setup: Setup) -> None:
    setup.agent("codex", "I would rather not write code.")  # no code block: the step fails
    setup.agent("gemini", code(TERSE))
    setup.agent("copilot", code(GUARDED))
    setup.agent("claude", ranking((1, "best"), (7, "?"), (3, "safe"), (3, "again")))
    best_of(setup, ["codex", "gemini", "copilot"], "claude")
    result = setup.run("pick")
    assert result.status == "partial", result.summary
    assert [(c.index, c.status, c.rank) for c in result.candidates] == [
        (3, "ok", 1),
        (2, "ok", 2),
        (1, "failed", None),
    ]
    assert "no fenced code block" in result.candidates[2].reason
    assert texts(result).endswith(GUARDED)
    assert "it named no such candidate: 1, 7" in result.summary
    assert "it ranked 3 twice" in result.summary and "it did not rank 2" in result.summary
    with pytest.raises(TaskInputError, match=r"candidate 1 \(codex\) of run .* failed"):
        candidate_result(result, 1)
    with pytest.raises(TaskInputError, match="has candidates 1 to 3"):
        candidate_result(result, 4)


def test_when_every_candidate_fails_the_run_fails_and_no_judge_is_asked(setup: Setup) -> None:
    setup.agent("codex", behavior="auth")
    setup.agent("gemini", "no code")
    setup.agent("claude", ranking((1, "x")))
    best_of(setup, ["codex", "gemini"], "claude")
    result = setup.run("pick")
    assert result.status == "failed" and result.stop_reason == "step_failed"
    assert result.edits == [] and setup.calls("claude") == []
    assert [c.status for c in result.candidates] == ["failed", "failed"]


def test_check_exit_codes_and_output_reach_the_judge(setup: Setup) -> None:
    check = [sys.executable, "-c", "import calc; print('mean of none:', calc.mean([]))"]
    setup.agent("codex", code(UNCHANGED))  # a change elsewhere would do; this one fails
    setup.agent("gemini", code(GUARDED))
    setup.agent("claude", ranking((2, "its check passes"), (1, "ZeroDivisionError")))
    best_of(setup, ["codex", "gemini"], "claude", check=check)
    result = setup.run("pick")
    assert result.status == "ok", result.summary
    [pick, other] = result.candidates
    assert pick.check is not None and pick.check.exit_code == 0
    assert "mean of none: 0.0" in pick.check.output
    assert other.check is not None and other.check.exit_code == 1
    assert "ZeroDivisionError" in other.check.output
    prompt = setup.calls("claude")[0]["prompt"]
    assert "Check: exit code 1" in prompt and "Check: exit code 0" in prompt
    assert "ZeroDivisionError" in prompt and "mean of none: 0.0" in prompt
    assert f"`{' '.join(check)}`" in prompt


def test_a_check_cannot_write_the_users_files(setup: Setup, tmp_path: Path) -> None:
    target = setup.workspace / "calc.py"
    attack = (
        f"open({str(target)!r}, 'w').write('pwned by absolute path')\n"
        "open('calc.py', 'w').write('pwned in its copy')\n"
    )
    check = [sys.executable, "-c", f"try:\n    {attack.splitlines()[0]}\nexcept OSError:\n"
             f"    pass\n{attack.splitlines()[1]}\nprint(open('calc.py').read())"]  # fmt: skip
    setup.agent("codex", code(TERSE))
    setup.agent("gemini", code(GUARDED))
    setup.agent("claude", ranking((1, "a"), (2, "b")))
    best_of(setup, ["codex", "gemini"], "claude", check=check)
    result = setup.run("pick")
    assert target.read_text() == SAMPLE
    assert not list(setup.workspace.glob("*.pyc"))
    assert {p.name for p in setup.workspace.iterdir()} == {"calc.py", ".agentls.yaml"}
    for candidate in result.candidates:
        assert candidate.check is not None
        assert "pwned in its copy" in candidate.check.output  # it ran, in its copy


def test_agentic_candidates_each_work_in_a_sandbox_of_their_own(setup: Setup) -> None:
    setup.agent("codex", "Done.", edits={"calc.py": MEAN + TERSE, "notes.md": "codex\n"})
    setup.agent("gemini", "Done.", edits={"calc.py": MEAN + GUARDED})
    setup.agent("claude", ranking((1, "adds notes"), (2, "fine")))
    best_of(setup, ["codex", "gemini"], "claude", mode="agentic")
    result = setup.run("pick", selection=None)
    assert result.status == "ok", result.summary
    assert {e.path for e in result.edits} == {"calc.py", "notes.md"}
    assert {e.path for e in candidate_result(result, 2).edits} == {"calc.py"}
    [codex], [gemini] = setup.calls("codex"), setup.calls("gemini")
    assert codex["cwd"] != gemini["cwd"] and str(setup.workspace) not in (
        codex["cwd"],
        gemini["cwd"],
    )
    assert not (setup.workspace / "notes.md").exists()


def test_later_steps_see_the_pick(setup: Setup) -> None:
    setup.agent("codex", code(TERSE))
    setup.agent("gemini", code(GUARDED), '```json\n{"findings": []}\n```')
    setup.agent("claude", ranking((2, "guarded"), (1, "terse")))
    stage = {"candidates": ["codex", "gemini"], "judge": "claude", "criteria": "c", "id": "pick"}
    setup.workflow(
        "pick",
        steps=[{"best_of": stage}, {"agent": "gemini", "task": "review", "when": "pick.edits > 0"}],
    )
    result = setup.run("pick")
    assert [r.status for r in result.steps] == ["ok", "ok", "ok", "ok"], result.summary
    review = setup.calls("gemini")[1]["prompt"]
    assert "if values else 0.0" in review and "max(len(values), 1)" not in review


def test_old_results_without_candidates_still_load() -> None:
    stored = {
        "run_id": "r1", "workflow": "default", "status": "ok", "stop_reason": "completed",
        "steps": [{"step": "review", "agent": "gemini", "task": "review", "iteration": 1,
                   "status": "ok"}],
    }  # fmt: skip
    result = WorkflowResult.model_validate_json(json.dumps(stored))
    assert result.candidates == [] and result.steps[0].role == "step"


@pytest.mark.parametrize(
    ("answer", "order", "problems"),
    [
        ('{"ranking": [{"candidate": "2", "reason": "a\\n b"}, 1]}', [2, 1], []),
        ("I pick [3, 1, 2] in that order", [3, 1, 2], []),
        ('{"ranking": [{"candidate": true}, {"candidate": 2}]}', [2], ["no such candidate"]),
        ('```json\n{"ranking": [9]}\n```\n{"ranking": [{"candidate": 1}]}', [1], ["did not"]),
        ("no JSON at all", [], ["held no ranking"]),
        ('{"ranking": {"1": "best"}}', [], ["held no ranking"]),
    ],
)
def test_rankings_are_read_whatever_the_judge_wrote(
    answer: str, order: list[int], problems: list[str]
) -> None:
    parsed = parse_ranking(answer, [1, 2, 3])
    assert parsed.order == order
    for problem in problems:
        assert any(problem in p for p in parsed.problems), parsed.problems
    if answer.startswith('{"ranking": [{"candidate": "2"'):
        assert parsed.reasons[2] == "a b"  # one line
