"""claude-agent-acp, the real ACP agent (it runs the Claude Agent SDK's Claude Code), driven by
agentls's acp adapter against the mock Messages API.

It needs no ``authenticate``: ``ANTHROPIC_API_KEY`` and ``ANTHROPIC_BASE_URL`` reach it through
the claude-acp entry's allow-list, as Claude Code's own variables. It answers ``initialize``
with ``loadSession: true`` and no auth methods (its terminal login and gateway are offered
only to clients that declare ``auth`` support for them), asks permission for edits and shell
commands (options ``allow_always``, ``allow``, ``reject``), reports the cost in a
``usage_update`` and the tokens in the ``session/prompt`` answer, and reads and writes files
with Claude Code's own tools, never through ``fs/*``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentls.domain.permissions import PermissionQuestion
from agentls.domain.results import ErrorKind, TaskKind
from tests.conftest import SAMPLE
from tests.realcli.acp_agents import (
    acp_agent,
    cancel_while_the_model_answers,
    outbox,
    requests,
    run,
    run_agentic,
    tap,
    wire,
)
from tests.realcli.conftest import RealCLI, cli_binary, real_cli
from tests.realcli.mock import Call, MockModelAPI, Recorded, Reply, say
from tests.realcli.test_claude import FINDINGS, running_with_home, where_claude_works


@pytest.fixture
def claude(api: MockModelAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RealCLI:
    cli = real_cli("claude", api, tmp_path, monkeypatch)  # Claude Code's variables and home
    acp_agent(cli, "claude-acp", [str(cli_binary("claude-acp"))])
    return cli


def calc(request: Recorded) -> str:
    return f"{where_claude_works(request)}/calc.py"


def read_calc(request: Recorded) -> Reply:
    return say(Call("Read", {"file_path": calc(request)}))


def swap_operands(request: Recorded) -> Reply:
    edit = {"file_path": calc(request), "old_string": "return a + b", "new_string": "return b + a"}
    return say(Call("Edit", edit))


def last_message(cli: RealCLI) -> str:
    """What the agent sent the model last: a tool's result, say."""
    return json.dumps(cli.api.turns()[-1].body["messages"][-1])


def test_a_review_gives_the_findings_claude_answers(claude: RealCLI) -> None:
    claude.api.script(FINDINGS)
    result = run(claude)
    assert result.ok, result.error
    assert [(f.line, f.message, f.agent) for f in result.findings] == [
        (6, "empty list", "claude-acp")
    ]
    assert result.session_id
    [turn] = claude.api.turns()
    assert "return sum(values) / len(values)" in json.dumps(turn.body["messages"])


def test_a_finding_reported_with_agentls_tool_is_a_finding(claude: RealCLI) -> None:
    """Claude Code asks permission for the MCP tool (``mcp__agentls__report_finding``, kind
    ``other``) before calling it: agentls allows its own."""
    report = {"path": "calc.py", "line": 6, "severity": "warning", "message": "empty list"}
    claude.api.script(say(Call("mcp__agentls__report_finding", report)), '{"findings": []}')
    result = run(claude)
    assert result.ok, result.error
    assert [(f.line, f.message) for f in result.findings] == [(6, "empty list")]
    [decision] = result.permissions
    assert (decision.kind, decision.allowed, decision.by) == ("other", True, "policy")
    assert "recorded finding 1" in last_message(claude)


def test_a_follow_up_loads_the_session_and_answers_with_the_new_turn_only(
    claude: RealCLI,
) -> None:
    """``session/load`` replays the earlier turns as updates before the prompt: they are
    not part of the follow-up's reply."""
    claude.api.script(FINDINGS, "Line 6 divides by zero on an empty list.")
    first = run(claude)
    second = run(claude, TaskKind.EXPLAIN, session_id=first.session_id)
    assert second.ok, second.error
    assert (second.session_id, second.notes) == (first.session_id, [])
    assert second.text == "Line 6 divides by zero on an empty list."
    earlier, resumed = claude.api.turns()
    assert len(resumed.body["messages"]) > len(earlier.body["messages"])


def test_without_a_key_it_is_an_auth_error_that_says_what_to_set(
    claude: RealCLI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    result = run(claude)
    assert result.error is not None and result.error.kind is ErrorKind.AUTH, result.error
    assert "set ANTHROPIC_API_KEY or" in result.error.message
    assert claude.api.turns() == []


def test_tokens_and_cost_reach_the_usage(claude: RealCLI) -> None:
    claude.api.script(read_calc, FINDINGS)
    result = run(claude)
    assert result.ok, result.error
    usage = result.usage
    # both of the prompt's model turns, from session/prompt's usage; the cost from the
    # usage_update Claude Code's price list makes
    assert (usage.input_tokens, usage.output_tokens) == (200, 40)
    assert usage.cost_usd is not None and usage.cost_usd > 0


def test_an_agentic_step_proposes_claudes_edit_and_leaves_the_file_alone(claude: RealCLI) -> None:
    """claude-agent-acp does not write through ``fs/write_text_file`` (nor read through
    ``fs/read_text_file``), though agentls offers both: Claude Code's own Edit tool writes
    the step's sandbox on disk, once the policy allowed the ``edit`` it asked about. The
    sandbox's diff is the proposal, so the user's file is untouched all the same."""
    log = tap(claude)
    claude.api.script(read_calc, swap_operands, "I swapped the operands.")
    result = run_agentic(claude)
    assert result.status == "ok", result.summary
    [edit] = result.edits
    assert (edit.path, edit.new_text) == ("calc.py", "    return b + a\n")
    assert (claude.workspace / "calc.py").read_text() == SAMPLE
    step = result.steps[0].result
    assert step is not None
    [decision] = step.permissions
    assert (decision.kind, decision.allowed, decision.by) == ("edit", True, "policy")
    assert decision.paths == ["calc.py"]
    said = wire(log)
    [session] = requests(said, "client", "session/new")
    assert session["cwd"] != str(claude.workspace)  # the sandbox
    assert not [m for who, m in said if who == "agent" and m.get("method", "").startswith("fs/")]


def test_an_edit_where_nothing_keeps_the_step_read_only_is_denied(claude: RealCLI) -> None:
    """Allowed there, Claude Code would edit the user's file itself (it never uses
    ``fs/write_text_file``), so the policy's ``edit: allow`` does not hold in a text step
    that bubblewrap does not keep read-only."""
    claude.configure(agents={"claude-acp": {"sandbox": "off", "permissions": {"edit": "allow"}}})
    claude.api.script(read_calc, swap_operands, "I could not edit it.")
    result = run(claude, TaskKind.IMPLEMENT)
    [decision] = result.permissions
    assert (decision.kind, decision.allowed) == ("edit", False)
    assert "not kept read-only" in decision.reason
    assert "User refused permission" in last_message(claude)
    assert (claude.workspace / "calc.py").read_text() == SAMPLE


def test_a_shell_command_nobody_can_allow_is_denied_and_never_runs(claude: RealCLI) -> None:
    marker = outbox(claude) / "ran"  # a place the contained agent could write
    bash = Call("Bash", {"command": f"touch {marker}", "description": "leave a marker"})
    claude.api.script(say(bash), FINDINGS)
    result = run(claude)
    assert result.ok, result.error
    [decision] = result.permissions
    assert (decision.kind, decision.allowed, decision.by) == ("execute", False, "nobody")
    assert decision.title == f"touch {marker}"
    assert "User refused permission" in last_message(claude)
    assert not marker.exists()

    async def yes(question: PermissionQuestion) -> bool:
        return True

    claude.api.script(say(bash), FINDINGS)
    allowed = run(claude, ask=yes)
    assert [(d.allowed, d.by) for d in allowed.permissions] == [(True, "user")]
    assert marker.exists()  # so the denial is what kept it from running


def test_a_cancel_sends_session_cancel_and_leaves_no_process(claude: RealCLI) -> None:
    log = tap(claude)
    claude.configure(settings={"kill_grace_s": 20})  # how long the agent may take to stop
    claude.api.script(say(FINDINGS, delay_s=120))
    cancel_while_the_model_answers(claude)
    assert running_with_home(claude.home) == []
    said = wire(log)
    [prompt_id] = [m["id"] for who, m in said if m.get("method") == "session/prompt"]
    order = [
        "cancel" if m.get("method") == "session/cancel" else m["result"]["stopReason"]
        for who, m in said
        if m.get("method") == "session/cancel" or (who == "agent" and m.get("id") == prompt_id)
    ]
    assert order == ["cancel", "cancelled"]  # asked first, and the agent ended its turn
