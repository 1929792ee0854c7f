"""OpenAI Codex CLI (``codex exec``), targeted at 0.14x-0.15x.

Headless: ``codex exec --json --skip-git-repo-check -s read-only|workspace-write -C DIR -``
with the prompt on stdin (``-``), so no pipe is ever left open. ``-s`` is always explicit: the
user's config.toml could change the default. Follow-ups: ``codex exec ... resume ID -``.
Output: JSONL thread events; ``turn.completed.usage`` is a running total (replaced, not summed).
"""

from __future__ import annotations

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
from agentls.adapters.runner import ProcessOutcome
from agentls.orchestration.containment import StatePath
from agentls.orchestration.results import ErrorKind, Usage


class CodexAdapter(Adapter):
    name = "codex"
    default_command = ("codex",)
    install_hint = "install Codex CLI with `npm install -g @openai/codex`"
    credential_env: ClassVar[tuple[str, ...]] = ("CODEX_API_KEY", "OPENAI_API_KEY")
    login_hint = "run `codex login`"
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
        if kind == "file_change":
            return "edited " + ", ".join(c.get("path", "") for c in item.get("changes") or [])
        return None

    def read_output(self, request: TaskRequest, outcome: ProcessOutcome) -> AgentReply:
        reply = AgentReply()
        messages: list[str] = []
        changed: dict[str, None] = {}
        failure: str | None = None
        errors: list[str] = []
        completed = False
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
                completed = True
                reply.usage = _usage(event.get("usage") or {})
            elif kind == "turn.failed":
                failure = str((event.get("error") or {}).get("message", "the turn failed"))
            elif kind == "error":
                errors.append(str(event.get("message", "")))
        reply.session_id = reply.session_id or request.session_id
        reply.text = messages[-1] if messages else ""
        reply.changed_files = list(changed)
        if failure is not None or (errors and not completed):
            detail = failure or errors[-1]
            reply.error = self.failure(classify_failure(detail), detail)
        elif outcome.exit_code != 0:
            reply.error = self.exit_failure(outcome, errors[-1] if errors else "")
        elif not completed:
            reply.error = self.failure(ErrorKind.BAD_OUTPUT, "no turn.completed event")
        return reply


def _usage(usage: dict[str, Any]) -> Usage:
    def tokens(key: str) -> int | None:
        value = usage.get(key)
        return value if isinstance(value, int) else None

    return Usage(input_tokens=tokens("input_tokens"), output_tokens=tokens("output_tokens"))
