"""GitHub workflow-command annotations: one line per finding, whatever an agent wrote."""

from __future__ import annotations

from agentls.ci.annotations import escape_data, escape_property, workflow_commands
from agentls.domain.results import Severity
from tests.ci.samples import finding, sample


def unescape_data(text: str) -> str:
    """What GitHub's runner reads back from a message."""
    return text.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def test_each_finding_is_one_command_with_its_place_and_title() -> None:
    lines = workflow_commands(sample()).splitlines()
    assert lines == [
        "::notice file=docs/ü nicode #1.py,line=1,endLine=1,title=claude%3A claude-review::a note",
        "::warning file=src/app.py,line=1,endLine=1,title=ruff%3A F401::`os` imported but unused",
        "::notice file=src/app.py,line=3,endLine=4,"
        "title=confirmed by claude and ruff%3A claude-review::name it better",
        "::error file=src/app.py,line=4,endLine=4,title=claude%3A ZeroDivision::divides by zero",
    ]


def test_a_failed_step_is_an_error_annotation() -> None:
    text = workflow_commands(sample(findings=[], failures=["review (claude): timed out\n::x::"]))
    assert text == "::error title=agentls::review (claude): timed out%0A::x::\n"


ATTACK = (
    "looks fine\n::set-env name=NODE_OPTIONS::--require /tmp/evil.js\r\n"
    "::add-mask::secret\n%0A::stop-commands::token\r::warning::fake"
)


def test_agent_text_cannot_start_a_second_command() -> None:
    """A message (or a path, a code) holding newlines and workflow commands, or an already
    escaped %0A, stays inside its one line and reads back as written."""
    hostile = finding(
        severity=Severity.ERROR, message=ATTACK, code="C,o:de\n::add-mask::x",
        path="a,b:c\n::set-output name=x::y.py", agent="evil\n::warning::",
    )  # fmt: skip
    text = workflow_commands(sample(hostile))
    lines = text.splitlines()
    assert len(lines) == 1 and text.count("\n") == 1 and "\r" not in text
    command, _, message = lines[0].partition("::")[2].partition("::")
    assert unescape_data(message) == ATTACK
    assert "::" not in command  # the properties hold no command separator
    properties = dict(part.split("=", 1) for part in command.split(" ", 1)[1].split(","))
    assert set(properties) == {"file", "line", "endLine", "title"}
    assert properties["file"] == "a%2Cb%3Ac%0A%3A%3Aset-output name=x%3A%3Ay.py"


def test_escaping_follows_github_s_rules() -> None:
    assert escape_data("100% \r\n:,") == "100%25 %0D%0A:,"
    assert escape_property("100% \r\n:,") == "100%25 %0D%0A%3A%2C"
