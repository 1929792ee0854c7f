"""``agentls followup`` after an applied run, and ``agentls apply`` of a proposal left unapplied."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agentls.orchestration.history import History
from tests.cli.test_cli import agentls
from tests.conftest import SAMPLE, Scenario

pytestmark = pytest.mark.usefixtures("credentials")

OLD_MEAN = "def mean(values):\n    return sum(values) / len(values)\n"
ONE_LINE = "def mean(values): return sum(values) / len(values) if values else 0.0\n"
SHORTER = "def mean(values):\n    return sum(values) / len(values) if values else 0\n"
FakeLog = Callable[[], list[dict[str, Any]]]


def code(text: str) -> dict[str, str]:
    return {"reply": f"```python\n{text}```"}


def test_a_follow_up_after_an_applied_run_works_on_the_lines_its_edit_left(
    one_step: Path, scenario: Scenario, fake_log: FakeLog
) -> None:
    """Lines 5-6 became line 5 (the file has 5 lines): the follow-up asks about line 5."""
    scenario("ok", sequence=[code(ONE_LINE), code(SHORTER)])
    first = agentls("run", "one", "calc.py:5-6", "--apply", "--json", cwd=one_step)
    assert first.returncode == 0, first.stderr
    run_id = json.loads(first.stdout)["run_id"]
    assert (one_step / "calc.py").read_text() == SAMPLE.replace(OLD_MEAN, ONE_LINE)

    again = agentls("followup", run_id, "use two lines", "--apply", "--json", cwd=one_step)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["applied"] == ["calc.py"]
    assert (one_step / "calc.py").read_text() == SAMPLE.replace(OLD_MEAN, SHORTER)
    assert "lines 5-5 of calc.py" in fake_log()[1]["prompt"]


def test_apply_writes_a_proposal_later_without_running_the_agents_and_undo_restores(
    one_step: Path, scenario: Scenario, fake_log: FakeLog
) -> None:
    scenario("ok", sequence=[code(SHORTER)])
    shown = agentls("run", "one", "calc.py:5-6", cwd=one_step)
    assert shown.returncode == 0, shown.stderr
    run_id = shown.stdout.rsplit("agentls apply ", 1)[1].split("`")[0]
    assert f"not applied; `agentls apply {run_id}` writes them" in shown.stdout
    assert (one_step / "calc.py").read_text() == SAMPLE

    applied = agentls("apply", run_id[:6], cwd=one_step)
    assert applied.returncode == 0, applied.stderr
    assert applied.stdout.strip() == f"applied to calc.py; undo with `agentls undo {run_id}`"
    assert (one_step / "calc.py").read_text() == SAMPLE.replace(OLD_MEAN, SHORTER)
    assert len(fake_log()) == 1, "the agent ran once"

    twice = agentls("apply", run_id, cwd=one_step)
    assert twice.returncode == 2
    assert twice.stderr.strip().splitlines() == [
        f"agentls: turn 0 of run {run_id} is applied already; `agentls undo {run_id}` undoes it"
    ]
    assert agentls("undo", run_id, cwd=one_step).returncode == 0
    assert (one_step / "calc.py").read_text() == SAMPLE
    assert agentls("apply", run_id, cwd=one_step).returncode == 0, "undone: applicable again"


def test_apply_refuses_in_one_line_when_a_file_changed_since_the_run(
    one_step: Path, scenario: Scenario
) -> None:
    scenario("ok", sequence=[code(SHORTER)])
    first = agentls("run", "one", "calc.py:5-6", "--json", cwd=one_step)
    run_id = json.loads(first.stdout)["run_id"]
    typed = SAMPLE + "# typed since\n"
    (one_step / "calc.py").write_text(typed)

    refused = agentls("apply", run_id, cwd=one_step)
    assert refused.returncode == 1
    [line] = refused.stderr.strip().splitlines()
    assert line.startswith(f"agentls: calc.py changed since run {run_id} started")
    assert "Traceback" not in refused.stderr
    assert (one_step / "calc.py").read_text() == typed

    bad_turn = agentls("apply", run_id, "--turn", "3", cwd=one_step)
    assert bad_turn.returncode == 2
    assert f"run {run_id} has turns 0 to 0" in bad_turn.stderr
    unknown = agentls("apply", "nosuch", cwd=one_step)
    assert unknown.returncode == 2 and "no run 'nosuch'" in unknown.stderr


def test_a_name_that_looks_like_an_emoji_code_prints_as_it_is(
    one_step: Path, scenario: Scenario
) -> None:
    (one_step / "calc.py").rename(one_step / "calc:smile:.py")
    scenario("ok", sequence=[code(SHORTER)])
    applied = agentls("run", "one", "calc:smile:.py:5-6", "--apply", cwd=one_step)
    assert applied.returncode == 0, applied.stderr
    assert "applied to calc:smile:.py; undo with" in applied.stdout


@pytest.mark.parametrize("command", ["apply", "followup"])
def test_a_run_damaged_in_the_history_is_one_line_of_error(
    one_step: Path, scenario: Scenario, command: str
) -> None:
    scenario("ok", sequence=[code(SHORTER)])
    run_id = json.loads(agentls("run", "one", "calc.py:5-6", "--json", cwd=one_step).stdout)[
        "run_id"
    ]
    with sqlite3.connect(History(one_step).path) as db:
        db.execute("update turns set result = ?", (b"cut short",))
    done = agentls(command, run_id, *(["shorter"] if command == "followup" else []), cwd=one_step)
    assert (done.returncode, done.stderr.strip()) == (
        2,
        f"agentls: run {run_id} is damaged in this workspace's history; run it again",
    )
