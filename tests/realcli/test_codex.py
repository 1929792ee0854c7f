"""Codex CLI, the real CLI, driven by agentls against the mock Responses API.

Each codex process makes one request (its own provider retries are 0), so every retry seen
here is agentls's. The model is one codex knows (``MODEL``): it then offers the tools it offers
for real models (``apply_patch`` among them); for a name it does not know it warns ("Model
metadata ... not found") and offers fewer.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.realcli.conftest import RealCLI, real_cli
from tests.realcli.mock import Call, Failure, MockModelAPI, Recorded, Reply, say

MODEL = "gpt-5.5"
FINDINGS = (
    '```json\n{"findings": [{"line": 6, "severity": "warning", "message": "empty list"}]}\n```'
)
IMPLEMENTED = (
    "Here it is:\n```python\n"
    "def mean(values):\n    return sum(values) / len(values) if values else 0.0\n```\n"
)
SHELL = "exec_command"
"""Codex 0.171's shell tool (``{"cmd": ...}``), offered in read-only mode as well."""


@pytest.fixture
def codex(api: MockModelAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RealCLI:
    cli = real_cli("codex", api, tmp_path, monkeypatch)
    # Codex makes no helper aliases (so no codex-linux-sandbox: its sandboxed commands then
    # fail to start) when CODEX_HOME lies in the temp folder; a user's ~/.codex does not.
    (tmp_path / "tmp").mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    cli.configure(agents={"codex": {"command": [str(cli.binary)], "model": MODEL, "retries": 1}})
    return cli


def one_step(cli: RealCLI, task: str) -> None:
    """A workflow ``solo`` of one codex step doing ``task``."""
    cli.configure(workflows={"solo": {"steps": [{"agent": "codex", "task": task}]}})


def agentls_json(cli: RealCLI, *args: str) -> dict[str, Any]:
    done = cli.agentls(*args, "--json")
    assert done.stdout, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def exec_json(cli: RealCLI, *args: str) -> dict[str, Any]:
    """``agentls exec codex ARGS --json``."""
    return agentls_json(cli, "exec", "codex", *args)


def tool_names(turn: Recorded) -> set[str]:
    return {str(tool.get("name") or tool.get("type")) for tool in turn.body.get("tools") or []}


def sent_text(turn: Recorded) -> str:
    """Every text of the request's input (the instructions, the prompt, earlier turns)."""
    return json.dumps(turn.body.get("input"))


def answers(turn: Recorded) -> list[str]:
    """The model's earlier answers that the request carries (assistant messages)."""
    return [
        str(part.get("text"))
        for item in turn.body.get("input") or []
        if item.get("role") == "assistant"
        for part in item.get("content") or []
    ]


def tool_output(turn: Recorded) -> str:
    """What codex told the model its tool call gave (the output items of the request)."""
    outputs = [
        str(item.get("output"))
        for item in turn.body.get("input") or []
        if str(item.get("type", "")).endswith("call_output")
    ]
    return "\n".join(outputs)


def audited(cli: RealCLI, event: str) -> list[dict[str, Any]]:
    log = Path(os.environ["XDG_STATE_HOME"]) / "agentls" / "audit" / "audit.log"
    records = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    return [r for r in records if r.get("event") == event]


def test_a_review_reads_findings_session_and_usage(codex: RealCLI) -> None:
    codex.api.script(FINDINGS)
    result = exec_json(codex, "calc.py", "--task", "review")
    assert result["status"] == "ok", result
    assert [(f["line"], f["message"]) for f in result["findings"]] == [(6, "empty list")]
    [turn] = codex.api.turns()
    assert result["session_id"] == turn.body["client_metadata"]["thread_id"]
    assert (result["usage"]["input_tokens"], result["usage"]["output_tokens"]) == (100, 20)
    assert turn.body["model"] == MODEL
    assert "return sum(values) / len(values)" in sent_text(turn)  # the prompt, with the file


def test_a_read_only_review_is_sandboxed_not_tool_restricted(codex: RealCLI) -> None:
    """Codex 0.171 offers its shell and ``apply_patch`` in read-only mode as in
    workspace-write: read-only is what it tells the model and what its sandbox enforces."""
    codex.api.script(FINDINGS)
    assert exec_json(codex, "calc.py", "--task", "review")["status"] == "ok"
    [turn] = codex.api.turns()
    assert {SHELL, "apply_patch"} <= tool_names(turn)
    assert "`sandbox_mode` is `read-only`" in sent_text(turn)
    metadata = json.loads(turn.headers["x-codex-turn-metadata"])
    assert metadata["sandbox_mode"] == "read-only"


def test_a_write_in_a_read_only_review_is_refused_by_codex(codex: RealCLI) -> None:
    """agentls does not contain a text step: read-only is codex's own sandbox, which here
    runs (bubblewrap, through its codex-linux-sandbox helper) and refuses both writes."""
    patch = "*** Begin Patch\n*** Add File: patched.txt\n+x\n*** End Patch\n"
    codex.api.script(
        say(Call(SHELL, {"cmd": "echo owned > owned.txt"})),
        say(Call("apply_patch", {"input": patch})),
        FINDINGS,
    )
    result = exec_json(codex, "calc.py", "--task", "review")
    assert result["status"] == "ok", result
    assert sorted(p.name for p in codex.workspace.iterdir()) == [".agentls.yaml", "calc.py"]
    _, after_shell, after_patch = codex.api.turns()
    assert "owned.txt: Read-only file system" in tool_output(after_shell)
    assert "blocked by read-only sandbox" in tool_output(after_patch)


def test_an_implement_in_text_mode_proposes_the_code_block(codex: RealCLI) -> None:
    codex.api.script(IMPLEMENTED)
    result = exec_json(codex, "calc.py:5-6", "--task", "implement")
    assert result["status"] == "ok", result
    [edit] = result["edits"]
    assert (edit["path"], edit["range"]) == ("calc.py", {"start": 5, "end": 6})
    assert "if values else 0.0" in edit["new_text"]
    assert "if values" not in (codex.workspace / "calc.py").read_text()  # proposed only
    [turn] = codex.api.turns()
    assert "`sandbox_mode` is `read-only`" in sent_text(turn)


def test_a_workflow_step_runs_codex(codex: RealCLI) -> None:
    one_step(codex, "review")
    codex.api.script(FINDINGS)
    result = agentls_json(codex, "run", "solo", "calc.py")
    assert result["status"] == "ok", result
    [step] = result["steps"]
    assert (step["agent"], step["status"]) == ("codex", "ok")
    assert [f["message"] for f in result["findings"]] == ["empty list"]
    assert result["usage"]["input_tokens"] == 100


def test_a_bad_key_is_an_auth_error_at_once(codex: RealCLI) -> None:
    codex.api.always(Failure(401, "Incorrect API key provided", retry=False))
    result = exec_json(codex, "calc.py", "--task", "review")
    assert result["status"] == "failed"
    assert result["error"]["kind"] == "auth", result["error"]
    assert "OPENAI_API_KEY" in result["error"]["message"]  # what to set
    assert len(codex.api.turns()) == 1  # never retried


def test_a_missing_key_is_an_auth_error(codex: RealCLI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    result = exec_json(codex, "calc.py", "--task", "review")
    assert result["error"]["kind"] == "auth", result["error"]
    assert codex.api.turns() == []


def test_a_persistent_rate_limit_is_rate_limit(codex: RealCLI) -> None:
    codex.api.always(Failure(429))
    result = exec_json(codex, "calc.py", "--task", "review")
    assert result["status"] == "failed"
    assert result["error"]["kind"] == "rate_limit", result["error"]
    assert "after 2 attempts" in result["error"]["message"]
    assert len(codex.api.turns()) == 2  # agentls tried again once (retries: 1)


SERVER_FAILURES = [
    Failure(500),
    say("Looking", stream_error="The server had an error processing your request."),
    say("Looking", cut=True),
]
SERVER_FAILURE_IDS = ["http-500", "response-failed", "stream-cut"]


@pytest.mark.parametrize("failure", SERVER_FAILURES, ids=SERVER_FAILURE_IDS)
def test_a_server_failure_is_retried_by_agentls(codex: RealCLI, failure: Reply) -> None:
    codex.api.script(failure, FINDINGS)
    result = exec_json(codex, "calc.py", "--task", "review")
    assert (result["status"], result["attempts"]) == ("ok", 2), result
    assert [f["message"] for f in result["findings"]] == ["empty list"]
    assert len(codex.api.turns()) == 2  # two codex processes, one request each
    [finished] = audited(codex, "agent_finished")
    assert (finished["status"], finished["error"], finished["findings"]) == ("ok", None, 1)


@pytest.mark.parametrize("failure", SERVER_FAILURES, ids=SERVER_FAILURE_IDS)
def test_a_server_failure_that_persists_is_transient(codex: RealCLI, failure: Reply) -> None:
    codex.api.always(failure)
    result = exec_json(codex, "calc.py", "--task", "review")
    assert result["status"] == "failed"
    assert result["error"]["kind"] == "transient", result["error"]
    assert "after 2 attempts" in result["error"]["message"]
    assert len(codex.api.turns()) == 2


def test_a_follow_up_resumes_the_thread_and_counts_only_its_own_tokens(codex: RealCLI) -> None:
    one_step(codex, "review")
    codex.api.script(
        say(FINDINGS, input_tokens=100, output_tokens=20),
        say(FINDINGS, input_tokens=300, output_tokens=7),
    )
    first = agentls_json(codex, "run", "solo", "calc.py")
    assert first["status"] == "ok", first
    assert first["usage"]["input_tokens"] == 100
    second = agentls_json(codex, "followup", first["run_id"], "Look again at line 6")
    assert second["status"] == "ok", second
    one, two = codex.api.turns()
    thread = one.body["client_metadata"]["thread_id"]
    assert two.body["client_metadata"]["thread_id"] == thread  # the same thread, resumed
    earlier = one.body["input"]
    assert two.body["input"][: len(earlier)] == earlier  # the first turn comes along...
    assert answers(two) == [FINDINGS]  # ...with its answer
    assert "Look again at line 6" in sent_text(two)
    # codex says 400 in / 27 out (the thread's total); this turn used 300 / 7
    assert (second["usage"]["input_tokens"], second["usage"]["output_tokens"]) == (300, 7)


def test_an_agentic_implement_patches_its_sandbox(codex: RealCLI) -> None:
    step = {"agent": "codex", "task": "implement", "mode": "agentic"}
    codex.configure(workflows={"solo": {"steps": [step]}})
    patch = (
        "*** Begin Patch\n*** Update File: calc.py\n@@\n def mean(values):\n"
        "-    return sum(values) / len(values)\n"
        "+    return sum(values) / len(values) if values else 0.0\n*** End Patch\n"
    )
    codex.api.script(say("Guarding it.", Call("apply_patch", {"input": patch})), "Done.")
    result = agentls_json(codex, "run", "solo", "calc.py")
    assert result["status"] == "ok", result
    assert result["refused"] == []
    [edit] = result["edits"]
    assert edit["path"] == "calc.py"
    assert "+    return sum(values) / len(values) if values else 0.0" in edit["diff"]
    assert "if values" not in (codex.workspace / "calc.py").read_text()  # not applied
    first, after_patch = codex.api.turns()
    assert "`sandbox_mode` is `workspace-write`" in sent_text(first)
    assert "Success. Updated the following files" in tool_output(after_patch)
