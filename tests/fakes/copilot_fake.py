"""GitHub Copilot CLI 1.0.102, headless: ``copilot -p PROMPT [--output-format json] [-s]``, or
the prompt piped on stdin without ``-p``.

As the real one prints it (tests/realcli): JSONL session events with no ``session.start`` (the
session id is only in the closing ``result``), no token counts, edits reported in
``tool.execution_complete``'s ``fileEdits``; a failed model call is a ``session.error`` with the
HTTP ``statusCode`` (after its own retries), while a missing login fails before any session:
an ``Error:`` line on stderr, advice after it, exit 1, nothing on stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from pathlib import Path
from typing import Any, NoReturn

from fakelib import (
    Call,
    Edit,
    emit,
    node_crash,
    now,
    read_stdin,
    reported_version,
    run,
    split_reply,
    usage_error,
)

VERSION = "1.0.102"
GAVE_UP = "Failed to get response from the AI model; retried 5 times (total retry wait time: "
ERRORS = {
    "rate_limit": (
        "rate_limit",
        429,
        f"{GAVE_UP}5.62 seconds) Last error: 429 rate limit exceeded",
    ),
    "server_error": ("query", 503, f"{GAVE_UP}14.14 seconds) Last error: 503 Service Unavailable"),
}
NO_LOGIN = """\
Error: No authentication information found.

Copilot can be authenticated with GitHub using an OAuth Token or a Fine-Grained Personal Access \
Token.

To authenticate, you can use any of the following methods:
  \u2022 Start 'copilot' and run the '/login' command
  \u2022 Set the COPILOT_GITHUB_TOKEN, GH_TOKEN, or GITHUB_TOKEN environment variable
  \u2022 Run 'gh auth login' to authenticate with the GitHub CLI
"""
BAD_COMMAND = """\
error: Invalid command format.

It looks like your prompt was not quoted, so the extra words were treated as separate arguments.
Wrap the prompt in quotes, for example: copilot -p "your prompt here"

Try 'copilot --help' for more information."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        usage_error(BAD_COMMAND, 1)


class Copilot:
    name = "copilot"
    credential_env = ("COPILOT_GITHUB_TOKEN", "GH_TOKEN", "GITHUB_TOKEN")

    def __init__(self, as_json: bool, silent: bool, available: set[str] | None) -> None:
        self.as_json = as_json
        self.silent = silent
        self.available = available
        """What ``--available-tools`` left the model (None: every tool)."""
        self.parent: str | None = None
        self.modified: list[str] = []
        self.model = "claude-sonnet-4.6"

    def _event(self, kind: str, data: dict[str, Any], ephemeral: bool = False) -> None:
        event_id = str(uuid.uuid4())
        event: dict[str, Any] = {
            "type": kind,
            "data": data,
            "id": event_id,
            "timestamp": now(),
            "parentId": self.parent,
        }
        if ephemeral:
            event["ephemeral"] = True
        self.parent = event_id
        if self.as_json:
            emit(event)

    def start(self, call: Call, session: str) -> None:
        self.model = call.options.get("model") or self.model
        self._event("session.mcp_servers_loaded", {"servers": []}, ephemeral=True)
        self._event("session.tools_updated", {"model": self.model}, ephemeral=True)
        self._event(
            "user.message",
            {"content": call.prompt, "messageId": str(uuid.uuid4()), "turnId": "0"},
        )
        self._event("assistant.turn_start", {"turnId": "0", "interactionId": str(uuid.uuid4())})

    def filler(self, session: str) -> str:
        delta = {
            "type": "assistant.message_delta",
            "data": {"messageId": "m", "deltaContent": "." * 200},
            "ephemeral": True,
            "id": "x",
            "timestamp": now(),
            "parentId": None,
        }
        return json.dumps(delta) + "\n"

    def edits(self, call: Call, session: str, edits: list[Edit]) -> None:
        for edit in edits:
            tool_id = f"toolu_{uuid.uuid4().hex[:20]}"
            tool = "edit" if edit.kind == "update" else "create"
            arguments = {"path": str(edit.path)}
            self._event(
                "tool.execution_start",
                {"toolCallId": tool_id, "toolName": tool, "arguments": arguments, "turnId": "0"},
            )
            done: dict[str, Any] = {"toolCallId": tool_id, "turnId": "0", "success": edit.applied}
            if self.available is not None and tool not in self.available:
                done["error"] = {"message": f"Tool '{tool}' does not exist.", "code": "failure"}
            elif edit.applied:
                done["fileEdits"] = [{"path": str(edit.path), "kind": tool}]
                done["result"] = {"content": f"File {edit.path} updated with changes."}
                self.modified.append(str(edit.path))
            else:
                done["error"] = {
                    "message": "Permission to run this tool was denied due to the following "
                    "rules: `write`",
                    "code": "denied",
                }
            self._event("tool.execution_complete", done)

    def succeed(self, call: Call, session: str, reply: str, edits: list[Edit]) -> int:
        message_id = str(uuid.uuid4())
        for piece in split_reply(reply):
            self._event(
                "assistant.message_delta",
                {"messageId": message_id, "deltaContent": piece},
                ephemeral=True,
            )
        self._event(
            "assistant.message",
            {
                "messageId": message_id,
                "model": self.model,
                "content": reply,
                "toolRequests": [],
                "turnId": "1",
                "rte": False,
                "apiCallId": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            },
        )
        self._event("assistant.turn_end", {"turnId": "1"})
        self._event("assistant.idle", {}, ephemeral=True)
        self._result(session, 0)
        if not self.as_json:
            print(reply, flush=True)
            if not self.silent:
                print(
                    "\nTotal usage est:       1 Premium request\n"
                    f"Resume this session with copilot --resume={session}",
                    flush=True,
                )
        return 0

    def _result(self, session: str, code: int) -> None:
        if self.as_json:
            emit(
                {
                    "type": "result",
                    "timestamp": now(),
                    "sessionId": session,
                    "exitCode": code,
                    "usage": {
                        "premiumRequests": 1 if code == 0 else 0,
                        "totalApiDurationMs": 5707,
                        "sessionDurationMs": 10013,
                        "codeChanges": {
                            "linesAdded": 0,
                            "linesRemoved": 0,
                            "filesModified": self.modified,
                        },
                    },
                }
            )

    def fail(self, call: Call, session: str, kind: str) -> int:
        if kind == "auth":  # before any session, in every output format
            sys.stderr.write(NO_LOGIN)
            return 1
        if kind not in ERRORS:
            return -1
        error_type, status, message = ERRORS[kind]
        self._event("assistant.turn_end", {"turnId": "0"})
        self._event(
            "session.error", {"errorType": error_type, "message": message, "statusCode": status}
        )
        self._event("assistant.idle", {}, ephemeral=True)
        self._result(session, 1)
        if not self.as_json:
            sys.stderr.write(f"Error: {message}\n")
        return 1

    def crash(self) -> NoReturn:
        node_crash()


def main(argv: list[str]) -> NoReturn:
    if "--version" in argv or "-v" in argv:
        print(reported_version(VERSION))
        sys.exit(0)
    parser = _Parser(prog="copilot", add_help=False)
    parser.add_argument("-p", "--prompt")
    parser.add_argument("--output-format", choices=["text", "json"], default="text")
    parser.add_argument("-s", "--silent", action="store_true")
    parser.add_argument("--no-ask-user", action="store_true")
    parser.add_argument("--no-auto-update", action="store_true")
    parser.add_argument("--no-color", action="store_true")
    parser.add_argument("--model")
    parser.add_argument("--allow-tool", action="append", default=[])
    parser.add_argument("--deny-tool", action="append", default=[])
    for flag in (
        "--allow-all-tools",
        "--allow-all",
        "--yolo",
        "--allow-all-paths",
        "--plan",
        "--continue",
    ):
        parser.add_argument(flag, action="store_true")
    for option in ("--available-tools", "--excluded-tools", "-C", "--session-id", "--mode"):
        parser.add_argument(option)
    parser.add_argument("--usage-output-file")
    parser.add_argument("--add-dir", action="append", default=[])
    parser.add_argument("-r", "--resume", nargs="?", const="latest")
    args = parser.parse_args(argv)
    if args.resume and getattr(args, "continue"):
        usage_error("error: --continue cannot be used with --resume", 1)
    stdin = None if args.prompt is not None else read_stdin()
    prompt = args.prompt if args.prompt is not None else stdin
    if prompt is None:  # with neither, the real one starts its interactive interface
        usage_error("error: this fake only knows prompt mode (-p or piped stdin)", 1)
    allowed = set(args.allow_tool)
    denied = set(args.deny_tool)
    write = (
        bool(args.allow_all_tools or args.allow_all or args.yolo or "write" in allowed)
        and "write" not in denied
        and not args.plan
    )
    session = args.session_id or (args.resume if args.resume not in (None, "latest") else None)
    cwd = Path(args.C).resolve() if args.C else Path.cwd()
    call = Call(
        tool="copilot",
        prompt=prompt,
        stdin=stdin,
        cwd=cwd,
        write=write,
        session_id=session,
        options={"model": args.model},
    )
    available = set(args.available_tools.split(",")) if args.available_tools else None
    run(Copilot(args.output_format == "json", args.silent, available), call, argv)
