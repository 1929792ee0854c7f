"""Merging reviewers' findings: only the same finding from different reviewers merges."""

from __future__ import annotations

import asyncio
from pathlib import Path

from agentls.cli.render import _findings_table
from agentls.domain.results import (
    Finding,
    Severity,
    TaskKind,
    TaskResult,
    WorkflowResult,
)
from agentls.orchestration.config_loader import load_config
from agentls.orchestration.merge import merge_findings
from agentls.orchestration.report import workflow_markdown
from agentls.orchestration.workflow import WorkflowEngine, WorkflowRequest
from agentls.server.convert import finding_diagnostic


def finding(agent: str, message: str = "Undefined name `a`", **fields: object) -> Finding:
    values: dict[str, object] = {"path": "m.py", "line": 2, "code": "F821", **fields}
    return Finding(message=message, agent=agent, **values)  # type: ignore[arg-type]


def test_one_reviewer_reporting_the_same_rule_twice_on_a_line_keeps_both() -> None:
    same = [finding("ruff"), finding("ruff")]
    different = [finding("ruff"), finding("ruff", "Undefined name `b`")]
    assert len(merge_findings(same)) == 2
    assert [f.message for f in merge_findings(different)] == [
        "Undefined name `a`",
        "Undefined name `b`",
    ]
    assert all(f.agents == [] and f.reported_by == "ruff" for f in merge_findings(same))


def test_two_reviewers_reporting_the_same_finding_merge_into_one_naming_both() -> None:
    gemini = finding("gemini", "Division by zero  when EMPTY", severity=Severity.WARNING)
    claude = finding(
        "claude", "division by zero when empty.", severity=Severity.ERROR, suggestion="fixed\n"
    )
    [merged] = merge_findings([gemini, claude])
    assert merged.agents == ["gemini", "claude"]
    assert merged.reported_by == "gemini, claude agree"
    assert merged.severity is Severity.ERROR  # the most severe report wins
    assert (merged.suggestion, merged.agent) == ("fixed\n", "claude")  # whose suggestion it is
    assert gemini.agents == [] and gemini.severity is Severity.WARNING  # inputs are not changed


def test_a_third_reviewer_joins_and_a_reviewers_repeat_stays_apart() -> None:
    merged = merge_findings([finding("gemini"), finding("claude"), finding("gemini")])
    assert [f.agents for f in merged] == [["gemini", "claude"], []]
    merged = merge_findings([*merged, finding("codex")])
    assert [f.agents for f in merged] == [["gemini", "claude", "codex"], []]


def test_different_messages_codes_or_ranges_on_one_line_stay_separate() -> None:
    kept = merge_findings(
        [
            finding("gemini", "values may be empty"),
            finding("claude", "the loop never ends"),
            finding("codex", "values may be empty", code="E1"),
            finding("copilot", "values may be empty", end_line=3),
            finding("ruff", "values may be empty", code=None),
        ]
    )
    assert len(kept) == 5 and all(f.agents == [] for f in kept)


def test_the_agreement_is_shown_in_the_table_the_report_and_the_diagnostic() -> None:
    [merged] = merge_findings([finding("gemini"), finding("claude")])
    table = _findings_table(TaskResult(agent="gemini", task=TaskKind.REVIEW, findings=[merged]))
    assert "gemini, claude agree" in str(next(iter(table.columns[3].cells)))
    result = WorkflowResult(
        run_id="r", workflow="review", status="ok", stop_reason="completed", findings=[merged]
    )
    report = workflow_markdown(result)
    assert "Undefined name `a` (gemini, claude agree)" in report
    diagnostic = finding_diagnostic(merged, ["x = 1", "print(a)", ""], "r")
    assert diagnostic.message == "Undefined name `a` (gemini, claude agree)"
    assert isinstance(diagnostic.data, dict) and diagnostic.data["agents"] == ["gemini", "claude"]
    alone = finding_diagnostic(finding("ruff"), ["x = 1", "print(a)", ""], "r")
    assert alone.message == "Undefined name `a` (ruff)"


def test_a_ruff_run_keeps_every_finding_of_one_rule_on_one_line(workspace: Path) -> None:
    (workspace / "many.py").write_text("l = 1; l = 2\nprint(a, b, a)\n")
    (workspace / "ruff.toml").write_text('[lint]\nselect = ["E", "F"]\n')
    request = WorkflowRequest(workflow="offline", workspace=workspace, path="many.py")
    result = asyncio.run(WorkflowEngine(load_config(workspace)).run(request))
    assert result.status == "ok", result.summary
    assert sorted((f.line, f.code, f.message) for f in result.findings) == [
        (1, "E702", "Multiple statements on one line (semicolon)"),
        (1, "E741", "Ambiguous variable name: `l`"),
        (1, "E741", "Ambiguous variable name: `l`"),
        (2, "F821", "Undefined name `a`"),
        (2, "F821", "Undefined name `a`"),
        (2, "F821", "Undefined name `b`"),
    ]
