"""A best_of run in the terminal: its candidates ranked, and ``apply --candidate N``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.cli.test_cli import agentls
from tests.conftest import SAMPLE, new_fakes_io, write_trusted
from tests.fakes.script import log_file, script_agent, write_scenario

pytestmark = pytest.mark.usefixtures("credentials")

OLD_MEAN = "def mean(values):\n    return sum(values) / len(values)\n"
GUARDED = "def mean(values):\n    return sum(values) / len(values) if values else 0.0\n"
TERSE = "def mean(values):\n    return sum(values) / max(len(values), 1)\n"
RANKING = {"ranking": [{"candidate": 2, "reason": "guards the empty list"},
                       {"candidate": 1, "reason": "max() hides the intent"}]}  # fmt: skip


@pytest.fixture
def best_of(workspace: Path) -> Path:
    """Workflow ``pick``: codex and gemini propose, claude judges (gemini's, then codex's)."""
    config = yaml.safe_load((workspace / ".agentls.yaml").read_text())
    fakes = new_fakes_io()
    replies = {
        "codex": f"```python\n{TERSE}```",
        "gemini": f"```python\n{GUARDED}```",
        "claude": f"My ranking:\n```json\n{json.dumps(RANKING)}\n```",
    }
    for agent, reply in replies.items():
        scenario = write_scenario(fakes, agent, "ok", [reply])
        script_agent(config, agent, scenario, log_file(fakes, agent))
    stage = {"candidates": ["codex", "gemini"], "judge": "claude", "criteria": "safe and clear",
             "check": ["python3", "-c", "print('checked')"]}  # fmt: skip
    config["workflows"] = {"pick": {"steps": [{"best_of": stage}]}}
    write_trusted(workspace / ".agentls.yaml", yaml.safe_dump(config))
    return workspace


def test_the_terminal_lists_the_candidates_ranked_and_apply_takes_any_of_them(
    best_of: Path,
) -> None:
    shown = agentls("run", "pick", "calc.py:5-6", cwd=best_of)
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    assert "Candidates" in out
    pick = out.index("candidate 2 of 2 (gemini) — the pick: guards the empty list")
    assert out.index("candidate 1 of 2 (codex): max() hides the intent") > pick
    assert "check passed" in out
    run_id = out.rsplit("not applied; `agentls apply ", 1)[1].split("`")[0]

    other = agentls("apply", run_id, "--candidate", "1", cwd=best_of)
    assert other.returncode == 0, other.stderr
    assert (best_of / "calc.py").read_text() == SAMPLE.replace(OLD_MEAN, TERSE)
    assert agentls("undo", run_id, cwd=best_of).returncode == 0

    missing = agentls("apply", run_id, "--candidate", "3", cwd=best_of)
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines() == [
        f"agentls: run {run_id} has candidates 1 to 2; give one of them"
    ]
    picked = agentls("apply", run_id, cwd=best_of)
    assert picked.returncode == 0, picked.stderr
    assert (best_of / "calc.py").read_text() == SAMPLE.replace(OLD_MEAN, GUARDED)


def test_the_json_report_holds_each_candidate(best_of: Path) -> None:
    done = agentls("run", "pick", "calc.py:5-6", "--json", cwd=best_of)
    assert done.returncode == 0, done.stderr
    candidates = json.loads(done.stdout)["candidates"]
    assert [(c["index"], c["agent"], c["rank"], c["files"]) for c in candidates] == [
        (2, "gemini", 1, ["calc.py"]),
        (1, "codex", 2, ["calc.py"]),
    ]
    assert candidates[0]["check"]["exit_code"] == 0
    assert "checked" in candidates[0]["check"]["output"]
    assert candidates[0]["judge_reason"] == "guards the empty list"


def test_a_run_without_candidates_says_so_in_one_line(workspace: Path) -> None:
    config = yaml.safe_load((workspace / ".agentls.yaml").read_text())
    fakes = new_fakes_io()
    scenario = write_scenario(fakes, "codex", "ok", [f"```python\n{TERSE}```"])
    script_agent(config, "codex", scenario)
    config["workflows"] = {"one": {"steps": [{"agent": "codex", "task": "implement"}]}}
    write_trusted(workspace / ".agentls.yaml", yaml.safe_dump(config))
    run_id = json.loads(agentls("run", "one", "calc.py:5-6", "--json", cwd=workspace).stdout)[
        "run_id"
    ]
    refused = agentls("apply", run_id, "--candidate", "1", cwd=workspace)
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        f"agentls: run {run_id} has no candidates (it has no best_of step)"
    ]
