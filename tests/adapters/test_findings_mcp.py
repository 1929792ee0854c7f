"""agentls's MCP server for ACP reviewers, spoken to over stdio as an agent would: the
handshake, the tool's schema, calls recorded one JSON line each, bad calls refused with the
reason (so the model can correct them), garbage ignored."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from agentls.adapters import findings_mcp
from agentls.adapters.findings_mcp import problem


def talk(messages: list[Any], out: Path) -> list[dict[str, Any]]:
    lines = "".join((m if isinstance(m, str) else json.dumps(m)) + "\n" for m in messages)
    done = subprocess.run(
        [sys.executable, "-I", findings_mcp.__file__, str(out)],
        input=lines,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_a_session_records_good_findings_and_refuses_bad_ones(tmp_path: Path) -> None:
    out = tmp_path / "findings.jsonl"
    good = {"path": "a.py", "line": 3, "severity": "warning", "message": "unused"}
    answers = talk(
        [
            {"jsonrpc": "2.0", "id": 1, "method": "initialize",
             "params": {"protocolVersion": "2025-03-26", "capabilities": {}}},
            {"jsonrpc": "2.0", "method": "notifications/initialized"},
            "not json at all",
            {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
            {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
             "params": {"name": "report_finding", "arguments": good}},
            {"jsonrpc": "2.0", "id": 4, "method": "tools/call",
             "params": {"name": "report_finding", "arguments": {**good, "severity": "fatal"}}},
            {"jsonrpc": "2.0", "id": 5, "method": "tools/call",
             "params": {"name": "rm_rf", "arguments": {}}},
            {"jsonrpc": "2.0", "id": 6, "method": "resources/list"},
            {"jsonrpc": "2.0", "id": 7, "method": "ping"},
        ],
        out,
    )  # fmt: skip
    init, tools, recorded, refused, unknown, missing, pong = answers
    assert init["result"]["protocolVersion"] == "2025-03-26"
    assert init["result"]["capabilities"] == {"tools": {"listChanged": False}}
    [tool] = tools["result"]["tools"]
    assert tool["name"] == "report_finding" and "path" in tool["inputSchema"]["required"]
    assert recorded["result"] == {"content": [{"type": "text", "text": "recorded finding 1"}],
                                  "isError": False}  # fmt: skip
    assert refused["result"]["isError"] and "severity must be one of" in str(refused)
    assert unknown["result"]["isError"]
    assert missing["error"]["code"] == -32601 and pong["result"] == {}
    assert [json.loads(line) for line in out.read_text().splitlines()] == [good]


FIELDS = ["path", "line", "end_line", "severity", "message", "code", "suggestion", "extra"]
VALUES = st.one_of(st.none(), st.booleans(), st.integers(-3, 5), st.text(max_size=8))


@given(st.dictionaries(st.sampled_from(FIELDS), VALUES))
def test_any_arguments_are_judged_without_raising(arguments: dict[str, Any]) -> None:
    verdict = problem(arguments)
    assert verdict is None or isinstance(verdict, str)
