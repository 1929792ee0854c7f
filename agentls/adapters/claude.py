"""Claude Code (``claude``), targeted at 2.1.332 (verified against the real CLI: tests/realcli).

Headless: ``claude -p --output-format stream-json --verbose`` with the prompt on stdin.
Read-only: ``--permission-mode default`` with the mutating tools disallowed (in ``-p`` anything
that would prompt is denied). Write: ``--permission-mode acceptEdits``.
Output: NDJSON messages ending with a ``result`` object; ``json`` output (one object, or an
array when verbose) is read too. API failures arrive as ``is_error: true`` with
``api_error_status``; a valid result may come with exit code 1.
Retries: the CLI retries failed API calls itself (``system``/``api_retry`` lines);
``CLAUDE_CODE_MAX_RETRIES`` gets the agent's ``retries``, a retried 401/403 stops it at once,
and a timeout names the error it was retrying.
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
from agentls.adapters.confinement import StatePath
from agentls.adapters.runner import ProcessOutcome
from agentls.domain.results import ErrorKind, TaskError, Usage

READ_ONLY_DENIED_TOOLS = "Bash,Edit,MultiEdit,Write,NotebookEdit"
_EDIT_TOOLS = {"Edit", "MultiEdit", "Write", "NotebookEdit"}


class ClaudeAdapter(Adapter):
    name = "claude"
    default_command = ("claude",)
    install_hint = "install Claude Code with `npm install -g @anthropic-ai/claude-code`"
    package = "@anthropic-ai/claude-code"
    verified = ("2.1.332", "2.1.332")
    credential_env: ClassVar[tuple[str, ...]] = (
        "ANTHROPIC_API_KEY",
        "CLAUDE_CODE_OAUTH_TOKEN",
        "ANTHROPIC_AUTH_TOKEN",
    )
    login_hint = "run `claude` once and /login"
    retries_itself = True
    retries_env = "CLAUDE_CODE_MAX_RETRIES"
    lost_session_marks = ("No conversation found with session ID", "requires a valid session ID")
    state_paths = (
        StatePath(".claude", env="CLAUDE_CONFIG_DIR"),
        StatePath(".claude.json", file=True),
        StatePath(".local/state/claude", env="XDG_STATE_HOME", suffix="claude"),
    )

    def invocation(self, request: TaskRequest) -> Invocation:
        argv = ["-p", "--output-format", "stream-json", "--verbose"]
        if self.config.model:
            argv += ["--model", self.config.model]
        if request.write:
            argv += ["--permission-mode", "acceptEdits"]
        else:
            argv += ["--permission-mode", "default", "--disallowedTools", READ_ONLY_DENIED_TOOLS]
        if request.session_id:
            argv += ["--resume", request.session_id]
        return Invocation(argv=[*argv, *self.config.extra_args], stdin=request.prompt)

    def hopeless(self, line: str) -> bool:
        retry = _api_retry(json_object(line))
        return retry is not None and retry.get("error_status") in (401, 403)

    def pending_error(self, outcome: ProcessOutcome) -> tuple[ErrorKind, str] | None:
        retries = [r for r in map(_api_retry, json_values(outcome.stdout)) if r is not None]
        if not retries:
            return None
        status = retries[-1].get("error_status")
        detail = f"the API answered {status} ({retries[-1].get('error') or 'error'})"
        if status in (401, 403):
            return ErrorKind.AUTH, detail
        return ErrorKind.RATE_LIMIT if status == 429 else ErrorKind.TRANSIENT, detail

    def describe_line(self, line: str) -> str | None:
        message = json_object(line)
        retry = _api_retry(message)
        if retry is not None:
            return (
                f"API error {retry.get('error_status')}, retry {retry.get('attempt')} of "
                f"{retry.get('max_retries')}"
            )
        if message is None or message.get("type") != "assistant":
            return None
        shown = []
        for block in message.get("message", {}).get("content", []) or []:
            if block.get("type") == "text" and block.get("text"):
                shown.append(block["text"].strip())
            elif block.get("type") == "tool_use":
                target = (block.get("input") or {}).get("file_path", "")
                shown.append(f"{block.get('name', 'tool')} {target}".strip())
        return " ".join(shown) or None

    def read_output(self, request: TaskRequest, outcome: ProcessOutcome) -> AgentReply:
        reply = AgentReply()
        result: dict[str, Any] | None = None
        texts: list[str] = []
        edits: list[tuple[str, str]] = []
        for message in json_values(outcome.stdout):
            kind = message.get("type")
            reply.session_id = message.get("session_id") or reply.session_id
            if kind == "result":
                result = message
            elif kind == "assistant":
                for block in message.get("message", {}).get("content", []) or []:
                    if block.get("type") == "text":
                        texts.append(block.get("text", ""))
                    elif block.get("type") == "tool_use" and block.get("name") in _EDIT_TOOLS:
                        path = (block.get("input") or {}).get("file_path")
                        if path:
                            edits.append((str(block.get("id", "")), str(path)))
        if result is None:
            pending = self.pending_error(outcome)
            if (outcome.stopped or outcome.timed_out) and pending is not None:
                reply.error = self.failure(*pending)
            elif outcome.stopped or outcome.timed_out or outcome.exit_code != 0:
                reply.error = self.exit_failure(outcome)
            else:
                reply.error = self.failure(ErrorKind.BAD_OUTPUT, "no result message in its output")
            return reply
        denied = {d.get("tool_use_id") for d in result.get("permission_denials") or []}
        reply.changed_files = list(dict.fromkeys(p for i, p in edits if i not in denied))
        reply.text = str(result.get("result") or "\n".join(texts))
        reply.usage = _usage(result)
        reply.error = self._result_error(result)
        return reply

    def _result_error(self, result: dict[str, Any]) -> TaskError | None:
        if not result.get("is_error") and result.get("subtype") == "success":
            return None
        detail = str(result.get("result") or "; ".join(result.get("errors") or []) or "")
        subtype = result.get("subtype", "")
        status = result.get("api_error_status")
        if subtype == "error_max_turns":
            return self.failure(
                ErrorKind.AGENT_ERROR,
                f"it stopped at its turn limit ({detail or subtype}); raise --max-turns in "
                f"agents.{self.agent_name}.extra_args or give it a smaller task",
            )
        if status in (401, 403):
            return self.failure(ErrorKind.AUTH, detail or f"HTTP {status}")
        if status == 429:
            return self.failure(ErrorKind.RATE_LIMIT, detail or "HTTP 429")
        if isinstance(status, int) and status >= 500:
            return self.failure(ErrorKind.TRANSIENT, detail or f"HTTP {status}")
        kind = classify_failure(detail)
        return self.failure(kind, detail or subtype or "is_error was set")


def _api_retry(message: dict[str, Any] | None) -> dict[str, Any] | None:
    """Claude Code's note that an API call failed and will be tried again."""
    if message and message.get("type") == "system" and message.get("subtype") == "api_retry":
        return message
    return None


def _usage(result: dict[str, Any]) -> Usage:
    usage = result.get("usage") or {}
    cost = result.get("total_cost_usd", result.get("cost_usd"))
    return Usage(
        input_tokens=_tokens(usage, "input_tokens", "cache_creation_input_tokens"),
        output_tokens=_tokens(usage, "output_tokens"),
        cost_usd=float(cost) if isinstance(cost, int | float) else None,
    )


def _tokens(usage: dict[str, Any], *keys: str) -> int | None:
    values = [usage.get(key) for key in keys if isinstance(usage.get(key), int)]
    return sum(values) if values else None  # type: ignore[arg-type]
