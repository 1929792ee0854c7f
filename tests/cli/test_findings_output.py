"""Findings in the terminal (``agentls run``, ``agentls exec``): one line each, as terminals and
editors link them (``path:line: severity code message (who)``), by path then line, under the
run's report; agent text is printed as written, never as markup or terminal control."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import yaml
from rich.console import Console

from agentls.cli.render import FindingLines
from agentls.domain.results import Finding, Severity
from tests.cli.test_cli import agentls
from tests.conftest import Scenario, write_trusted

pytestmark = pytest.mark.usefixtures("credentials")

HOSTILE = (
    "[red]x[/red] and [link=https://evil.example]click[/link] [bold]"
    "\x1b]8;;https://evil.example\x1b\\here\x1b]8;;\x1b\\ \x1b[2J\nsecond line"
)


def test_a_run_prints_its_report_and_each_finding_on_a_line_by_path_then_line(
    workspace: Path,
) -> None:
    (workspace / "b.py").write_text("import os\nimport sys\n")
    (workspace / "a.py").write_text("import sys\nimport os\n")
    done = agentls("run", "offline", "b.py", "a.py", cwd=workspace)
    assert done.returncode == 0, done.stderr
    shown = done.stdout
    assert "offline — ok" in shown and "offline on 2 files: ok" in shown  # the narrative
    assert "review" in shown and "ruff" in shown  # its steps table
    lines = [line for line in shown.splitlines() if line.startswith(("a.py:", "b.py:"))]
    assert lines == [
        "a.py:1: warning F401 `sys` imported but unused (fix: Remove unused import: `sys`) (ruff)",
        "a.py:1: warning I001 Import block is un-sorted or un-formatted (fix: Organize imports) "
        "(ruff)",
        "a.py:2: warning F401 `os` imported but unused (fix: Remove unused import: `os`) (ruff)",
        "b.py:1: warning F401 `os` imported but unused (fix: Remove unused import: `os`) (ruff)",
        "b.py:2: warning F401 `sys` imported but unused (fix: Remove unused import: `sys`) (ruff)",
    ]
    assert "no changes proposed" in shown.split(lines[-1])[1]


def hostile_review(workspace: Path, scenario: Scenario) -> None:
    """Workflow ``look``: codex reviews, and reports a finding whose code and message try to
    style, link and clear the terminal."""
    config = yaml.safe_load((workspace / ".agentls.yaml").read_text())
    config["workflows"] = {"look": {"steps": [{"agent": "codex", "task": "review"}]}}
    write_trusted(workspace / ".agentls.yaml", yaml.safe_dump(config))
    finding = {
        "line": 2,
        "severity": "error",
        "code": "[blink]X1",
        "message": HOSTILE,
        "suggestion": "y = 2\n",
    }
    scenario("ok", reply=json.dumps({"findings": [finding]}))


@pytest.mark.parametrize(
    "command",
    [("run", "look", "calc.py"), ("exec", "codex", "calc.py", "--task", "review")],
)
def test_agent_text_in_a_finding_prints_literally_on_one_line(
    workspace: Path, scenario: Scenario, command: tuple[str, ...]
) -> None:
    hostile_review(workspace, scenario)
    done = agentls(*command, cwd=workspace)
    assert done.returncode == 0, done.stderr
    [line] = [line for line in done.stdout.splitlines() if line.startswith("calc.py:2:")]
    assert line == (
        "calc.py:2: error [blink]X1 [red]x[/red] and [link=https://evil.example]click[/link] "
        "[bold]\\u001b]8;;https://evil.example\\u001b\\here\\u001b]8;;\\u001b\\ \\u001b[2J"
        "\\u000asecond line (codex; has a fix)"
    )
    assert "\x1b" not in done.stdout  # no escape reaches the terminal


def test_a_secret_in_a_finding_is_redacted_in_its_line(workspace: Path, scenario: Scenario) -> None:
    hostile_review(workspace, scenario)
    finding = {"line": 2, "message": "leaked test-credential-value-1234 here"}
    scenario("ok", reply=json.dumps({"findings": [finding]}))
    done = agentls("run", "look", "calc.py", cwd=workspace)
    assert done.returncode == 0, done.stderr
    assert "test-credential-value-1234" not in done.stdout
    assert "calc.py:2: warning leaked [REDACTED] here (codex)" in done.stdout


def test_in_a_terminal_only_agentls_styles_the_line() -> None:
    """Printed to a colour terminal, the pieces get agentls's styles and nothing else: the
    agent's markup stays text and its escapes stay escaped (no link, no clearing)."""
    finding = Finding(
        path="m.py", line=3, severity=Severity.ERROR, code="X1", message=HOSTILE, agent="codex"
    )
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, color_system="truecolor")
    console.print(FindingLines([finding]), soft_wrap=True)
    shown = screen.getvalue()
    assert "[red]x[/red] and [link=https://evil.example]click[/link] [bold]" in shown
    assert "\x1b]8;" not in shown and "\x1b[2J" not in shown  # no link, no clearing
    assert "\\u001b]8;;https://evil.example" in shown
    assert shown.count("\n") == 1
