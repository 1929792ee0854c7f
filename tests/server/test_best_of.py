"""A best_of run in the editor: a code action per candidate, the judge's pick first, each
applying its candidate through agentls.applyRun."""

from __future__ import annotations

import json

import pytest
import yaml
from pygls.exceptions import JsonRpcException

from tests.conftest import SAMPLE, write_trusted
from tests.server.conftest import Editor, code, code_actions
from tests.server.test_follow_ups_and_apply import OLD_MEAN, ended, set_apply_mode

GUARDED = "def mean(values):\n    return sum(values) / len(values) if values else 0.0\n"
TERSE = "def mean(values):\n    return sum(values) / max(len(values), 1)\n"
LOUD = "def mean(values):\n    if not values:\n        raise ValueError('no values')\n" + (
    "    return sum(values) / len(values)\n"
)
REASONS = [
    (3, "raises a clear error on an empty list, which the criteria ask for above all else"),
    (1, "guards the empty list"),
    (2, "terse"),
]


def best_of_workflow(editor: Editor) -> None:
    """codex, gemini and copilot propose; claude ranks copilot's, then codex's, then gemini's."""
    editor.scenario("codex", code(GUARDED))
    editor.scenario("gemini", code(TERSE))
    editor.scenario("copilot", code(LOUD))
    ranking = {"ranking": [{"candidate": n, "reason": r} for n, r in REASONS]}
    editor.scenario("claude", "```json\n" + json.dumps(ranking) + "\n```")
    config_file = editor.workspace / ".agentls.yaml"
    config = yaml.safe_load(config_file.read_text())
    stage = {"candidates": ["codex", "gemini", "copilot"], "judge": "claude", "criteria": "c"}
    config["workflows"] = {"pick": {"steps": [{"best_of": stage}]}}
    write_trusted(config_file, yaml.safe_dump(config))


async def run_pick(editor: Editor, uri: str) -> str:
    answer = await editor.command(
        "agentls.runWorkflow", uri=uri, range={"start": 5, "end": 6}, workflow="pick"
    )
    run_id = str(answer["runId"])
    await ended(editor, run_id, 1)
    return run_id


async def candidate_actions(editor: Editor, uri: str) -> list[tuple[str, object]]:
    actions = await code_actions(editor, uri, diagnostics=[])
    return [
        (a.title, list(a.command.arguments or []) if a.command else None)
        for a in actions
        if "candidate" in a.title
    ]


@pytest.mark.parametrize("client", ["visual-studio-code"], indirect=True)
async def test_each_candidate_is_a_code_action_the_pick_first_and_applies_as_chosen(
    editor: Editor,
) -> None:
    await set_apply_mode(editor, "ask")
    editor.answer = "Discard"  # the pick is shown, not applied
    best_of_workflow(editor)
    uri = editor.open("calc.py")
    assert await candidate_actions(editor, uri) == []  # no run yet
    run_id = await run_pick(editor, uri)
    assert editor.text(uri) == SAMPLE

    assert await candidate_actions(editor, uri) == [
        (
            "agentls: apply candidate 3 of 3 (copilot) — ranked 1st: raises a clear error on an "
            "empty list, which the criteria a…",
            [{"runId": run_id, "candidate": 3}],
        ),
        (
            "agentls: apply candidate 1 of 3 (codex) — ranked 2nd: guards the empty list",
            [{"runId": run_id, "candidate": 1}],
        ),
        (
            "agentls: apply candidate 2 of 3 (gemini) — ranked 3rd: terse",
            [{"runId": run_id, "candidate": 2}],
        ),
    ]
    applied = await editor.command("agentls.applyRun", runId=run_id, candidate=2)
    assert applied["applied"] is True
    assert editor.text(uri) == SAMPLE.replace(OLD_MEAN, TERSE)

    # another candidate over the one applied: the document goes to that one
    await editor.command("agentls.applyRun", runId=run_id, candidate=3)
    assert editor.text(uri) == SAMPLE.replace(OLD_MEAN, LOUD)
    with pytest.raises(JsonRpcException, match=r"candidate 3 \(copilot\) .* applied already"):
        await editor.command("agentls.applyRun", runId=run_id, candidate=3)
    with pytest.raises(JsonRpcException, match="has candidates 1 to 3"):
        await editor.command("agentls.applyRun", runId=run_id, candidate=4)
    with pytest.raises(JsonRpcException, match="candidate"):
        await editor.command("agentls.applyRun", runId=run_id, candidate=0)


@pytest.mark.parametrize("client", ["visual-studio-code"], indirect=True)
async def test_after_the_pick_was_applied_another_candidate_replaces_it(editor: Editor) -> None:
    best_of_workflow(editor)
    uri = editor.open("calc.py")
    run_id = await run_pick(editor, uri)
    assert editor.text(uri) == SAMPLE.replace(OLD_MEAN, LOUD)  # the pick, applied at once
    await editor.command("agentls.applyRun", runId=run_id, candidate=1)
    assert editor.text(uri) == SAMPLE.replace(OLD_MEAN, GUARDED)


@pytest.mark.parametrize("reviewing_client", ["visual-studio-code"], indirect=True)
async def test_in_review_mode_a_candidate_is_proposed_for_review_instead_of_the_pick(
    reviewer: Editor,
) -> None:
    editor = reviewer
    best_of_workflow(editor)
    uri = editor.open("calc.py")
    run_id = await run_pick(editor, uri)
    assert editor.text(uri) == SAMPLE  # the pick (copilot's) waits for review
    titles = [title for title, _ in await candidate_actions(editor, uri)]
    assert (
        titles[1] == "agentls: review candidate 1 of 3 (codex) — ranked 2nd: guards the empty list"
    )
    answer = await editor.command("agentls.applyRun", runId=run_id, candidate=1)
    assert answer["applied"] is False and "1 change proposed in 1 file" in answer["note"]
    shown = await editor.command("agentls.showProposal", runId=run_id)
    pending = [h for h in shown["files"][0]["hunks"] if h["state"] == "pending"]
    assert [h["newText"] for h in pending] == [
        "    return sum(values) / len(values) if values else 0.0\n"
    ]
    assert all(h["state"] in ("pending", "stale") for h in shown["files"][0]["hunks"])
    await editor.command("agentls.acceptChange", runId=run_id)
    assert editor.text(uri) == SAMPLE.replace(OLD_MEAN, GUARDED)
