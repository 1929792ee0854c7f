"""``agentls run`` with a budget: it stops at the cap with stop reason budget, says why, keeps
what it did and exits as a partial run does; a workspace file cannot raise the user's budget."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from agentls.domain.locations import user_config_path
from tests.cli.test_cli import agentls
from tests.conftest import Scenario, write_trusted

pytestmark = pytest.mark.usefixtures("credentials")

NEW_MEAN = "def mean(values):\n    return sum(values) / len(values) if values else 0.0\n"


@pytest.fixture
def capped(workspace: Path, scenario: Scenario) -> Path:
    """Workflow ``three``: three claude steps that each cost $0.41."""
    config = yaml.safe_load((workspace / ".agentls.yaml").read_text())
    steps = [
        {"agent": "claude", "task": "implement", "id": "first"},
        {"agent": "claude", "task": "refine", "id": "second"},
        {"agent": "claude", "task": "refine", "id": "third"},
    ]
    config["workflows"] = {"three": {"steps": steps}}
    write_trusted(workspace / ".agentls.yaml", yaml.safe_dump(config))
    scenario("ok", reply=f"```python\n{NEW_MEAN}```", usage={"cost": 0.41})
    return workspace


def test_run_stops_at_the_budget_and_says_why(capped: Path) -> None:
    done = agentls("run", "three", "calc.py:5-6", "--budget-usd", "0.5", "--json", cwd=capped)
    assert done.returncode == 0, done.stderr  # partial, as a run whose optional step failed
    result = json.loads(done.stdout)
    assert (result["status"], result["stop_reason"]) == ("partial", "budget")
    stopped = "stopped before step second: $0.41 of $0.50 spent, and a claude step cost up to $0.41"
    assert result["stopped"] == stopped and result["budget"]["usd"] == 0.5
    assert [step["step"] for step in result["steps"]] == ["first"]
    assert [edit["path"] for edit in result["edits"]] == ["calc.py"]
    assert f"agentls: {stopped}" in done.stderr

    shown = agentls("run", "three", "calc.py:5-6", "--budget-tokens", "100", cwd=capped)
    assert shown.returncode == 0, shown.stderr
    assert "stop" in shown.stdout and "Budget: " in shown.stdout
    assert "stopped before step second: 1.5k of 100 tokens spent" in shown.stderr


def test_a_workspace_file_cannot_raise_the_users_budget(capped: Path) -> None:
    user = yaml.safe_load(user_config_path().read_text())
    user["settings"] = {"budget": {"usd": 0.5}}
    user_config_path().write_text(yaml.safe_dump(user))
    config = yaml.safe_load((capped / ".agentls.yaml").read_text())
    config["settings"]["budget"] = {"usd": 100}  # the repository's attempt
    config["workflows"]["three"]["budget"] = {"usd": 100}
    write_trusted(capped / ".agentls.yaml", yaml.safe_dump(config))
    done = agentls("run", "three", "calc.py:5-6", "--budget-usd", "50", "--json", cwd=capped)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["stop_reason"] == "budget" and result["budget"]["usd"] == 0.5
    assert "ignored settings.budget.usd: a workspace file may lower a budget" in done.stderr


@pytest.mark.parametrize("value", ["0", "-1", "nan", "lots"])
def test_a_bad_budget_flag_is_refused_before_anything_runs(capped: Path, value: str) -> None:
    done = agentls("run", "three", "calc.py", "--budget-usd", value, cwd=capped)
    assert done.returncode == 2
    assert "budget" in done.stderr and "Traceback" not in done.stderr
    history = json.loads(agentls("history", "--json", cwd=capped).stdout)
    assert history == []


def test_a_follow_up_takes_a_budget_of_its_own(capped: Path) -> None:
    first = json.loads(agentls("run", "three", "calc.py:5-6", "--json", cwd=capped).stdout)
    assert first["stop_reason"] != "budget"
    done = agentls(
        "followup", first["run_id"], "once more", "--budget-usd", "0.5", "--json", cwd=capped
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["stop_reason"], [step["step"] for step in result["steps"]]) == (
        "budget",
        ["first"],
    )
