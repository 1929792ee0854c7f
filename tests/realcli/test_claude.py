"""Claude Code, the real CLI, driven by agentls against the mock Messages API."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agentls.audit import AuditLog
from agentls.domain.locations import state_dir
from tests.conftest import SAMPLE
from tests.realcli.conftest import RealCLI, real_cli
from tests.realcli.mock import Call, Failure, MockModelAPI, Recorded, Reply, say
from tests.realcli.mock.core import Answer
from tests.server.rawlsp import RawServer

FINDINGS = (
    '```json\n{"findings": [{"line": 6, "severity": "warning", "message": "empty list"}]}\n```'
)
WRITE_TOOLS = {"Edit", "MultiEdit", "Write", "NotebookEdit", "Bash"}


@pytest.fixture
def claude(api: MockModelAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RealCLI:
    return real_cli("claude", api, tmp_path, monkeypatch)


def tools(request_body: dict[str, object]) -> set[str]:
    return {str(tool["name"]) for tool in request_body.get("tools") or []}  # type: ignore[attr-defined, index]


def test_a_review_reads_findings_session_and_usage(claude: RealCLI) -> None:
    claude.api.script(FINDINGS)
    result = claude.exec_json("calc.py", "--task", "review")
    assert result["status"] == "ok", result
    assert [(f["line"], f["message"]) for f in result["findings"]] == [(6, "empty list")]  # type: ignore[index, union-attr]
    assert result["session_id"]
    assert result["usage"]["input_tokens"] == 100  # type: ignore[index]
    [turn] = claude.api.turns()
    assert not tools(turn.body) & WRITE_TOOLS  # a review is offered no tool that writes
    assert "calc.py" in str(turn.body["messages"])


def test_a_bad_key_is_an_auth_error_at_once(claude: RealCLI) -> None:
    claude.api.always(Failure(401, "invalid x-api-key", retry=False))
    result = claude.exec_json("calc.py", "--task", "review")
    assert result["status"] == "failed"
    assert result["error"]["kind"] == "auth", result["error"]  # type: ignore[index]


def where_claude_works(request: Recorded) -> str:
    """The folder Claude Code says it works in (its system prompt names it)."""
    found = re.search(r"Primary working directory: (\S+)", json.dumps(request.body))
    assert found, "no working directory in the request"
    return found[1].rstrip("\\n")


def edits_calc(old: str, new: str) -> list[Callable[[Recorded], Reply]]:
    """The model's turns: read calc.py, edit it, say so (Claude Code edits only what it read)."""

    def read(request: Recorded) -> Reply:
        return say(Call("Read", {"file_path": f"{where_claude_works(request)}/calc.py"}))

    def edit(request: Recorded) -> Reply:
        path = f"{where_claude_works(request)}/calc.py"
        return say(Call("Edit", {"file_path": path, "old_string": old, "new_string": new}))

    return [read, edit, lambda _: say("I swapped the operands.")]


def test_an_agentic_step_edits_in_its_sandbox_and_proposes_the_change(claude: RealCLI) -> None:
    claude.configure(
        workflows={
            "agentic": {
                "steps": [
                    {"id": "implement", "agent": "claude", "task": "implement", "mode": "agentic"},
                    {"agent": "claude", "task": "explain", "when": "implement.changed_files == 1"},
                ]
            }
        }
    )
    claude.api.script(*edits_calc("return a + b", "return b + a"), "It adds b and a.")
    done = claude.agentls("run", "agentic", "calc.py", "--json")
    result = json.loads(done.stdout)
    assert [s["status"] for s in result["steps"]] == ["ok", "ok"], (result, done.stderr)
    [edit] = result["edits"]
    assert edit["path"] == "calc.py" and "+    return b + a" in edit["diff"]
    assert (claude.workspace / "calc.py").read_text() == SAMPLE  # proposed, not applied
    first = claude.api.turns()[0]
    assert "Make the change yourself" in json.dumps(first.body)
    assert {"Edit", "Write"} <= tools(first.body)
    assert where_claude_works(first) != str(claude.workspace)  # a sandbox


def test_a_follow_up_resumes_the_session_and_sends_the_earlier_turns(claude: RealCLI) -> None:
    claude.configure(workflows={"check": {"steps": [{"agent": "claude", "task": "review"}]}})
    claude.api.script(FINDINGS, FINDINGS)
    first = json.loads(claude.agentls("run", "check", "calc.py", "--json").stdout)
    done = claude.agentls("followup", first["run_id"], "Is line 6 really a problem?", "--json")
    second = json.loads(done.stdout)
    assert second["status"] == "ok", (second, done.stderr)
    earlier, resumed = claude.api.turns()
    assert len(resumed.body["messages"]) > len(earlier.body["messages"])  # type: ignore[arg-type]
    assert "Is line 6 really a problem?" in json.dumps(resumed.body["messages"][-1])  # type: ignore[index]


def test_a_session_claude_lost_starts_afresh_and_says_so(claude: RealCLI) -> None:
    claude.configure(workflows={"check": {"steps": [{"agent": "claude", "task": "review"}]}})
    claude.api.script(FINDINGS, FINDINGS)
    first = json.loads(claude.agentls("run", "check", "calc.py", "--json").stdout)
    for session in (claude.home / ".claude" / "projects").rglob("*.jsonl"):
        session.unlink()  # the CLI's own clean-up, or another machine's history
    done = claude.agentls("followup", first["run_id"], "Once more, please.", "--json")
    second = json.loads(done.stdout)
    assert second["status"] == "ok", (second, done.stderr)
    assert "could not resume its session" in second["summary"]
    [fresh] = claude.api.turns()[1:]
    assert "Once more, please." in json.dumps(fresh.body["messages"])
    assert "This continues an earlier conversation" in json.dumps(fresh.body["messages"])
    log = AuditLog(state_dir() / "audit" / "audit.log")
    argvs = [
        json.loads(line)["argv"] for _, _, line in log.records() if '"agent_invocation"' in line
    ]
    assert ["--resume" in argv for argv in argvs] == [False, True, False]  # each one audited


def test_an_agentic_follow_up_resumes_in_the_steps_sandbox_and_writes_nothing(
    claude: RealCLI,
) -> None:
    step = {"id": "implement", "agent": "claude", "task": "implement", "mode": "agentic"}
    claude.configure(workflows={"agentic": {"steps": [step]}})
    claude.api.script(*edits_calc("return a + b", "return b + a"))
    first = json.loads(claude.agentls("run", "agentic", "calc.py", "--json").stdout)
    claude.api.script(*edits_calc("return b + a", "return (b + a)"))
    done = claude.agentls("followup", first["run_id"], "Add parentheses.", "--json")
    second = json.loads(done.stdout)
    assert second["status"] == "ok", (second, done.stderr)
    assert "could not resume" not in second["summary"]
    [edit] = second["edits"]
    assert "+    return (b + a)" in edit["diff"]
    assert (claude.workspace / "calc.py").read_text() == SAMPLE  # nothing was applied
    turns = claude.api.turns()
    assert where_claude_works(turns[0]) == where_claude_works(turns[3])
    assert len(turns[3].body["messages"]) > len(turns[0].body["messages"])  # type: ignore[arg-type]


def test_a_persistent_429_is_retried_by_the_cli_within_the_agents_budget(claude: RealCLI) -> None:
    claude.configure(agents={"claude": {"retries": 1}})
    claude.api.always(Failure(429))
    result = claude.exec_json("calc.py", "--task", "review")
    assert result["error"]["kind"] == "rate_limit", result["error"]  # type: ignore[index]
    assert len(claude.api.turns()) == 2  # the CLI's attempt and its one retry; none on top


@pytest.mark.parametrize("failure", [Failure(500), Failure(503), say("half", cut=True)])
def test_a_server_error_once_is_retried_by_the_cli(claude: RealCLI, failure: Answer) -> None:
    claude.api.script(failure, FINDINGS)
    result = claude.exec_json("calc.py", "--task", "review")
    assert result["status"] == "ok", result
    assert len(result["findings"]) == 1  # type: ignore[arg-type]


def test_a_model_that_never_answers_is_a_timeout_and_leaves_nothing_running(
    claude: RealCLI,
) -> None:
    claude.configure(agents={"claude": {"timeout_s": 3}})
    claude.api.script(say(FINDINGS, delay_s=30))
    result = claude.exec_json("calc.py", "--task", "review")
    assert result["error"]["kind"] == "timeout", result["error"]  # type: ignore[index]
    assert "3 s" in result["error"]["message"]  # type: ignore[index]
    assert running_with_home(claude.home) == []


def running_with_home(home: Path) -> list[int]:
    """The processes whose HOME is ``home`` (this test's agents)."""
    found = []
    mark = f"HOME={home}".encode()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if mark in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
    return found


def test_a_refused_key_stops_the_cli_at_once_though_it_would_retry(claude: RealCLI) -> None:
    claude.configure(agents={"claude": {"retries": 10}})
    claude.api.always(Failure(401))  # without x-should-retry: false the CLI retries a 401
    result = claude.exec_json("calc.py", "--task", "review")
    assert result["error"]["kind"] == "auth", result["error"]  # type: ignore[index]
    assert "401" in result["error"]["message"]  # type: ignore[index]
    assert len(claude.api.turns()) <= 2


def test_a_429_still_failing_at_the_timeout_is_reported_as_the_rate_limit(
    claude: RealCLI,
) -> None:
    claude.configure(agents={"claude": {"retries": 10, "timeout_s": 4}})
    claude.api.always(Failure(429))
    result = claude.exec_json("calc.py", "--task", "review")
    error = result["error"]
    assert error["kind"] == "rate_limit", error  # type: ignore[index]
    assert "429" in error["message"] and "4 s ran out" in error["message"]  # type: ignore[index]


async def test_the_language_server_shows_claudes_findings_as_diagnostics(claude: RealCLI) -> None:
    claude.configure(workflows={"check": {"steps": [{"agent": "claude", "task": "review"}]}})
    claude.api.script(FINDINGS)
    server = await RawServer.start(claude.workspace)
    try:
        await server.initialize(claude.workspace)
        uri = server.open(claude.workspace / "calc.py")
        arguments = [{"uri": uri, "workflow": "check"}]
        await server.request(
            "workspace/executeCommand", {"command": "agentls.runWorkflow", "arguments": arguments}
        )
        diagnostics = await published(server, uri)
    finally:
        await server.close()
    [diagnostic] = diagnostics
    assert diagnostic["range"]["start"]["line"] == 5  # line 6, 0-based
    assert "empty list" in diagnostic["message"]
    [turn] = claude.api.turns()
    assert not tools(turn.body) & WRITE_TOOLS


async def published(server: RawServer, uri: str, within_s: float = 120) -> list[dict[str, Any]]:
    """The first non-empty diagnostics the server publishes for ``uri``."""
    for _ in range(int(within_s * 10)):
        for note in server.notifications:
            params = note.get("params") or {}
            if note["method"] != "textDocument/publishDiagnostics" or params.get("uri") != uri:
                continue
            if params["diagnostics"]:
                return list(params["diagnostics"])
        await asyncio.sleep(0.1)
    raise AssertionError(f"no diagnostics for {uri}: {server.notifications}")
