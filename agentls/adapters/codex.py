"""OpenAI Codex CLI (``codex exec``), targeted at 0.171.

Headless: ``codex exec --json --skip-git-repo-check -s read-only|workspace-write -C DIR -``
with the prompt on stdin (``-``), so no pipe is ever left open. ``-s`` is always explicit: the
user's config.toml could change the default. Follow-ups: ``codex exec ... resume ID -``.
Read-only is codex's own sandbox: it offers the model the same tools in both modes (its shell
``exec_command``, and ``apply_patch`` for the models it knows) and refuses the writes.
Output: JSONL thread events (``thread.started``, ``item.*``, ``turn.completed|failed``);
warnings are ``error`` items, failures ``error`` events then ``turn.failed``.
``turn.completed.usage`` is the thread's running total: on a resumed thread the total before
this turn is read from the thread's rollout (``$CODEX_HOME/sessions/Y/M/D/rollout-*-ID.jsonl``)
and subtracted.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar

from agentls.adapters.base import (
    Adapter,
    AgentReply,
    Invocation,
    TaskRequest,
    classify_failure,
    json_object,
    json_values,
)
from agentls.adapters.confinement import StatePath
from agentls.adapters.runner import ProcessOutcome
from agentls.domain.results import ErrorKind, Usage

_TRANSIENT = re.compile(
    # codex's own words for a 500, a stream that ended early or failed (response.failed), a
    # body it could not read, a connection that failed, and a model at capacity
    r"experiencing high demand|stream disconnected before completion"
    r"|error while reading the server response|connection failed|at capacity",
    re.IGNORECASE,
)
_AUTH = re.compile(r"missing environment variable", re.IGNORECASE)
"""The provider's ``env_key`` (OPENAI_API_KEY) is not set."""


class CodexAdapter(Adapter):
    name = "codex"
    default_command = ("codex",)
    install_hint = "install Codex CLI with `npm install -g @openai/codex`"
    package = "@openai/codex"
    verified = ("0.171.0", "0.171.0")
    credential_env: ClassVar[tuple[str, ...]] = ("CODEX_API_KEY", "OPENAI_API_KEY")
    login_hint = "run `codex login`"
    lost_session_marks = ("no rollout found for thread id",)
    state_paths = (StatePath(".codex", env="CODEX_HOME"),)

    def invocation(self, request: TaskRequest) -> Invocation:
        argv = ["exec", "--json", "--skip-git-repo-check"]
        argv += ["-s", "workspace-write" if request.write else "read-only"]
        if self.config.model:
            argv += ["-m", self.config.model]
        argv += ["-C", str(request.workspace), *self.config.extra_args]
        if request.session_id:
            argv += ["resume", request.session_id]
        return Invocation(argv=[*argv, "-"], stdin=request.prompt)

    def describe_line(self, line: str) -> str | None:
        event = json_object(line)
        if event is None or event.get("type") not in ("item.started", "item.completed"):
            return None
        item = event.get("item") or {}
        kind = item.get("type")
        if kind in ("agent_message", "reasoning"):
            return str(item.get("text", "")).strip() or None
        if kind == "command_execution" and event["type"] == "item.started":
            return f"$ {item.get('command', '')}"
        if kind == "file_change" and event["type"] == "item.completed":
            return "edited " + ", ".join(c.get("path", "") for c in item.get("changes") or [])
        return None

    def read_output(self, request: TaskRequest, outcome: ProcessOutcome) -> AgentReply:
        reply = AgentReply()
        messages: list[str] = []
        changed: dict[str, None] = {}
        failure: str | None = None
        errors: list[str] = []
        total: dict[str, Any] | None = None
        for event in json_values(outcome.stdout):
            kind = event.get("type")
            if kind == "thread.started":
                reply.session_id = event.get("thread_id") or reply.session_id
            elif kind == "item.completed":
                item = event.get("item") or {}
                if item.get("type") == "agent_message":
                    messages.append(str(item.get("text", "")))
                elif item.get("type") == "file_change" and item.get("status") == "completed":
                    for change in item.get("changes") or []:
                        if change.get("path"):
                            changed[str(change["path"])] = None
            elif kind == "turn.completed":
                total = event.get("usage") or {}
            elif kind == "turn.failed":
                failure = str((event.get("error") or {}).get("message", "the turn failed"))
            elif kind == "error":
                errors.append(str(event.get("message", "")))
        resumed = request.session_id is not None and reply.session_id in (None, request.session_id)
        reply.session_id = reply.session_id or request.session_id
        reply.text = messages[-1] if messages else ""
        reply.changed_files = list(changed)
        if total is not None:
            reply.usage = self._turn_usage(request.session_id if resumed else None, total)
        if failure is not None or (errors and total is None):
            detail = failure or errors[-1]
            reply.error = self.failure(_classify(detail), detail)
        elif outcome.exit_code != 0:
            reply.error = self.exit_failure(outcome, errors[-1] if errors else "")
        elif total is None:
            reply.error = self.failure(ErrorKind.BAD_OUTPUT, "no turn.completed event")
        return reply

    def _turn_usage(self, resumed: str | None, total: dict[str, Any]) -> Usage:
        """This turn's tokens: on the ``resumed`` thread, the running total less what the
        thread had used before the turn, or unknown (None) when its rollout cannot be read."""
        usage = _usage(total)
        if resumed is None:
            return usage
        home = self.state_paths[0].locate(self.environment())
        before = _total_before_last_turn(home, resumed) if home else None
        return Usage() if before is None else _difference(usage, before)


def _classify(detail: str) -> ErrorKind:
    """``classify_failure``, knowing codex's own wording of its failures."""
    kind = classify_failure(detail)
    if kind is ErrorKind.AGENT_ERROR and _AUTH.search(detail):
        return ErrorKind.AUTH
    if kind is ErrorKind.AGENT_ERROR and _TRANSIENT.search(detail):
        return ErrorKind.TRANSIENT
    return kind


def _usage(usage: dict[str, Any]) -> Usage:
    def tokens(key: str) -> int | None:
        value = usage.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    return Usage(input_tokens=tokens("input_tokens"), output_tokens=tokens("output_tokens"))


def _difference(total: Usage, before: Usage) -> Usage:
    def less(now: int | None, earlier: int | None) -> int | None:
        if now is None or now < (earlier or 0):
            return None  # not a running total after all: unknown rather than wrong
        return now - (earlier or 0)

    return Usage(
        input_tokens=less(total.input_tokens, before.input_tokens),
        output_tokens=less(total.output_tokens, before.output_tokens),
    )


def _rollout_file(home: Path, thread_id: str) -> Path | None:
    """The thread's rollout, ``sessions/YYYY/MM/DD/rollout-<time>-<thread id>.jsonl``."""
    if not re.fullmatch(r"[0-9A-Za-z-]+", thread_id):
        return None  # an id is a UUID: never a pattern or a path
    found = sorted((home / "sessions").glob(f"*/*/*/rollout-*-{thread_id}.jsonl"))
    return found[-1] if found else None


def _total_before_last_turn(home: Path, thread_id: str) -> Usage | None:
    """The thread's running total when its last turn started: the last ``token_count``
    before the last ``task_started`` in the rollout (zero when there was none); None when the
    rollout cannot be read."""
    path = _rollout_file(home, thread_id)
    if path is None:
        return None
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    running = Usage(input_tokens=0, output_tokens=0)
    before: Usage | None = None
    for line in text.splitlines():
        record = json_object(line)
        payload = record.get("payload") if record and record.get("type") == "event_msg" else None
        if not isinstance(payload, dict):
            continue
        if payload.get("type") == "task_started":
            before = running
        elif payload.get("type") == "token_count":
            info = payload.get("info")
            if isinstance(info, dict) and isinstance(info.get("total_token_usage"), dict):
                running = _usage(info["total_token_usage"])
    return before
