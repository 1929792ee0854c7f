"""Claude Code 2.1.2xx, headless: ``claude -p`` with text, json or stream-json output."""

from __future__ import annotations

import argparse
import sys
import uuid
from pathlib import Path
from typing import Any, NoReturn

from fakelib import Call, Edit, emit, node_crash, read_stdin, reported_version, run, usage_error

VERSION = "2.1.258 (Claude Code)"
WRITE_MODES = {"acceptEdits", "bypassPermissions"}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        option = message.split(": ")[-1].split()[0] if "unrecognized" in message else message
        usage_error(f"error: unknown option '{option}'", 1)


class Claude:
    name = "claude"
    credential_env = ("ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN")

    def __init__(self, output: str, verbose: bool) -> None:
        self.output = output
        self.verbose = verbose
        self.messages: list[dict[str, Any]] = []

    def _send(self, message: dict[str, Any]) -> None:
        self.messages.append(message)
        if self.output == "stream-json":
            emit(message)

    def start(self, call: Call, session: str) -> None:
        self._send(
            {
                "type": "system",
                "subtype": "init",
                "cwd": str(call.cwd),
                "session_id": session,
                "tools": ["Task", "Bash", "Edit", "Glob", "Grep", "Read", "Write"],
                "model": call.options.get("model") or "claude-sonnet-4-6",
                "permissionMode": call.options["permission_mode"],
                "apiKeySource": "ANTHROPIC_API_KEY",
                "claude_code_version": VERSION.split()[0],
                "uuid": str(uuid.uuid4()),
            }
        )

    def filler(self, session: str) -> str:
        import json

        return (
            json.dumps(
                {
                    "type": "assistant",
                    "message": {
                        "role": "assistant",
                        "content": [{"type": "text", "text": "." * 200}],
                    },
                    "session_id": session,
                }
            )
            + "\n"
        )

    def _assistant(self, session: str, content: list[dict[str, Any]]) -> None:
        self._send(
            {
                "type": "assistant",
                "message": {
                    "model": "claude-sonnet-4-6",
                    "id": f"msg_{uuid.uuid4().hex[:20]}",
                    "type": "message",
                    "role": "assistant",
                    "content": content,
                    "stop_reason": None,
                    "usage": {"input_tokens": 10, "output_tokens": 3},
                },
                "parent_tool_use_id": None,
                "session_id": session,
                "uuid": str(uuid.uuid4()),
            }
        )

    def edits(self, call: Call, session: str, edits: list[Edit]) -> None:
        self.denials = []
        for edit in edits:
            tool_id = f"toolu_{uuid.uuid4().hex[:20]}"
            name = "Edit" if edit.kind == "update" else "Write"
            payload = {"file_path": str(edit.path), "content": edit.content}
            self._assistant(
                session, [{"type": "tool_use", "id": tool_id, "name": name, "input": payload}]
            )
            result = "File written" if edit.applied else edit.reason
            self._send(
                {
                    "type": "user",
                    "message": {
                        "role": "user",
                        "content": [
                            {
                                "tool_use_id": tool_id,
                                "type": "tool_result",
                                "content": result,
                                "is_error": not edit.applied,
                            }
                        ],
                    },
                    "session_id": session,
                }
            )
            if not edit.applied:
                self.denials.append(
                    {"tool_name": name, "tool_use_id": tool_id, "tool_input": payload}
                )

    def _result(self, session: str, **fields: Any) -> dict[str, Any]:
        result = {
            "type": "result",
            "subtype": "success",
            "is_error": False,
            "duration_ms": 5409,
            "duration_api_ms": 6276,
            "num_turns": 2,
            "session_id": session,
            "total_cost_usd": 0.0123,
            "usage": {
                "input_tokens": 1200,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 6000,
                "output_tokens": 340,
            },
            "permission_denials": getattr(self, "denials", []),
            "terminal_reason": "completed",
            "api_error_status": None,
            "uuid": str(uuid.uuid4()),
        }
        result.update(fields)
        return result

    def _finish(self, result: dict[str, Any], code: int) -> int:
        import json

        if self.output == "stream-json":
            emit(result)
        elif self.output == "json":
            if self.verbose:
                print(json.dumps([*self.messages, result]), flush=True)
            else:
                emit(result)
        else:
            text = result.get("result") or "; ".join(result.get("errors") or [])
            print(text, flush=True)
        return code

    def succeed(self, call: Call, session: str, reply: str, edits: list[Edit]) -> int:
        self._assistant(session, [{"type": "text", "text": reply}])
        result = self._result(session, result=reply)
        usage = call.options.get("usage") or {}
        if "cost" in usage:
            result["total_cost_usd"] = usage["cost"]
        if "input" in usage:
            result["usage"] = {"input_tokens": int(usage["input"]),
                               "output_tokens": int(usage["output"])}  # fmt: skip
        return self._finish(result, 0)

    def fail(self, call: Call, session: str, kind: str) -> int:
        if kind == "auth":
            self.start(call, session)
            fields: dict[str, Any] = {
                "is_error": True,
                "result": "Not logged in · Please run /login",
                "api_error_status": 401,
                "total_cost_usd": 0,
                "num_turns": 1,
            }
        elif kind == "rate_limit":
            fields = {
                "is_error": True,
                "result": "You've hit your limit · resets 1pm",
                "api_error_status": 429,
            }
        elif kind == "server_error":
            fields = {
                "is_error": True,
                "result": "API Error: 529 Overloaded",
                "api_error_status": 529,
            }
        else:
            fields = {
                "subtype": "error_max_turns",
                "is_error": True,
                "errors": ["Reached maximum number of turns (5)"],
                "terminal_reason": "max_turns",
            }
            fields.pop("result", None)
        return self._finish(self._result(session, **fields), 1)

    def crash(self) -> NoReturn:
        node_crash()


def main(argv: list[str]) -> NoReturn:
    if "--version" in argv or "-v" in argv:
        print(reported_version(VERSION))
        sys.exit(0)
    parser = _Parser(prog="claude", add_help=False)
    parser.add_argument("prompt", nargs="?")
    parser.add_argument("-p", "--print", action="store_true")
    parser.add_argument("--output-format", choices=["text", "json", "stream-json"], default="text")
    parser.add_argument("--input-format", choices=["text", "stream-json"], default="text")
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--model")
    parser.add_argument("--fallback-model")
    parser.add_argument(
        "--permission-mode",
        choices=["default", "acceptEdits", "plan", "bypassPermissions", "dontAsk", "auto"],
        default="default",
    )
    for option in (
        "--allowedTools",
        "--disallowedTools",
        "--tools",
        "--append-system-prompt",
        "--system-prompt",
        "--json-schema",
        "--session-id",
        "--max-budget-usd",
    ):
        parser.add_argument(option)
    parser.add_argument("--max-turns", type=int)
    parser.add_argument("--add-dir", action="append", default=[])
    parser.add_argument("-r", "--resume")
    parser.add_argument("-c", "--continue", dest="cont", action="store_true")
    parser.add_argument("--dangerously-skip-permissions", action="store_true")
    args = parser.parse_args(argv)
    if args.output_format == "stream-json" and args.print and not args.verbose:
        usage_error("Error: When using --print, --output-format=stream-json requires --verbose", 1)
    stdin = read_stdin()
    prompt = "\n\n".join(part for part in (stdin, args.prompt) if part)
    if not prompt:
        usage_error(
            "Error: Input must be provided either through stdin or as a prompt argument "
            "when using --print",
            1,
        )
    write = args.permission_mode in WRITE_MODES or args.dangerously_skip_permissions
    call = Call(
        tool="claude",
        prompt=prompt,
        stdin=stdin,
        cwd=Path.cwd(),
        write=write,
        session_id=args.resume or args.session_id,
        options={"model": args.model, "permission_mode": args.permission_mode},
    )
    run(Claude(args.output_format, args.verbose), call, argv)
