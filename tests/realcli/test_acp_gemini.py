"""Gemini CLI's own ACP agent, ``gemini --acp``, driven by agentls's acp adapter against the
mock Gemini API.

It needs no ``authenticate``: ``session/new`` authenticates as the settings and variables say
(``security.auth.selectedType: gemini-api-key``, ``GEMINI_API_KEY``,
``GOOGLE_GEMINI_BASE_URL``), and the untrusted workspace is no obstacle (headless gemini needs
``GEMINI_CLI_TRUST_WORKSPACE``). It reads and writes the step's files through ``fs/*`` since
agentls offers them, asks permission for edits and shell commands (``proceed_always``,
``proceed_once``, ``cancel``), and reports a turn's tokens in the ``session/prompt`` answer's
``_meta.quota``, not in ``usage``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
from tests.realcli.mock import Call, MockModelAPI, say
from tests.realcli.test_claude import running_with_home
from tests.realcli.test_gemini import FINDINGS, texts, tools

SWAPPED = SAMPLE.replace("return a + b", "return b + a")
WRITE_SWAPPED = say(Call("write_file", {"file_path": "calc.py", "content": SWAPPED}))


@pytest.fixture
def gemini(api: MockModelAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RealCLI:
    cli = real_cli("gemini", api, tmp_path, monkeypatch)  # gemini's variables and settings
    acp_agent(cli, "gemini-acp", [str(cli_binary("gemini")), "--acp"])
    return cli


def tool_result(cli: RealCLI) -> dict[str, Any]:
    """The response of the tool call gemini sent the model last."""
    [part] = cli.api.turns()[-1].body["contents"][-1]["parts"]
    return part["functionResponse"]["response"]  # type: ignore[no-any-return]


def test_a_review_gives_the_findings_gemini_answers(gemini: RealCLI) -> None:
    gemini.api.script(FINDINGS)
    result = run(gemini)
    assert result.ok, result.error
    assert [(f.line, f.message, f.agent) for f in result.findings] == [
        (6, "empty list", "gemini-acp")
    ]
    assert result.session_id
    [turn] = gemini.api.turns()
    assert turn.headers["x-goog-api-key"]
    assert any("return sum(values) / len(values)" in text for _, text in texts(turn))


def test_agentls_report_finding_tool_works_only_in_a_trusted_workspace(gemini: RealCLI) -> None:
    """gemini --acp starts the MCP servers of ``session/new`` only in a folder it trusts, and
    agentls does not set ``GEMINI_CLI_TRUST_WORKSPACE`` for it: its reviews answer with the
    findings JSON. Trusted, it asks permission for the tool (kind ``other``), which agentls
    allows."""
    gemini.api.script(FINDINGS)
    assert run(gemini).ok
    assert not {name for name in tools(gemini.api.turns()[-1]) if "report_finding" in name}
    gemini.configure(agents={"gemini-acp": {"set_env": {"GEMINI_CLI_TRUST_WORKSPACE": "true"}}})
    report = {"path": "calc.py", "line": 6, "severity": "warning", "message": "empty list"}
    gemini.api.script(say(Call("mcp_agentls_report_finding", report)), '{"findings": []}')
    result = run(gemini)
    assert result.ok, result.error
    assert [(f.line, f.message) for f in result.findings] == [(6, "empty list")]
    [decision] = result.permissions
    assert (decision.kind, decision.allowed, decision.by) == ("other", True, "policy")


def test_without_a_key_it_is_an_auth_error_that_says_what_to_set(
    gemini: RealCLI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It refuses ``session/new`` with ACP's auth-required code."""
    monkeypatch.delenv("GEMINI_API_KEY")
    result = run(gemini)
    assert result.error is not None and result.error.kind is ErrorKind.AUTH, result.error
    assert "Gemini API key is missing" in result.error.message
    assert "set GEMINI_API_KEY or GOOGLE_API_KEY" in result.error.message
    assert gemini.api.turns() == []


def test_the_tokens_reach_the_usage(gemini: RealCLI) -> None:
    gemini.api.script(say(Call("read_file", {"file_path": "calc.py"})), FINDINGS)
    result = run(gemini)
    assert result.ok, result.error
    usage = result.usage
    # both model turns of the prompt, from _meta.quota (its router's side request is not
    # counted there); gemini reports no cost
    assert (usage.input_tokens, usage.output_tokens) == (200, 40)
    assert usage.cost_usd is None


def test_an_agentic_step_proposes_geminis_write_and_leaves_the_file_alone(
    gemini: RealCLI,
) -> None:
    """gemini --acp writes through ``fs/write_text_file`` (it reads through
    ``fs/read_text_file`` too) once the policy allowed the ``edit`` it asked about; in an
    agentic step agentls writes that to the sandbox, whose diff is the proposal."""
    log = tap(gemini)
    gemini.api.script(WRITE_SWAPPED, "I swapped the operands.")
    result = run_agentic(gemini)
    assert result.status == "ok", result.summary
    [edit] = result.edits
    assert (edit.path, edit.new_text) == ("calc.py", "    return b + a\n")
    assert (gemini.workspace / "calc.py").read_text() == SAMPLE
    step = result.steps[0].result
    assert step is not None
    [decision] = step.permissions
    assert (decision.kind, decision.allowed, decision.by) == ("edit", True, "policy")
    said = wire(log)
    [session] = requests(said, "client", "session/new")
    assert session["cwd"] != str(gemini.workspace)  # the sandbox
    [write] = requests(said, "agent", "fs/write_text_file")
    assert (write["path"], write["content"]) == (f"{session['cwd']}/calc.py", SWAPPED)
    assert requests(said, "agent", "fs/read_text_file")


def test_an_allowed_write_in_a_text_step_becomes_the_steps_edits(gemini: RealCLI) -> None:
    """The step runs read-only; gemini's write reaches agentls, not the disk."""
    gemini.configure(agents={"gemini-acp": {"permissions": {"edit": "allow"}}})
    gemini.api.script(WRITE_SWAPPED, "I swapped the operands.")
    result = run(gemini, TaskKind.IMPLEMENT)
    assert result.ok, result.error
    assert result.written == {"calc.py": SWAPPED}
    assert [(e.path, e.new_text) for e in result.edits] == [("calc.py", "    return b + a\n")]
    assert (gemini.workspace / "calc.py").read_text() == SAMPLE
    assert "Successfully overwrote" in str(tool_result(gemini))


def test_a_shell_command_nobody_can_allow_is_denied_and_never_runs(gemini: RealCLI) -> None:
    marker = outbox(gemini) / "ran"  # a place the contained agent could write
    shell = say(Call("run_shell_command", {"command": f"touch {marker}"}))
    gemini.api.script(shell, FINDINGS)
    result = run(gemini)
    assert result.ok, result.error
    [decision] = result.permissions
    assert (decision.kind, decision.allowed, decision.by) == ("execute", False, "nobody")
    assert decision.title == f"touch {marker}"
    assert "canceled by the user" in tool_result(gemini)["error"]
    assert not marker.exists()

    async def yes(question: PermissionQuestion) -> bool:
        return True

    gemini.api.script(shell, FINDINGS)
    allowed = run(gemini, ask=yes)
    assert [(d.allowed, d.by) for d in allowed.permissions] == [(True, "user")]
    assert marker.exists()  # so the denial is what kept it from running


def test_a_cancel_sends_session_cancel_and_leaves_no_process(gemini: RealCLI) -> None:
    log = tap(gemini)
    gemini.configure(settings={"kill_grace_s": 20})  # how long the agent may take to stop
    gemini.api.script(say(FINDINGS, delay_s=120))
    cancel_while_the_model_answers(gemini)
    assert running_with_home(gemini.home) == []
    said = wire(log)
    [prompt_id] = [m["id"] for who, m in said if m.get("method") == "session/prompt"]
    order = [
        "cancel" if m.get("method") == "session/cancel" else m["result"]["stopReason"]
        for who, m in said
        if m.get("method") == "session/cancel" or (who == "agent" and m.get("id") == prompt_id)
    ]
    assert order == ["cancel", "cancelled"]  # asked first, and the agent ended its turn
