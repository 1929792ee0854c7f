"""agentls's MCP server for ACP agents that review: one tool, ``report_finding``, so findings
arrive structured instead of being read from prose.

The agent starts it (``session/new``'s ``mcpServers``) as ``python -I findings_mcp.py FILE``;
each finding it accepts is one JSON line appended to FILE, which agentls reads when the turn
ends and checks as it checks any agent output (``orchestration.replies``). Standard library
only: it runs inside the agent's sandbox with nothing of agentls imported. MCP over stdio:
newline-delimited JSON-RPC 2.0 (``initialize``, ``tools/list``, ``tools/call``, ``ping``).
"""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

TOOL = "report_finding"
SEVERITIES = ("error", "warning", "info", "hint")
PROTOCOL_VERSION = "2025-06-18"
_MAX_FINDINGS = 1000

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "path": {"type": "string", "description": "The file, relative to the workspace."},
        "line": {"type": "integer", "minimum": 1, "description": "First line (1-based)."},
        "end_line": {"type": "integer", "minimum": 1, "description": "Last line, inclusive."},
        "severity": {"type": "string", "enum": list(SEVERITIES)},
        "code": {"type": "string", "description": "A short rule id, e.g. null-check."},
        "message": {"type": "string", "description": "What is wrong, in one sentence."},
        "suggestion": {
            "type": "string",
            "description": "Replacement text for lines line..end_line, when you have a fix.",
        },
    },
    "required": ["path", "line", "severity", "message"],
    "additionalProperties": False,
}


def problem(arguments: Any) -> str | None:
    """What is wrong with a call's arguments, for the agent to correct; None when fine."""
    if not isinstance(arguments, dict):
        return "arguments must be an object"
    unknown = sorted(set(arguments) - set(SCHEMA["properties"]))
    if unknown:
        return f"unknown fields: {', '.join(unknown)}"
    for name in SCHEMA["required"]:
        if name not in arguments:
            return f"{name} is required"
    for name in ("path", "message", "code", "suggestion", "severity"):
        if name in arguments and not isinstance(arguments[name], str):
            return f"{name} must be a string"
    for name in ("line", "end_line"):
        value = arguments.get(name, 1)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            return f"{name} must be a whole number from 1"
    if arguments.get("end_line", arguments["line"]) < arguments["line"]:
        return "end_line comes before line"
    if arguments["severity"] not in SEVERITIES:
        return f"severity must be one of {', '.join(SEVERITIES)}"
    if not arguments["message"].strip():
        return "message is empty"
    return None


class Server:
    def __init__(self, findings: TextIO) -> None:
        self.findings = findings
        self.count = 0

    def answer(self, message: dict[str, Any]) -> dict[str, Any] | None:
        """The response to one message (None for a notification)."""
        method = message.get("method")
        if "id" not in message:
            return None
        try:
            result = self._result(method, message.get("params") or {})
        except LookupError:
            error = {"code": -32601, "message": f"method not found: {method}"}
            return {"jsonrpc": "2.0", "id": message["id"], "error": error}
        return {"jsonrpc": "2.0", "id": message["id"], "result": result}

    def _result(self, method: Any, params: dict[str, Any]) -> dict[str, Any]:
        if method == "initialize":
            return {
                "protocolVersion": params.get("protocolVersion") or PROTOCOL_VERSION,
                "capabilities": {"tools": {"listChanged": False}},
                "serverInfo": {"name": "agentls", "version": "1"},
            }
        if method == "ping":
            return {}
        if method == "tools/list":
            description = (
                "Report one code review finding to agentls (call it once per finding; "
                "agentls shows each in the editor, with the suggestion as a quick fix)."
            )
            return {"tools": [{"name": TOOL, "description": description, "inputSchema": SCHEMA}]}
        if method == "tools/call":
            return self._call(params)
        raise LookupError(method)

    def _call(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("name") != TOOL:
            return _text(f"unknown tool {params.get('name')!r}; the tool is {TOOL}", error=True)
        arguments = params.get("arguments")
        wrong = problem(arguments)
        if wrong is not None:
            return _text(f"not recorded: {wrong}", error=True)
        if self.count >= _MAX_FINDINGS:
            return _text(f"not recorded: at most {_MAX_FINDINGS} findings", error=True)
        self.findings.write(json.dumps(arguments, ensure_ascii=False) + "\n")
        self.findings.flush()
        self.count += 1
        return _text(f"recorded finding {self.count}")


def _text(text: str, error: bool = False) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": text}], "isError": error}


def serve(requests: TextIO, responses: TextIO, findings: TextIO) -> None:
    server = Server(findings)
    for line in requests:
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if not isinstance(message, dict):
            continue
        answer = server.answer(message)
        if answer is not None:
            responses.write(json.dumps(answer) + "\n")
            responses.flush()


def main() -> None:
    with open(sys.argv[1], "a", encoding="utf-8") as findings:
        serve(sys.stdin, sys.stdout, findings)


if __name__ == "__main__":
    main()
