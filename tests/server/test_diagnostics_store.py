from __future__ import annotations

from agentls.domain.results import Finding, LineRange
from agentls.server.convert import finding_label
from agentls.server.diagnostics import DiagnosticStore

TEXT = "".join(f"line {n}\n" for n in range(1, 11))


def store() -> DiagnosticStore:
    diagnostics = DiagnosticStore()
    findings = [
        Finding(path="f", line=3, message="three", agent="a"),
        Finding(path="f", line=7, end_line=8, message="seven", suggestion="x\n"),
    ]
    diagnostics.replace("file:///f", findings, TEXT, "run1")
    return diagnostics


def test_diagnostics_point_at_their_lines() -> None:
    [three, seven] = store().diagnostics("file:///f")
    assert (three.range.start.line, three.range.end.line, three.range.end.character) == (2, 2, 6)
    assert three.source == "agentls" and three.message == "three (a)"
    assert seven.data["suggestion"] == "x\n" and seven.data["runId"] == "run1"


def test_an_edit_above_moves_them_and_an_edit_on_them_drops_them() -> None:
    diagnostics = store()
    text = "new first line\n" + TEXT.replace("line 3\n", "line 3 changed\n")
    assert diagnostics.follow_edit("file:///f", text)
    [seven] = diagnostics.diagnostics("file:///f")
    assert seven.range.start.line == 7 and seven.data["line"] == 8


def test_an_edit_elsewhere_changes_nothing() -> None:
    diagnostics = store()
    assert not diagnostics.follow_edit("file:///f", TEXT + "appended\n")
    assert len(diagnostics.diagnostics("file:///f")) == 2


def test_a_rewrite_that_repeats_a_flagged_line_drops_it() -> None:
    diagnostics = store()
    rewritten = TEXT.replace("line 1\nline 2\n", "new a\nnew b\nnew c\n").replace(
        "line 4\nline 5\n", "new d\nnew e\nnew f\n"
    )  # line 3 is kept only because the rewrite around it repeats it
    assert diagnostics.follow_edit("file:///f", rewritten)
    [seven] = diagnostics.diagnostics("file:///f")
    assert seven.data["line"] == 9


def test_one_line_changed_on_each_side_keeps_it() -> None:
    diagnostics = store()
    text = TEXT.replace("line 2\n", "line 2 edited\n").replace("line 4\n", "line 4 edited\n")
    assert not diagnostics.follow_edit("file:///f", text)
    assert len(diagnostics.diagnostics("file:///f")) == 2


def test_a_review_replaces_its_reviewers_findings_on_its_lines_only() -> None:
    diagnostics = DiagnosticStore()
    old = [
        Finding(path="f", line=2, message="two", agent="gemini"),
        Finding(path="f", line=7, message="seven", agent="gemini"),
        Finding(path="f", line=7, message="claude's seven", agent="claude"),
        Finding(path="f", line=8, message="both", agent="claude", agents=["claude", "gemini"]),
    ]
    diagnostics.replace("file:///f", old, TEXT, "run1", {"gemini", "claude"})
    new = [Finding(path="f", line=6, message="six", agent="gemini")]
    diagnostics.replace("file:///f", new, TEXT, "run2", {"gemini"}, LineRange(start=6, end=8))
    shown = [d.message for d in diagnostics.diagnostics("file:///f")]
    assert shown == ["two (gemini)", "six (gemini)", "claude's seven (claude)"]


def test_a_finding_is_named_by_its_code_or_the_start_of_its_message() -> None:
    long = "the loop recomputes the total of every prefix of the list, which is quadratic"
    assert finding_label(Finding(path="f", line=1, message=long, code="slow-sum")) == "slow-sum"
    assert finding_label(Finding(path="f", line=1, message=long)) == (
        "the loop recomputes the total of every…"
    )
    assert finding_label(Finding(path="f", line=1, message="empty list")) == "empty list"
