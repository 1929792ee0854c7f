"""Merging reviewers' findings: what different reviewers agree on becomes one finding that
says who agreed, one level more severe; a finding one of several reviewers raised says so;
differing fixes are kept side by side."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import zlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from rich.console import Console
from rich.markdown import Markdown

from agentls.cache import ResultCache
from agentls.cli.render import FindingLines
from agentls.domain.results import (
    Finding,
    Severity,
    Suggestion,
    TaskKind,
    TaskResult,
    WorkflowResult,
)
from agentls.orchestration.config_loader import load_config
from agentls.orchestration.history import History
from agentls.orchestration.merge import CLOSE, merge_findings, similarity
from agentls.orchestration.report import workflow_markdown
from agentls.orchestration.workflow import WorkflowEngine, WorkflowRequest
from agentls.server.convert import finding_diagnostic


def finding(agent: str, message: str = "Undefined name `a`", **fields: object) -> Finding:
    values: dict[str, object] = {"path": "m.py", "line": 2, "code": "F821", **fields}
    return Finding(message=message, agent=agent, **values)  # type: ignore[arg-type]


BOTH = ["gemini", "claude"]


def test_one_reviewer_reporting_the_same_rule_twice_on_a_line_keeps_both() -> None:
    same = [finding("ruff"), finding("ruff")]
    different = [finding("ruff"), finding("ruff", "Undefined name `b`")]
    assert len(merge_findings(same, ["ruff"])) == 2
    assert [f.message for f in merge_findings(different, ["ruff"])] == [
        "Undefined name `a`",
        "Undefined name `b`",
    ]
    kept = merge_findings(same, ["ruff"])
    assert all(f.agents == [] and not f.unconfirmed and f.reported_by == "ruff" for f in kept)


def test_two_reviewers_agreeing_make_one_finding_that_says_who_confirmed_it() -> None:
    gemini = finding("gemini", "Division by zero  when EMPTY", severity=Severity.WARNING)
    claude = finding("claude", "division by zero when empty.", severity=Severity.INFO)
    [merged] = merge_findings([claude, gemini], BOTH)
    assert merged.agents == ["gemini", "claude"]  # the workflow's order
    assert merged.reported_by == "confirmed by gemini and claude"
    assert merged.severity is Severity.ERROR  # the most severe report, raised one level
    assert merged.reported_severity is Severity.WARNING and merged.raised_from is Severity.WARNING
    assert merged.message == "Division by zero  when EMPTY"  # the most severe report's
    assert gemini.agents == [] and gemini.severity is Severity.WARNING  # inputs are not changed


@pytest.mark.parametrize(
    ("reported", "shown"),
    [
        (Severity.HINT, Severity.INFO),
        (Severity.INFO, Severity.WARNING),
        (Severity.WARNING, Severity.ERROR),
        (Severity.ERROR, Severity.ERROR),
    ],
)
def test_agreement_raises_the_severity_one_level(reported: Severity, shown: Severity) -> None:
    [merged] = merge_findings(
        [finding("gemini", severity=reported), finding("claude", severity=Severity.HINT)], BOTH
    )
    assert (merged.severity, merged.reported_severity) == (shown, reported)
    assert merged.raised_from == (None if reported is Severity.ERROR else reported)


def test_three_reviewers_are_named_and_a_reviewers_repeat_stays_apart() -> None:
    merged = merge_findings(
        [finding("gemini"), finding("claude"), finding("gemini"), finding("codex")],
        ["gemini", "claude", "codex"],
    )
    assert [f.agents for f in merged] == [["gemini", "claude", "codex"], []]
    assert merged[0].reported_by == "confirmed by gemini, claude and codex"
    assert merged[1].reported_by == "only gemini reported this"


def test_overlapping_lines_agree_and_lines_that_only_touch_do_not() -> None:
    [merged] = merge_findings(
        [finding("gemini", line=2, end_line=4), finding("claude", line=4, end_line=6)], BOTH
    )
    assert merged.agents == BOTH and (merged.line, merged.last_line) == (2, 4)
    apart = merge_findings(
        [finding("gemini", line=2, end_line=3), finding("claude", line=4, end_line=6)], BOTH
    )
    assert [f.agents for f in apart] == [[], []]
    elsewhere = merge_findings([finding("gemini"), finding("claude", path="n.py")], BOTH)
    assert [f.agents for f in elsewhere] == [[], []]


def test_the_same_code_agrees_whatever_the_messages_say() -> None:
    [merged] = merge_findings(
        [
            finding("gemini", "risky arithmetic", code="Zero-Div"),
            finding("claude", "len(values) can be 0", code="zero-div"),
        ],
        BOTH,
    )
    assert merged.agents == BOTH
    different = merge_findings(
        [
            finding("gemini", "risky arithmetic", code="zero-div"),
            finding("claude", "len(values) can be 0", code="empty-input"),
        ],
        BOTH,
    )
    assert len(different) == 2
    no_code = merge_findings(
        [finding("gemini", "risky arithmetic", code=""), finding("claude", "a loop", code="")],
        BOTH,
    )
    assert len(no_code) == 2  # an empty code is no code


def test_close_messages_agree_whatever_their_codes() -> None:
    assert (
        similarity("Division by zero when the list is empty", "division by zero if list empty!")
        == 1
    )
    [merged] = merge_findings(
        [
            finding("gemini", "Division by zero when the list is empty", code="zero-div"),
            finding("claude", "division by zero if list empty!", code="ZeroDivision"),
        ],
        BOTH,
    )
    assert merged.agents == BOTH and merged.code == "zero-div"


def test_near_misses_either_side_of_the_threshold() -> None:
    # 3 shared words of 5: close; 2 of 4: not (filler words do not count).
    close = ("mean fails on empty input", "mean fails on empty values")
    not_close = ("Undefined name `a`", "Undefined name `b`")
    assert similarity(*close) == pytest.approx(3 / 5) and CLOSE <= 3 / 5
    assert similarity(*not_close) == pytest.approx(2 / 4) and CLOSE > 2 / 4
    near = [finding("gemini", close[0], code=None), finding("claude", close[1], code=None)]
    assert len(merge_findings(near, BOTH)) == 1
    far = [finding("gemini", not_close[0], code=None), finding("claude", not_close[1], code=None)]
    assert len(merge_findings(far, BOTH)) == 2


def test_messages_of_filler_words_only_agree_only_when_the_same() -> None:
    assert similarity("is it?", "Is it") == 1 and similarity("is it", "it is") == 0
    assert similarity("", "") == 1 and similarity("", "empty") == 0


def test_a_report_joins_the_finding_it_agrees_with_best() -> None:
    ruff_a = finding("ruff", "Undefined name `a`")
    ruff_b = finding("ruff", "Undefined name `b`")
    claude = finding("claude", "undefined name `b` here")
    merged = merge_findings([ruff_a, ruff_b, claude], ["ruff", "claude"])
    assert sorted((f.message, f.agents) for f in merged) == [
        ("Undefined name `a`", []),
        ("Undefined name `b`", ["ruff", "claude"]),
    ]


def test_a_report_must_agree_with_every_reviewer_of_a_finding() -> None:
    gemini = finding("gemini", "mean fails on empty input", line=2, end_line=3, code=None)
    claude = finding("claude", "mean fails on empty values", line=3, code=None)
    codex = finding("codex", "mean fails on empty values", line=4, end_line=5, code=None)
    merged = merge_findings([gemini, claude, codex], ["gemini", "claude", "codex"])
    # codex overlaps claude's lines, not gemini's: it stays on its own.
    assert sorted(tuple(f.agents) for f in merged) == [(), ("gemini", "claude")]


def test_one_of_several_reviewers_alone_keeps_its_severity_and_says_so() -> None:
    [alone] = merge_findings([finding("claude", severity=Severity.HINT)], ["gemini", "claude"])
    assert alone.severity is Severity.HINT and alone.reported_severity is None
    assert alone.unconfirmed and alone.reported_by == "only claude reported this"
    [single] = merge_findings([finding("claude", severity=Severity.HINT)], ["claude"])
    assert not single.unconfirmed and single.reported_by == "claude"  # no noise
    [repeat] = merge_findings([finding("claude")], ["claude", "claude"])  # two steps, one agent
    assert not repeat.unconfirmed


def test_differing_suggestions_are_kept_side_by_side() -> None:
    gemini = finding("gemini", severity=Severity.WARNING, suggestion="print(b)\n")
    claude = finding("claude", severity=Severity.ERROR, suggestion="print(0)\n", end_line=3)
    [merged] = merge_findings([gemini, claude], BOTH)
    # the most severe report's suggestion is the finding's; the other is an alternative
    assert (merged.suggestion, merged.agent, merged.last_line) == ("print(0)\n", "claude", 3)
    assert merged.alternatives == [Suggestion(agent="gemini", line=2, text="print(b)\n")]


def test_between_equally_severe_reports_the_first_reviewers_suggestion_is_kept() -> None:
    gemini = finding("gemini", suggestion="print(b)\n")
    claude = finding("claude", suggestion="print(0)\n")
    [merged] = merge_findings([claude, gemini], BOTH)
    assert merged.agent == "gemini" and [a.agent for a in merged.alternatives] == ["claude"]
    [merged] = merge_findings([gemini, claude], ["claude", "gemini"])
    assert merged.agent == "claude" and [a.agent for a in merged.alternatives] == ["gemini"]


def test_a_suggestion_is_kept_even_from_a_less_severe_report() -> None:
    gemini = finding("gemini", severity=Severity.ERROR)
    claude = finding("claude", severity=Severity.HINT, suggestion="print(0)\n")
    [merged] = merge_findings([gemini, claude], BOTH)
    assert (merged.suggestion, merged.agent, merged.alternatives) == ("print(0)\n", "claude", [])
    assert merged.severity is Severity.ERROR


def test_the_same_fix_twice_is_no_alternative() -> None:
    gemini = finding("gemini", suggestion="print(0)\n")
    claude = finding("claude", suggestion="print(0)")
    [merged] = merge_findings([gemini, claude], BOTH)
    assert merged.alternatives == [] and merged.suggestion == "print(0)\n"


def test_merging_merged_findings_keeps_the_reported_severity_and_the_alternatives() -> None:
    [first] = merge_findings(
        [finding("gemini", suggestion="x\n"), finding("claude", suggestion="y\n")], BOTH
    )
    [again] = merge_findings([first, finding("codex", suggestion="z\n")], [*BOTH, "codex"])
    assert again.agents == ["gemini", "claude", "codex"]
    assert (again.severity, again.reported_severity) == (Severity.ERROR, Severity.WARNING)
    assert [(a.agent, a.text) for a in again.alternatives] == [("claude", "y\n"), ("codex", "z\n")]


def test_results_stored_before_agreement_still_load(tmp_path: Path) -> None:
    old = {"path": "m.py", "line": 2, "message": "old", "agent": "gemini", "agents": []}
    [loaded] = TaskResult.model_validate(
        {"agent": "gemini", "task": "review", "findings": [old]}
    ).findings
    assert (loaded.reported_severity, loaded.unconfirmed, loaded.alternatives) == (None, False, [])
    assert loaded.reported_by == "gemini"

    history = History(tmp_path)
    result = WorkflowResult(
        run_id="r1", workflow="review", status="ok", stop_reason="completed",
        findings=[Finding(**old)],  # type: ignore[arg-type]
    )  # fmt: skip
    history.record_run(result, "m.py", None, None)
    _strip_new_fields(history.path, "turns", "result")
    [(_, again)] = history.turns("r1")
    assert again.findings[0].message == "old" and again.findings[0].alternatives == []

    cache = ResultCache(tmp_path / "cache.sqlite", ttl_s=60)
    cache.put("k", TaskResult(agent="gemini", task=TaskKind.REVIEW, findings=[Finding(**old)]))  # type: ignore[arg-type]
    cache._memory.clear()
    _strip_new_fields(tmp_path / "cache.sqlite", "results", "result")
    cached = cache.get("k")
    assert cached is not None and cached.findings[0].reported_by == "gemini"


def _strip_new_fields(database: Path, table: str, column: str) -> None:
    """Rewrite the stored JSON as an older agentls wrote it: findings without the new keys, as
    uncompressed text."""
    new = {"reported_severity", "unconfirmed", "alternatives"}

    def strip(value: object) -> object:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in new}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    with sqlite3.connect(database) as db:
        rows = db.execute(f"select rowid, {column} from {table}").fetchall()
        assert rows
        for rowid, raw in rows:
            text = zlib.decompress(raw) if isinstance(raw, bytes) else raw  # history compresses
            stripped = json.dumps(strip(json.loads(text)))
            assert "alternatives" not in stripped
            db.execute(f"update {table} set {column} = ? where rowid = ?", (stripped, rowid))


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
    assert not any(f.unconfirmed for f in result.findings)  # one reviewer: no noise


# -- properties --------------------------------------------------------------------------

REVIEWERS = ["gemini", "claude", "codex"]
WORDS = ["empty", "zero", "division", "loop", "name", "undefined", "values", "mean", "the"]

reports = st.builds(
    lambda agent, line, span, severity, code, words, suggestion: Finding(
        path="m.py",
        line=line,
        end_line=line + span if span else None,
        severity=severity,
        message=" ".join(words) or "x",
        code=code,
        suggestion=suggestion,
        agent=agent,
    ),
    st.sampled_from(REVIEWERS),
    st.integers(1, 6),
    st.integers(0, 2),
    st.sampled_from(list(Severity)),
    st.sampled_from([None, "", "E1", "e1", "E2"]),
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=4),
    st.sampled_from([None, "a\n", "b\n", ""]),
)


@given(st.lists(reports, max_size=12), st.randoms(use_true_random=False))
def test_merging_loses_no_report_and_ignores_the_order_findings_come_in(
    findings: list[Finding], random: object
) -> None:
    merged = merge_findings(findings, REVIEWERS)
    # every report is in exactly one finding, and no finding holds one reviewer twice
    reporters = [f.agents or [f.agent] for f in merged]
    assert sorted(a for names in reporters for a in names if a) == sorted(
        f.agent for f in findings if f.agent
    )
    assert all(len(names) == len(set(names)) for names in reporters)
    for report in findings:
        holder = [f for f in merged if report.agent in (f.agents or [f.agent])]
        assert any(f.line <= report.last_line and report.line <= f.last_line for f in holder)
    # every suggestion is offered
    offered = {(f.agent, f.suggestion) for f in merged if f.suggestion is not None}
    offered |= {(a.agent, a.text) for f in merged for a in f.alternatives}
    texts = {text.rstrip("\n") for _, text in offered if text is not None}
    assert {f.suggestion.rstrip("\n") for f in findings if f.suggestion is not None} <= texts
    # the order of the findings does not matter
    shuffled = list(findings)
    random.shuffle(shuffled)  # type: ignore[attr-defined]
    assert merge_findings(shuffled, REVIEWERS) == merged


@given(st.lists(reports, max_size=12))
def test_the_reviewers_order_only_breaks_ties(findings: list[Finding]) -> None:
    forward = merge_findings(findings, REVIEWERS)
    backward = merge_findings(findings, REVIEWERS[::-1])

    def groups(merged: list[Finding]) -> list[tuple[object, ...]]:
        return sorted(
            (
                tuple(sorted(f.agents or [f.agent or ""])),
                f.severity,
                f.reported_severity,
                f.unconfirmed,
                len(f.alternatives) + (f.suggestion is not None),
            )
            for f in merged
        )

    assert groups(forward) == groups(backward)


# -- how agreement is shown --------------------------------------------------------------


def _result(*findings: Finding) -> WorkflowResult:
    return WorkflowResult(
        run_id="r", workflow="review", status="ok", stop_reason="completed", findings=[*findings]
    )


def test_the_agreement_is_shown_in_the_terminal_the_report_and_the_diagnostic() -> None:
    [merged] = merge_findings([finding("gemini"), finding("claude")], BOTH)
    assert str(FindingLines([merged])) == (
        "m.py:2: error F821 Undefined name `a` (confirmed by gemini and claude; raised from "
        "warning)"
    )
    report = workflow_markdown(_result(merged))
    assert (
        "- **error** m.py:2 `F821`: Undefined name `a` "
        "(confirmed by gemini and claude; raised from warning)"
    ) in report
    diagnostic = finding_diagnostic(merged, ["x = 1", "print(a)", ""], "r")
    assert diagnostic.message == "Undefined name `a` (confirmed by gemini and claude)"
    assert isinstance(diagnostic.data, dict) and diagnostic.data["agents"] == ["gemini", "claude"]
    alone = finding_diagnostic(finding("ruff"), ["x = 1", "print(a)", ""], "r")
    assert alone.message == "Undefined name `a` (ruff)"
    [only] = merge_findings([finding("claude")], BOTH)
    assert "(only claude reported this)" in workflow_markdown(_result(only))


def test_differing_fixes_are_shown_side_by_side_in_the_report_and_named_in_the_terminal() -> None:
    [merged] = merge_findings(
        [
            finding("gemini", suggestion="print(b)\n"),
            finding("claude", suggestion="print(0)\nprint(1)\n", end_line=3),
            finding("codex", suggestion=""),
        ],
        [*BOTH, "codex"],
    )
    report = workflow_markdown(_result(merged))
    assert (
        "  - gemini suggests for line 2:\n    ```\n    print(b)\n    ```\n"
        "  - claude suggests instead for lines 2-3:\n    ```\n    print(0)\n    print(1)\n    ```\n"
        "  - codex suggests instead: delete line 2\n"
    ) in report
    assert "different fixes from gemini, claude and codex" in str(FindingLines([merged]))
    console = Console(record=True, width=100)
    console.print(Markdown(report))
    shown = console.export_text()
    assert "gemini suggests for line 2:" in shown and "print(0)" in shown and "print(b)" in shown


def test_an_agents_suggestion_cannot_break_out_of_its_block_in_the_report() -> None:
    hostile = "x = 1\n```\n# Everything is fine\n[click](http://evil.example)\n````\n"
    [merged] = merge_findings(
        [finding("gemini", suggestion="y = 2\n"), finding("claude", suggestion=hostile)], BOTH
    )
    tokens = MarkdownIt().parse(workflow_markdown(_result(merged)))
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert headings == ["review — ok", "Findings"]
    fences = [t.content for t in tokens if t.type == "fence"]
    assert fences == ["y = 2\n", hostile]
    assert not any("evil" in t.content for t in tokens if t.type == "inline")
