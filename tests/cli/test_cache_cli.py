"""The result cache as a user meets it on the command line: it answers what the tool would
answer now, says when an answer is cached, and ``--no-cache`` refreshes what it keeps."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cli.test_cli import agentls
from tests.conftest import FAKES_BIN, Scenario, write_trusted

# Unused imports (F401) and a line of 120 characters (E501).
CODE = "import os\nimport sys\n\nVALUE = '" + "x" * 108 + "'\n"
ONLY_SYNTAX_ERRORS = '[lint]\nselect = ["E9"]\n'
UNUSED_IMPORTS = '[lint]\nselect = ["F401"]\n'
FIRST_FINDINGS = '{"findings": [{"line": 1, "message": "first answer", "code": "A1"}]}'
SECOND_FINDINGS = '{"findings": [{"line": 2, "message": "second answer", "code": "B2"}]}'


@pytest.fixture
def lint(workspace: Path) -> Path:
    """The workspace with ``bad.py`` and workflow ``lint``: ruff reviews the file."""
    (workspace / "bad.py").write_text(CODE)
    config = yaml.safe_load((workspace / ".agentls.yaml").read_text())
    config["workflows"] = {"lint": {"steps": [{"agent": "ruff", "task": "review"}]}}
    write_trusted(workspace / ".agentls.yaml", yaml.safe_dump(config))
    return workspace


def review(workspace: Path, agent: str = "ruff", *flags: str) -> dict[str, Any]:
    done = agentls("exec", agent, "bad.py", "--task", "review", "--json", *flags, cwd=workspace)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def codes(result: dict[str, Any]) -> list[str]:
    return sorted(finding["code"] for finding in result["findings"])


def test_a_changed_ruff_toml_changes_the_answer_without_no_cache(lint: Path) -> None:
    (lint / "ruff.toml").write_text(ONLY_SYNTAX_ERRORS)
    assert codes(review(lint)) == []
    again = review(lint)
    assert again["cached"] and codes(again) == []
    (lint / "ruff.toml").write_text(UNUSED_IMPORTS)
    changed = review(lint)
    assert not changed["cached"] and codes(changed) == ["F401", "F401"]


def test_the_config_a_ruff_toml_extends_is_part_of_the_answer(lint: Path) -> None:
    (lint / "ruff.toml").write_text('extend = "shared/base.toml"\n')
    (lint / "shared").mkdir()
    (lint / "shared" / "base.toml").write_text(ONLY_SYNTAX_ERRORS)
    assert codes(review(lint)) == []
    (lint / "shared" / "base.toml").write_text(UNUSED_IMPORTS)
    assert codes(review(lint)) == ["F401", "F401"]


def test_a_pyproject_gaining_a_ruff_table_changes_the_answer(lint: Path) -> None:
    (lint / "pyproject.toml").write_text('[project]\nname = "demo"\n')
    assert codes(review(lint)) == ["F401", "F401"]  # ruff's defaults
    ruff_table = '\n[tool.ruff]\nline-length = 100\n[tool.ruff.lint]\nselect = ["E501"]\n'
    (lint / "pyproject.toml").write_text('[project]\nname = "demo"\n' + ruff_table)
    assert codes(review(lint)) == ["E501"]


def test_the_user_ruff_config_counts_when_the_project_has_none(lint: Path) -> None:
    user = Path(os.environ["XDG_CONFIG_HOME"]) / "ruff"
    user.mkdir(parents=True)
    (user / "ruff.toml").write_text(ONLY_SYNTAX_ERRORS)
    assert codes(review(lint)) == []
    (user / "ruff.toml").write_text(UNUSED_IMPORTS)
    assert codes(review(lint)) == ["F401", "F401"]


def test_no_cache_answers_afresh_and_the_next_run_gets_that_answer(
    lint: Path, scenario: Scenario, fake_log: Callable[[], list[Any]], credentials: None
) -> None:
    scenario("ok", sequence=[{"reply": FIRST_FINDINGS}, {"reply": SECOND_FINDINGS}])
    assert codes(review(lint, "claude")) == ["A1"]
    fresh = review(lint, "claude", "--no-cache")
    assert codes(fresh) == ["B2"] and not fresh["cached"]
    after = review(lint, "claude")
    assert codes(after) == ["B2"] and after["cached"]
    assert len(fake_log()) == 2


def test_a_new_version_of_the_agent_cli_answers_afresh(
    lint: Path,
    scenario: Scenario,
    fake_log: Callable[[], list[Any]],
    credentials: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    installed = tmp_path / "installed"  # a codex of its own, to upgrade
    shutil.copytree(FAKES_BIN.parent, installed, ignore=shutil.ignore_patterns("__pycache__"))
    codex = installed / "bin" / "codex"
    monkeypatch.setenv("PATH", f"{codex.parent}{os.pathsep}{os.environ['PATH']}")
    scenario("ok", reply=FIRST_FINDINGS)
    review(lint, "codex")
    assert review(lint, "codex")["cached"] and len(fake_log()) == 1
    scenario("ok", reply=FIRST_FINDINGS, version="codex-cli 0.151.0")
    codex.write_text(codex.read_text() + "# 0.151.0\n")  # an upgrade replaces the program
    upgraded = review(lint, "codex")
    assert not upgraded["cached"] and len(fake_log()) == 2
    assert review(lint, "codex")["cached"] and len(fake_log()) == 2


def test_an_agent_given_other_environment_variables_answers_afresh(
    lint: Path, scenario: Scenario, fake_log: Callable[[], list[Any]], credentials: None
) -> None:
    scenario("ok", reply=FIRST_FINDINGS)
    review(lint, "codex")
    config = yaml.safe_load((lint / ".agentls.yaml").read_text())
    config.setdefault("agents", {})["codex"] = {"adapter": "codex", "set_env": {"GATEWAY": "x"}}
    write_trusted(lint / ".agentls.yaml", yaml.safe_dump(config))
    assert not review(lint, "codex")["cached"] and len(fake_log()) == 2


def test_cached_answers_are_labelled_in_every_output(lint: Path) -> None:
    first = agentls("run", "lint", "bad.py", cwd=lint)
    assert first.returncode == 0, first.stderr
    assert "cached" not in first.stderr and "Cached answers" not in first.stdout
    second = agentls("run", "lint", "bad.py", cwd=lint)
    assert second.returncode == 0, second.stderr
    assert "review ok cached" in second.stderr  # the step's progress line
    assert "Cached answers, no agent ran: review (ruff)" in second.stdout  # the report
    as_json = json.loads(agentls("run", "lint", "bad.py", "--json", cwd=lint).stdout)
    assert [step["cached"] for step in as_json["steps"]] == [True]
    fresh = json.loads(agentls("run", "lint", "bad.py", "--json", "--no-cache", cwd=lint).stdout)
    assert [step["cached"] for step in fresh["steps"]] == [False]
    shown = agentls("exec", "ruff", "bad.py", "--task", "review", cwd=lint)
    assert "ruff review ok (cached)" in shown.stdout
