"""Codex CLI 0.171, headless: ``codex exec [--json] ... [resume ID] [PROMPT|-]``.

The events and messages are the real CLI's (seen against a mock Responses API in
``tests/realcli``): file changes name absolute paths, and a failure is ``error`` events (one
per retry, "Reconnecting... N/M (...)", then the last) before ``turn.failed``. The usage of
``turn.completed`` is the thread's running total, kept (as codex keeps it) in the thread's
rollout, ``$CODEX_HOME/sessions/YYYY/MM/DD/rollout-<time>-<id>.jsonl`` (with ``CODEX_HOME``
set; else each turn is counted as a thread's first).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

from fakelib import Call, Edit, emit, read_stdin, reported_version, run, usage_error

VERSION = "codex-cli 0.171.0"
TURN_USAGE = {
    "input_tokens": 2400,
    "cached_input_tokens": 1000,
    "cache_write_input_tokens": 0,
    "output_tokens": 310,
    "reasoning_output_tokens": 0,
}
VALUE_FLAGS = {
    "-m",
    "--model",
    "-s",
    "--sandbox",
    "-C",
    "--cd",
    "--add-dir",
    "-o",
    "--output-last-message",
    "--output-schema",
    "-c",
    "--config",
    "-p",
    "--profile",
    "-i",
    "--image",
    "--color",
    "--local-provider",
}
BOOL_FLAGS = {
    "--json",
    "--experimental-json",
    "--skip-git-repo-check",
    "--ephemeral",
    "--full-auto",
    "--dangerously-bypass-approvals-and-sandbox",
    "--yolo",
    "--oss",
    "--last",
    "--all",
    "--ignore-user-config",
    "--ignore-rules",
}
SANDBOXES = {"read-only", "workspace-write", "danger-full-access"}


class Codex:
    name = "codex"
    credential_env = ("CODEX_API_KEY", "OPENAI_API_KEY")

    def __init__(self, as_json: bool, last_message_file: str | None) -> None:
        self.as_json = as_json
        self.last_message_file = last_message_file
        self.items = 0

    def _event(self, event: dict[str, Any]) -> None:
        if self.as_json:
            emit(event)

    def _item(self, kind: str, **fields: Any) -> dict[str, Any]:
        item = {"id": f"item_{self.items}", "type": kind, **fields}
        self.items += 1
        return item

    def start(self, call: Call, session: str) -> None:
        self._event({"type": "thread.started", "thread_id": session})
        self._event({"type": "turn.started"})
        if not self.as_json:
            sys.stderr.write(f"OpenAI Codex v0.171.0\nworkdir: {call.cwd}\nsession id: {session}\n")

    def filler(self, session: str) -> str:
        import json

        item = {"id": "item_x", "type": "reasoning", "text": "." * 200}
        return json.dumps({"type": "item.completed", "item": item}) + "\n"

    def edits(self, call: Call, session: str, edits: list[Edit]) -> None:
        self._event(
            {
                "type": "item.completed",
                "item": self._item("reasoning", text="**Planning the change**"),
            }
        )
        for edit in edits:
            if not edit.applied:  # a refused patch (read-only, or it did not apply) is told
                continue  # to the model only: codex prints no item for it
            change = {"path": str(edit.path), "kind": edit.kind}  # absolute, as codex says
            item = self._item("file_change", changes=[change], status="in_progress")
            self._event({"type": "item.started", "item": item})
            self._event({"type": "item.completed", "item": item | {"status": "completed"}})

    def succeed(self, call: Call, session: str, reply: str, edits: list[Edit]) -> int:
        self._event({"type": "item.completed", "item": self._item("agent_message", text=reply)})
        self._event({"type": "turn.completed", "usage": running_total(session, TURN_USAGE)})
        if not self.as_json:
            sys.stderr.write("tokens used: 2710\n")
            print(reply, flush=True)
        if self.last_message_file:
            Path(self.last_message_file).write_text(reply)
        return 0

    def fail(self, call: Call, session: str, kind: str) -> int:
        messages = {
            "auth": "unexpected status 401 Unauthorized: Missing bearer or basic authentication "
            "in header, url: https://api.openai.com/v1/responses",
            "rate_limit": "exceeded retry limit, last status: 429 Too Many Requests",
            "server_error": "We\u2019re currently experiencing high demand, which may cause "
            "temporary errors.",
        }
        if kind not in messages:
            return -1
        if kind == "auth":
            self.start(call, session)
        message = messages[kind]
        self._event({"type": "error", "message": f"Reconnecting... 1/1 ({message})"})
        self._event({"type": "error", "message": message})
        self._event({"type": "turn.failed", "error": {"message": message}})
        if not self.as_json:
            sys.stderr.write(f"ERROR: {message}\n")
        return 1

    def crash(self) -> NoReturn:
        sys.stderr.write(
            "thread 'main' panicked at codex-rs/exec/src/event_processor.rs:212:41:\n"
            "called `Option::unwrap()` on a `None` value\n"
            "note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n"
        )
        sys.stderr.flush()
        import os

        os._exit(101)


def rollout(home: Path, session: str) -> Path:
    """The thread's rollout file in the codex home ``home``, found or new."""
    found = sorted((home / "sessions").glob(f"*/*/*/rollout-*-{session}.jsonl"))
    if found:
        return found[-1]
    name = f"rollout-{time.strftime('%Y-%m-%dT%H-%M-%S')}-{session}.jsonl"
    return home / "sessions" / time.strftime("%Y/%m/%d") / name


def running_total(session: str, turn: dict[str, int]) -> dict[str, int]:
    """The thread's usage after this turn, recorded in its rollout as codex records it (a
    ``task_started`` then a ``token_count`` per turn). Only in a ``CODEX_HOME`` a test set
    (never a real ~/.codex); best effort, as a read-only one cannot hold it."""
    if not os.environ.get("CODEX_HOME"):
        return turn
    path = rollout(Path(os.environ["CODEX_HOME"]), session)
    try:
        lines = path.read_text().splitlines()
    except OSError:
        lines = []
    before = dict.fromkeys(turn, 0)
    for line in lines:
        payload = json.loads(line).get("payload") or {}
        if payload.get("type") == "token_count":
            before = payload["info"]["total_token_usage"]
    total = {key: before.get(key, 0) + value for key, value in turn.items()}
    info = {"total_token_usage": total, "last_token_usage": turn}
    records = [] if lines else [{"type": "session_meta", "payload": {"id": session}}]
    records += [
        {"type": "event_msg", "payload": {"type": "task_started"}},
        {"type": "event_msg", "payload": {"type": "token_count", "info": info}},
    ]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as out:
            out.writelines(json.dumps(record) + "\n" for record in records)
    except OSError:
        pass
    return total


def main(argv: list[str]) -> NoReturn:
    if argv[:1] in (["--version"], ["-V"]):
        print(reported_version(VERSION))
        sys.exit(0)
    if argv[:1] not in (["exec"], ["e"]):
        usage_error("error: this fake only knows `codex exec`", 2)
    options: dict[str, str] = {}
    flags: set[str] = set()
    positionals: list[str] = []
    args = iter(argv[1:])
    for arg in args:
        name, eq, value = arg.partition("=")
        if name in VALUE_FLAGS:
            options[name] = value if eq else next(args, "")
        elif arg in BOOL_FLAGS:
            flags.add(arg)
        elif arg.startswith("-") and arg != "-":
            usage_error(
                f"error: unexpected argument '{arg}' found\n\nUsage: codex exec [OPTIONS] [PROMPT]",
                2,
            )
        else:
            positionals.append(arg)
    sandbox = options.get("-s") or options.get("--sandbox") or "read-only"
    if sandbox not in SANDBOXES:
        usage_error(f"error: invalid value '{sandbox}' for '--sandbox <SANDBOX_MODE>'", 2)
    cwd = Path(options.get("-C") or options.get("--cd") or ".").resolve()
    session = None
    if positionals[:1] == ["resume"]:
        if "--last" not in flags:
            if len(positionals) < 2:
                usage_error("error: resume needs a SESSION_ID or --last", 2)
            session = positionals[1]
        positionals = positionals[2:] if session else positionals[1:]
    prompt_arg = positionals[0] if positionals else None
    stdin: str | None = None
    if prompt_arg in (None, "-"):
        sys.stderr.write("Reading prompt from stdin...\n")
        stdin = read_stdin()
        if not stdin:
            usage_error("No prompt provided via stdin.", 1)
        prompt = stdin
    else:
        stdin = read_stdin()
        prompt = prompt_arg + (f"\n\n<stdin>\n{stdin}\n</stdin>" if stdin else "")
    bypass = bool(flags & {"--dangerously-bypass-approvals-and-sandbox", "--yolo"})
    if "--skip-git-repo-check" not in flags and not bypass and not _in_git(cwd):
        usage_error(
            "Not inside a trusted directory and --skip-git-repo-check was not specified.", 1
        )
    if "--full-auto" in flags:
        sys.stderr.write("warning: --full-auto is deprecated; use --sandbox workspace-write\n")
        sandbox = "workspace-write"
    call = Call(
        tool="codex",
        prompt=prompt,
        stdin=stdin,
        cwd=cwd,
        write=sandbox != "read-only" or bypass,
        session_id=session,
        options={"model": options.get("-m") or options.get("--model")},
    )
    as_json = bool(flags & {"--json", "--experimental-json"})
    last = options.get("-o") or options.get("--output-last-message")
    run(Codex(as_json, last), call, argv)


def _in_git(path: Path) -> bool:
    done = subprocess.run(
        ["git", "rev-parse", "--is-inside-work-tree"], cwd=path, capture_output=True, text=True
    )
    return done.returncode == 0 and done.stdout.strip() == "true"
