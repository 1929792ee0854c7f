from __future__ import annotations

from agentls.orchestration.results import Finding
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
