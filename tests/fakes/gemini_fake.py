"""Gemini CLI 0.61, headless: ``gemini -p TEXT -o text|json|stream-json`` with stdin prepended.

What it prints is checked against the real 0.61 (tests/realcli/test_gemini.py): an API error in
stream-json ends in a ``result`` with ``status: error``, an ``error.type`` of ``unknown`` and the
message ``[API Error: …]``, and exits with the HTTP status modulo 256.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
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

VERSION = "0.61.0"
WRITE_MODES = {"auto_edit", "yolo"}
STATS = {
    "total_tokens": 1020,
    "input_tokens": 900,
    "output_tokens": 120,
    "cached": 0,
    "input": 900,
    "duration_ms": 3000,
    "tool_calls": 0,
}
MODEL_STATS = {key: STATS[key] for key in ("total_tokens", "input_tokens", "output_tokens")}
MODEL_STATS |= {"cached": 0, "input": STATS["input"]}
FAILURES = {
    "auth": (
        41,
        "FatalAuthenticationError",
        "Please set an Auth method in your settings.json or specify one of the following "
        "environment variables before running: GEMINI_API_KEY, GOOGLE_GENAI_USE_VERTEXAI, "
        "GOOGLE_GENAI_USE_GCA",
    ),
    "rate_limit": (  # a daily quota: gemini gives up at once (429 % 256)
        173,
        "unknown",
        "[API Error: You have exhausted your daily quota on this model.]\nPlease wait and try "
        "again later. To increase your limits, request a quota increase through AI Studio, or "
        "switch to another /auth method",
    ),
    "server_error": (  # after gemini's own retries (503 % 256)
        247,
        "unknown",
        '[API Error: {"error":{"code":503,"message":"The model is overloaded. Please try again '
        'later.","status":"UNAVAILABLE"}}]',
    ),
    "max_turns": (
        53,
        "FatalTurnLimitedError",
        "Reached max session turns for this session. Increase the number of turns "
        "by specifying maxSessionTurns in settings.json.",
    ),
}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        detail = message.split(": ", 1)[-1]
        usage_error(f"Usage: gemini [options] [command]\n\nUnknown argument: {detail}", 1)


class Gemini:
    name = "gemini"
    credential_env = ("GEMINI_API_KEY", "GOOGLE_API_KEY")

    def __init__(self, output: str) -> None:
        self.output = output

    def start(self, call: Call, session: str) -> None:
        if self.output == "stream-json":
            model = call.options.get("model") or "auto"
            emit({"type": "init", "timestamp": now(), "session_id": session, "model": model})
            emit({"type": "message", "timestamp": now(), "role": "user", "content": call.prompt})

    def filler(self, session: str) -> str:
        message = {
            "type": "message",
            "timestamp": now(),
            "role": "assistant",
            "content": "." * 200,
            "delta": True,
        }
        return json.dumps(message) + "\n"

    def edits(self, call: Call, session: str, edits: list[Edit]) -> None:
        if self.output != "stream-json":
            return
        for edit in edits:
            tool_id = f"write_file__write_file_{uuid.uuid4().int % 10**13}_0"
            emit(
                {
                    "type": "tool_use",
                    "timestamp": now(),
                    "tool_name": "write_file",
                    "tool_id": tool_id,
                    "parameters": {"file_path": str(edit.path), "content": edit.content},
                }
            )
            result: dict[str, Any] = {"type": "tool_result", "timestamp": now(), "tool_id": tool_id}
            if edit.applied:
                result.update(status="success")
            else:
                result.update(
                    status="error", error={"type": "permission_denied", "message": edit.reason}
                )
            emit(result)

    def succeed(self, call: Call, session: str, reply: str, edits: list[Edit]) -> int:
        if self.output == "stream-json":
            for piece in split_reply(reply):
                emit(
                    {
                        "type": "message",
                        "timestamp": now(),
                        "role": "assistant",
                        "content": piece,
                        "delta": True,
                    }
                )
            emit(
                {
                    "type": "result",
                    "timestamp": now(),
                    "status": "success",
                    "stats": {**STATS, "models": {"gemini-2.5-pro": MODEL_STATS}},
                }
            )
        elif self.output == "json":
            model = {
                "api": {"totalRequests": 1, "totalErrors": 0, "totalLatencyMs": 3000},
                "tokens": {
                    "input": 900,
                    "prompt": 900,
                    "candidates": 120,
                    "total": 1020,
                    "cached": 0,
                    "thoughts": 0,
                    "tool": 0,
                },
            }
            document = {
                "session_id": session,
                "response": reply,
                "stats": {
                    "models": {"gemini-2.5-pro": model},
                    "tools": {},
                    "files": {"totalLinesAdded": 0, "totalLinesRemoved": 0},
                },
            }
            print(json.dumps(document, indent=2), flush=True)
        else:
            print(reply, flush=True)
        return 0

    def fail(self, call: Call, session: str, kind: str) -> int:
        code, error_type, message = FAILURES[kind]
        if kind == "auth" and self.output != "json":
            sys.stderr.write(message + "\n")
            return code
        if self.output == "stream-json" and kind != "auth":
            if kind != "max_turns":  # gemini reports an API error there (no file written here)
                sys.stderr.write(
                    "Error when talking to Gemini API Full report available at: "
                    f"{tempfile.gettempdir()}/gemini-client-error-Turn.run-sendMessageStream-"
                    f"{now().replace(':', '-').replace('.', '-')}.json\n"
                )
            emit(
                {
                    "type": "result",
                    "timestamp": now(),
                    "status": "error",
                    "error": {"type": error_type, "message": message},
                    "stats": {**STATS, "duration_ms": 0},
                }
            )
        elif self.output == "json":
            error = {
                "session_id": session,
                "error": {"type": error_type, "message": message, "code": code},
            }
            sys.stderr.write(json.dumps(error, indent=2) + "\n")
        else:
            sys.stderr.write(f"[ERROR] {message}\n")
        return code

    def crash(self) -> NoReturn:
        node_crash()


def main(argv: list[str]) -> NoReturn:
    if "--version" in argv or "-v" in argv:
        print(reported_version(VERSION))
        sys.exit(0)
    parser = _Parser(prog="gemini", add_help=False)
    parser.add_argument("query", nargs="?")
    parser.add_argument("-p", "--prompt")
    parser.add_argument(
        "-o", "--output-format", choices=["text", "json", "stream-json"], default="text"
    )
    parser.add_argument("-m", "--model")
    parser.add_argument("--approval-mode", choices=["default", "auto_edit", "yolo", "plan"])
    parser.add_argument("-y", "--yolo", action="store_true")
    parser.add_argument("-r", "--resume", nargs="?", const="latest")
    parser.add_argument("--session-id")
    parser.add_argument("--skip-trust", action="store_true")
    parser.add_argument("--include-directories")
    parser.add_argument("-s", "--sandbox", action="store_true")
    args = parser.parse_args(argv)
    if args.yolo and args.approval_mode:
        usage_error("Cannot use both --yolo (-y) and --approval-mode together.", 1)
    if not (args.skip_trust or os.environ.get("GEMINI_CLI_TRUST_WORKSPACE") == "true"):
        usage_error(
            "Gemini CLI is not running in a trusted directory. To proceed, either use "
            "`--skip-trust`, set the `GEMINI_CLI_TRUST_WORKSPACE=true` environment variable, or "
            "trust this directory in interactive mode.",
            55,
        )
    stdin = read_stdin()
    text = args.prompt if args.prompt is not None else args.query
    prompt = "\n\n".join(part for part in (stdin, text) if part)
    if not prompt:
        usage_error(
            "No input provided via stdin. Input can be provided by piping data into "
            "gemini or using the --prompt option.",
            42,
        )
    mode = "yolo" if args.yolo else (args.approval_mode or "default")
    session = args.session_id or (args.resume if args.resume not in (None, "latest") else None)
    call = Call(
        tool="gemini",
        prompt=prompt,
        stdin=stdin,
        cwd=Path.cwd(),
        write=mode in WRITE_MODES,
        session_id=session,
        options={"model": args.model},
    )
    run(Gemini(args.output_format), call, argv)
