from __future__ import annotations

import pytest

from agentls.domain.errors import ConfigError
from agentls.orchestration.conditions import parse_condition

SCOPE = {
    "implement": {"status": "ok", "ok": True, "findings": 0, "edits": 2},
    "review": {"status": "ok", "ok": True, "findings": 3, "errors": 1},
    "iteration": 2,
}


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("review.findings >= 1", True),
        ("review.findings >= 4", False),
        ('implement.status == "ok"', True),
        ('implement.status == "ok" and review.errors == 0', False),
        ("review.errors > 0 or implement.edits == 0", True),
        ("not review.ok", False),
        ("1 <= review.findings < 3", False),
        ("iteration < 3", True),
        ("implement", True),
        ("missing_step.findings >= 1", False),  # a step that did not run compares false
        ("missing_step.findings == None", True),
    ],
)
def test_evaluate(source: str, expected: bool) -> None:
    assert parse_condition(source).evaluate(SCOPE) is expected


@pytest.mark.parametrize(
    "source",
    [
        "__import__('os').system('touch pwned')",
        "review.findings.__class__",
        "review.secret >= 1",
        "[x for x in ()]",
        "review.findings + 1 > 2",
        "lambda: 1",
        "-review.findings < 0",
        "review.findings >= ",
        "open('x')",
    ],
)
def test_anything_beyond_the_language_is_refused(source: str) -> None:
    with pytest.raises(ConfigError, match="condition"):
        parse_condition(source)


def test_names_lists_the_steps_read() -> None:
    assert parse_condition("review.findings > 1 and not fix.ok or iteration > 1").names() == {
        "review",
        "fix",
    }
