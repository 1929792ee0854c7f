"""``agentls undo RUN`` on a file edited since the apply: your edits stay, agentls's go."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from agentls.orchestration.history import History
from tests.cli.test_apply_cli import NEW_MEAN, reply
from tests.cli.test_cli import agentls
from tests.conftest import SAMPLE, Scenario

pytestmark = pytest.mark.usefixtures("credentials")

OLD_MEAN = "def mean(values):\n    return sum(values) / len(values)\n"
APPLIED = SAMPLE.replace(OLD_MEAN, NEW_MEAN)
HEADER = '"""Arithmetic."""\n\n'
MEDIAN = "\n\ndef median(values):\n    return sorted(values)[len(values) // 2]\n"


def applied_run(ws: Path, scenario: Scenario) -> str:
    """Run ``one`` on calc.py:5-6 with --apply (the agent rewrites ``mean``); its run id."""
    scenario("ok", reply=reply((None, NEW_MEAN)))
    done = agentls("run", "one", "calc.py:5-6", "--apply", "--json", cwd=ws)
    assert done.returncode == 0, done.stderr
    assert (ws / "calc.py").read_text() == APPLIED
    run_id: str = json.loads(done.stdout)["run_id"]
    return run_id


def test_undo_keeps_edits_made_elsewhere_since_and_removes_agentls(
    one_step: Path, scenario: Scenario
) -> None:
    run_id = applied_run(one_step, scenario)
    edited = HEADER + APPLIED.replace("a + b", "b + a") + MEDIAN
    (one_step / "calc.py").write_bytes(edited.replace("\n", "\r\n").encode())  # and now CRLF

    undone = agentls("undo", run_id, cwd=one_step)
    assert undone.returncode == 0, undone.stderr
    assert undone.stdout.strip() == "restored calc.py (keeping your changes since)"
    expected = HEADER + SAMPLE.replace("a + b", "b + a") + MEDIAN
    assert (one_step / "calc.py").read_bytes() == expected.replace("\n", "\r\n").encode()
    listed = json.loads(agentls("history", "--json", cwd=one_step).stdout)
    assert listed[0]["state"] == "undone"


def test_undo_refuses_when_the_lines_agentls_wrote_changed_and_leaves_the_file(
    one_step: Path, scenario: Scenario
) -> None:
    run_id = applied_run(one_step, scenario)
    edited = HEADER + APPLIED.replace("if values else 0.0", "if values else None")
    (one_step / "calc.py").write_text(edited)

    undone = agentls("undo", run_id, cwd=one_step)
    assert undone.returncode == 2
    assert undone.stderr.splitlines() == [
        "agentls: calc.py: line 8 changed since agentls wrote it; nothing was undone "
        "(--force restores the backup anyway)"
    ]
    assert (one_step / "calc.py").read_text() == edited
    assert agentls("undo", run_id, "--force", cwd=one_step).returncode == 0
    assert (one_step / "calc.py").read_text() == SAMPLE


def test_a_history_changed_to_point_outside_the_workspace_undoes_nothing(
    one_step: Path, scenario: Scenario, tmp_path: Path
) -> None:
    run_id = applied_run(one_step, scenario)
    outside = tmp_path / "outside.py"
    outside.write_text(APPLIED)  # what a check by content alone would take for agentls's
    with sqlite3.connect(History(one_step).path) as db:
        db.execute("update applied set path = ?", ("../outside.py",))
    db.close()

    undone = agentls("undo", run_id, "--force", cwd=one_step)
    assert undone.returncode == 2
    (line,) = undone.stderr.splitlines()
    assert line.startswith("agentls: the history names a file agentls may not change")
    assert line.endswith("nothing was undone") and "outside the workspace" in line
    assert outside.read_text() == APPLIED
    assert (one_step / "calc.py").read_text() == APPLIED
