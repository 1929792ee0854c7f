"""Files as they are (issue 13): a latin-1 Python file, a binary file, a Markdown file and a
file that does not parse, each given to ``agentls`` as a user gives it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.cli.test_cli import agentls
from tests.conftest import Scenario, write_trusted

# "café" is one byte in latin-1 (0xe9): not UTF-8, so only the coding line makes it readable.
LEGACY = (
    "# -*- coding: latin-1 -*-\n"
    "import os\n"
    "name = 'café'\n"
    "if name == None:\n"
    "    print(undefined_name)\n"
).encode("latin-1")
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06"
BINARY_LINE = "agentls: logo.png is not a text file (binary); agentls reviews and edits text"


@pytest.fixture
def python_rules(workspace: Path) -> Path:
    """The workspace's own ruff rules (pycodestyle and pyflakes), as a project would set them."""
    (workspace / "ruff.toml").write_text('[lint]\nselect = ["E", "F"]\n')
    return workspace


def findings(done: object) -> list[dict[str, object]]:
    assert getattr(done, "returncode", None) == 0, getattr(done, "stderr", "")
    return list(json.loads(getattr(done, "stdout", ""))["findings"])


def test_a_latin1_file_is_reviewed_offline_on_its_own_lines(python_rules: Path) -> None:
    (python_rules / "legacy.py").write_bytes(LEGACY)
    done = agentls("run", "offline", "legacy.py", "--json", cwd=python_rules)
    found = {(f["code"], f["line"], f["severity"]) for f in findings(done)}
    assert found == {("F401", 2, "warning"), ("E711", 4, "warning"), ("F821", 5, "error")}
    comparison = next(f for f in findings(done) if f["code"] == "E711")
    assert comparison["suggestion"] == "if name is None:\n"  # ruff's fix, on the decoded text
    assert (python_rules / "legacy.py").read_bytes() == LEGACY  # a review writes nothing


def test_exec_reviews_a_latin1_file_and_shows_its_text(python_rules: Path) -> None:
    (python_rules / "legacy.py").write_bytes(LEGACY)
    done = agentls("exec", "ruff", "legacy.py", "--task", "review", "--json", cwd=python_rules)
    assert {(f["code"], f["line"]) for f in findings(done)} >= {("F401", 2), ("F821", 5)}
    readable = agentls("exec", "ruff", "legacy.py:3-5", "--task", "review", cwd=python_rules)
    assert readable.returncode == 0, readable.stderr
    assert "E711" in readable.stdout and "F401" not in readable.stdout  # the selection only


def test_applying_a_change_to_a_latin1_target_keeps_latin1_bytes(
    workspace: Path, scenario: Scenario, credentials: None
) -> None:
    config = yaml.safe_load((workspace / ".agentls.yaml").read_text())
    config["workflows"] = {"one": {"steps": [{"agent": "codex", "task": "implement"}]}}
    write_trusted(workspace / ".agentls.yaml", yaml.safe_dump(config))
    (workspace / "legacy.py").write_bytes(LEGACY)
    scenario("ok", reply="```python\nif name is None:  # déjà vu\n```\n")
    done = agentls("run", "one", "legacy.py:4", "--apply", "--json", cwd=workspace)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["applied"] == ["legacy.py"]
    expected = LEGACY.replace(b"if name == None:", "if name is None:  # déjà vu".encode("latin-1"))
    assert (workspace / "legacy.py").read_bytes() == expected


@pytest.mark.parametrize(
    "args",
    [
        ["run", "offline", "logo.png"],
        ["run", "offline", "logo.png", "--json"],
        ["exec", "ruff", "logo.png", "--task", "review"],
        ["exec", "claude", "logo.png", "--task", "explain", "--json"],
    ],
)
def test_a_binary_file_is_refused_in_one_line(workspace: Path, args: list[str]) -> None:
    (workspace / "logo.png").write_bytes(PNG)
    done = agentls(*args, cwd=workspace)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [BINARY_LINE]
    assert done.stdout == ""
    listed = agentls("history", "--json", cwd=workspace)
    assert json.loads(listed.stdout) == []  # no run was recorded, failed or otherwise


def test_a_markdown_file_is_not_given_to_ruff(workspace: Path) -> None:
    (workspace / "notes.md").write_text("# Notes\n\nimport os\nif x == None: pass\n")
    done = agentls("run", "offline", "notes.md", "--json", cwd=workspace)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["findings"] == []
    reason = "ruff reviews Python files; notes.md is not one"
    assert [(s["status"], s["reason"]) for s in result["steps"]] == [("skipped", reason)]
    assert reason in result["summary"]
    readable = agentls("run", "offline", "notes.md", cwd=workspace)
    assert readable.returncode == 0 and reason in readable.stdout
    alone = agentls("exec", "ruff", "notes.md", "--task", "review", cwd=workspace)
    assert alone.returncode == 2
    assert alone.stderr.splitlines() == [f"agentls: {reason}"]


def test_a_syntax_error_is_an_error_finding(workspace: Path) -> None:
    (workspace / "broken.py").write_text("def f(:\n    pass\n")
    done = agentls("run", "offline", "broken.py", "--json", cwd=workspace)
    found = findings(done)
    assert found and all(f["severity"] == "error" for f in found)
    assert found[0]["line"] == 1
