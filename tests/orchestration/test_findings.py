from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from agentls.domain.results import Severity
from agentls.orchestration.findings import parse_findings


def test_json_inside_prose_and_a_fence_with_trailing_text() -> None:
    reply = """Here is my review.

```json
{"findings": [
  {"line": 5, "end_line": 6, "severity": "error", "message": "Division by zero on empty input",
   "code": "zero-div",
   "suggestion": "def mean(values):\\n    return sum(values) / max(len(values), 1)\\n"}
]}
```

Let me know if you want more."""
    parsed = parse_findings(reply, "calc.py", line_count=6)
    assert parsed.found_contract
    [finding] = parsed.findings
    assert (finding.path, finding.line, finding.end_line) == ("calc.py", 5, 6)
    assert finding.severity is Severity.ERROR
    assert finding.code == "zero-div"
    assert finding.suggestion is not None and "max(len(values), 1)" in finding.suggestion


def test_bare_json_in_prose_without_a_fence() -> None:
    reply = 'Sure! {"findings": [{"line": 2, "severity": "high", "message": "x"}]} Thanks.'
    [finding] = parse_findings(reply, "a.py").findings
    assert finding.line == 2 and finding.severity is Severity.ERROR


def test_a_bare_list_and_loose_field_types() -> None:
    reply = '[{"line": "3", "severity": "nit", "message": "rename", "file": "b.py"}]'
    [finding] = parse_findings(reply, "a.py").findings
    assert (finding.path, finding.line, finding.severity) == ("b.py", 3, Severity.HINT)


def test_empty_findings_is_a_valid_answer() -> None:
    parsed = parse_findings('```json\n{"findings": []}\n```', "a.py")
    assert parsed.found_contract and parsed.findings == []


def test_entries_with_bad_lines_are_skipped_and_said_why() -> None:
    reply = (
        '{"findings": [{"line": 0, "message": "a"}, {"line": 99, "message": "b"},'
        ' {"line": 1}, {"line": 1, "message": "kept", "end_line": 0}]}'
    )
    parsed = parse_findings(reply, "a.py", line_count=10)
    assert [f.message for f in parsed.findings] == ["kept"]
    assert parsed.findings[0].end_line is None
    assert len(parsed.skipped) == 3


def test_fallback_to_compiler_style_lines() -> None:
    reply = "Problems:\n- calc.py:5: error: divides by zero\ncalc.py:1:4: warning [W1]: unused\n"
    parsed = parse_findings(reply, "calc.py")
    assert [(f.line, f.severity, f.code) for f in parsed.findings] == [
        (5, Severity.ERROR, None),
        (1, Severity.WARNING, "W1"),
    ]


def test_garbage_is_not_a_contract() -> None:
    parsed = parse_findings("I could not look at the file, sorry. {not json", "a.py")
    assert not parsed.found_contract and parsed.findings == []


def test_json_that_is_not_findings_is_ignored() -> None:
    parsed = parse_findings('Config: {"name": "x"} and [1, 2, 3]', "a.py")
    assert not parsed.found_contract


@given(st.text())
def test_never_raises_on_any_text(text: str) -> None:
    parsed = parse_findings(text, "a.py", line_count=50)
    for finding in parsed.findings:
        assert finding.line >= 1


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
        lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
    )
)
def test_never_raises_on_any_json(value: object) -> None:
    import json

    parse_findings(json.dumps({"findings": [value]}), "a.py", line_count=10)
