"""Budgets in the editor: progress shows the spend against the caps, the run stops at a cap
with stop reason budget and keeps what it did, and a client's ``budget`` can only lower it."""

from __future__ import annotations

import pytest
import yaml
from lsprotocol import types

from tests.adapters.test_agent_adapters import fake_processes
from tests.conftest import write_trusted
from tests.server.conftest import NEW_MEAN, Editor, code

STOPPED = "stopped before step third: $0.82 of $1.00 spent, and a claude step cost up to $0.41"


def capped_workflow(editor: Editor) -> None:
    """Workflow ``capped``: three claude steps, at most $1.00 a run."""
    file = editor.workspace / ".agentls.yaml"
    config = yaml.safe_load(file.read_text())
    steps = [
        {"agent": "claude", "task": "implement", "id": "first"},
        {"agent": "claude", "task": "refine", "id": "second"},
        {"agent": "claude", "task": "refine", "id": "third"},
    ]
    config["workflows"] = {"capped": {"steps": steps, "budget": {"usd": 1.00}}}
    write_trusted(file, yaml.safe_dump(config))


async def test_the_run_stops_at_the_cap_though_the_client_asked_for_more(editor: Editor) -> None:
    capped_workflow(editor)
    editor.scenario("claude", code(NEW_MEAN), usage={"cost": 0.41})
    uri = editor.open("calc.py")
    answer = await editor.command(
        "agentls.runWorkflow", uri=uri, workflow="capped", budget={"usd": 1000}
    )
    reports = await editor.finished(answer["runId"])
    end = reports[-1].message or ""
    assert STOPPED in end and "partial" in end
    messages = [r.message or "" for r in reports if isinstance(r, types.WorkDoneProgressReport)]
    assert any("first: ok" in m and "$0.41 of $1.00" in m for m in messages), messages
    assert len(editor.calls("claude")) == 2
    assert "if values else 0.0" in editor.text(uri)  # what the steps so far proposed
    report = await editor.command("agentls.showRun", runId=answer["runId"])
    assert report["status"] == "partial"
    assert "Budget: " in report["markdown"] and STOPPED in report["markdown"]


async def test_a_clients_minutes_stop_a_hanging_agent_and_leave_nothing_running(
    editor: Editor,
) -> None:
    editor.scenario("codex", behavior="hang")
    uri = editor.open("calc.py")
    answer = await editor.command(
        "agentls.runTask", uri=uri, task="implement", budget={"minutes": 0.05}
    )
    reports = await editor.finished(answer["runId"])
    assert "the 0.05 minutes of the budget were up" in (reports[-1].message or "")
    assert fake_processes("codex") == []
    assert editor.edits == []


@pytest.mark.parametrize(
    ("budget", "said"),
    [({"usd": -1}, "budget.usd"), ({"dollars": 5}, "budget.dollars"), ("lots", "budget")],
)
async def test_a_bad_budget_argument_is_refused(editor: Editor, budget: object, said: str) -> None:
    uri = editor.open("calc.py")
    with pytest.raises(Exception, match="bad arguments") as refused:
        await editor.command("agentls.runWorkflow", uri=uri, budget=budget)
    assert said in str(refused.value)
    assert editor.calls("codex") == []
