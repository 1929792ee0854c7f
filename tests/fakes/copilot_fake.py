"""GitHub Copilot CLI 1.0.80, headless: ``copilot -p PROMPT [--output-format json] [-s]``."""

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
    reported_version,
    run,
    split_reply,
    usage_error,
)

VERSION = "1.0.80"
ERRORS = {
    "auth": (
        "authentication",
        "No authentication information found. Set COPILOT_GITHUB_TOKEN, "
        "GH_TOKEN or GITHUB_TOKEN, or run `copilot login`.",
    ),
    "rate_limit": ("rate_limit", "Request failed: 429 Too Many Requests (rate limit exceeded)"),
    "server_error": ("server", "Request failed: 503 Service Unavailable"),
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        option = message.split(": ")[-1].split()[0] if "unrecognized" in message else message
        usage_error(f"error: unknown option '{option}'", 1)


class Copilot:
    name = "copilot"
    credential_env = ("COPILOT_GITHUB_TOKEN", "GH_TOKEN", "GITHUB_TOKEN")

    def __init__(self, as_json: bool, silent: bool) -> None:
        self.as_json = as_json
        self.silent = silent
        self.parent: str | None = None
        self.modified: list[str] = []

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
        self._event(
            "session.start",
            {
                "sessionId": session,
                "version": 1,
                "producer": "copilot-agent",
                "copilotVersion": VERSION,
                "context": {"cwd": str(call.cwd)},
            },
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
            if edit.applied:
                done["result"] = {"content": f"Edited {edit.path}"}
                self.modified.append(str(edit.path))
            else:
                done["error"] = {
                    "message": "Permission denied and could not request permission from user"
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
                "model": "claude-sonnet-4.6",
                "content": reply,
                "toolRequests": [],
                "turnId": "1",
                "outputTokens": 42,
            },
        )
        self._event(
            "session.usage_checkpoint", {"totalNanoAiu": 1842705000, "totalPremiumRequests": 1}
        )
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
        if kind not in ERRORS:
            return -1
        if kind == "auth":
            self.start(call, session)
        error_type, message = ERRORS[kind]
        self._event("session.error", {"errorType": error_type, "message": message})
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
    parser.add_argument("--add-dir", action="append", default=[])
    parser.add_argument("-r", "--resume", nargs="?", const="latest")
    args = parser.parse_args(argv)
    if args.resume and getattr(args, "continue"):
        usage_error("error: --continue cannot be used with --resume", 1)
    if args.prompt is None:
        usage_error("error: this fake only knows prompt mode (-p)", 1)
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
        prompt=args.prompt,
        stdin=None,
        cwd=cwd,
        write=write,
        session_id=session,
        options={"model": args.model},
    )
    run(Copilot(args.output_format == "json", args.silent), call, argv)
