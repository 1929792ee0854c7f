"""Google Gemini CLI (``gemini``), targeted at 0.56.

Headless: ``gemini -p <short instruction> -o stream-json --approval-mode default|auto_edit``
with the prompt on stdin (gemini puts stdin before the ``-p`` text). In headless mode the
default approval mode denies edits and shell, so it is the read-only mode. Sandboxes and fresh
folders are untrusted, so ``GEMINI_CLI_TRUST_WORKSPACE=true`` is set (it would exit 55).
Fatal errors in json mode go to stderr; exit codes: 41 auth, 42 input, 44 sandbox, 52 config,
53 turn limit, 54 tool, 55 untrusted folder, 130 cancelled.
"""

from __future__ import annotations

import json
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
from agentls.orchestration.results import ErrorKind, TaskError, Usage

PROMPT_FLAG_TEXT = "Follow the instructions above."
_EDIT_TOOLS = {"write_file", "replace", "edit"}
_EXIT_MEANINGS = {
    41: (ErrorKind.AUTH, "no usable credentials"),
    42: (ErrorKind.AGENT_ERROR, "it rejected its input"),
    44: (ErrorKind.AGENT_ERROR, "its sandbox failed"),
    52: (ErrorKind.AGENT_ERROR, "its configuration is invalid (check ~/.gemini/settings.json)"),
    53: (ErrorKind.AGENT_ERROR, "it reached its turn limit (model.maxSessionTurns)"),
    54: (ErrorKind.AGENT_ERROR, "a tool failed fatally"),
    55: (ErrorKind.AGENT_ERROR, "the folder is not trusted (set GEMINI_CLI_TRUST_WORKSPACE)"),
    130: (ErrorKind.CRASH, "it was cancelled"),
}


class GeminiAdapter(Adapter):
    name = "gemini"
    default_command = ("gemini",)
    install_hint = "install Gemini CLI with `npm install -g @google/gemini-cli`"
    credential_env: ClassVar[tuple[str, ...]] = ("GEMINI_API_KEY", "GOOGLE_API_KEY")
    login_hint = "run `gemini` once and sign in with Google"
    state_paths = (StatePath(".gemini"),)

    def invocation(self, request: TaskRequest) -> Invocation:
        argv = ["-p", PROMPT_FLAG_TEXT, "-o", "stream-json"]
        if self.config.model:
            argv += ["-m", self.config.model]
        argv += ["--approval-mode", "auto_edit" if request.write else "default"]
        if request.session_id:
            argv += ["--resume", request.session_id]
        return Invocation(
            argv=[*argv, *self.config.extra_args],
            stdin=request.prompt,
            env={"GEMINI_CLI_TRUST_WORKSPACE": "true"},
        )

    def describe_line(self, line: str) -> str | None:
        event = json_object(line)
        if event is None:
            return None
        if event.get("type") == "message" and event.get("role") == "assistant":
            return str(event.get("content", "")).strip() or None
        if event.get("type") == "tool_use":
            target = (event.get("parameters") or {}).get("file_path", "")
            return f"{event.get('tool_name', 'tool')} {target}".strip()
        return None

    def read_output(self, request: TaskRequest, outcome: ProcessOutcome) -> AgentReply:
        reply = AgentReply(session_id=request.session_id)
        chunks: list[str] = []
        pending_edits: dict[str, str] = {}
        changed: dict[str, None] = {}
        result: dict[str, Any] | None = None
        for event in json_values(outcome.stdout):
            kind = event.get("type")
            reply.session_id = event.get("session_id") or reply.session_id
            if kind == "message" and event.get("role") == "assistant":
                chunks.append(str(event.get("content", "")))
            elif kind == "tool_use" and event.get("tool_name") in _EDIT_TOOLS:
                path = (event.get("parameters") or {}).get("file_path")
                if path:
                    pending_edits[str(event.get("tool_id"))] = str(path)
            elif kind == "tool_result" and event.get("status") == "success":
                path = pending_edits.pop(str(event.get("tool_id")), None)
                if path:
                    changed[path] = None
            elif kind == "result" or (kind is None and ("response" in event or "error" in event)):
                result = event
        reply.changed_files = list(changed)
        if result is None:
            reply.text = "".join(chunks)
            reply.error = self._exit_error(outcome)
            if reply.error is None:
                reply.error = self.failure(ErrorKind.BAD_OUTPUT, "no result event in its output")
            return reply
        reply.text = str(result.get("response") or "".join(chunks))
        stats = result.get("stats")
        reply.usage = _usage(stats) if isinstance(stats, dict) else Usage()
        error = result.get("error")
        if result.get("status") == "error" or isinstance(error, dict):
            reply.error = self._error_object(error if isinstance(error, dict) else {}, outcome)
        elif outcome.exit_code != 0:
            reply.error = self._exit_error(outcome)
        return reply

    def _error_object(self, error: dict[str, Any], outcome: ProcessOutcome) -> TaskError:
        detail = f"{error.get('type', 'error')}: {error.get('message', '')}".strip(": ")
        if outcome.exit_code in _EXIT_MEANINGS:
            kind, meaning = _EXIT_MEANINGS[outcome.exit_code]
            return self.failure(kind, f"{meaning} ({detail})")
        if "Quota" in str(error.get("type", "")):
            return self.failure(ErrorKind.RATE_LIMIT, detail)
        return self.failure(classify_failure(detail), detail)

    def _exit_error(self, outcome: ProcessOutcome) -> TaskError | None:
        if outcome.exit_code == 0:
            return None
        stderr_error = _stderr_error(outcome.stderr)
        if stderr_error is not None:
            return self._error_object(stderr_error, outcome)
        if outcome.exit_code in _EXIT_MEANINGS:
            kind, meaning = _EXIT_MEANINGS[outcome.exit_code]
            detail = outcome.stderr.strip().splitlines()[-1:] or [""]
            return self.failure(kind, f"{meaning}: {detail[0][:300]}".rstrip(": "))
        return self.exit_failure(outcome)


def _stderr_error(stderr: str) -> dict[str, Any] | None:
    start = stderr.find("{")
    if start == -1:
        return None
    try:
        value, _ = json.JSONDecoder().raw_decode(stderr, start)
    except ValueError:
        return None
    error = value.get("error") if isinstance(value, dict) else None
    return error if isinstance(error, dict) else None


def _usage(stats: dict[str, Any]) -> Usage:
    if "input_tokens" in stats or "output_tokens" in stats:  # stream-json result stats
        return Usage(
            input_tokens=stats.get("input_tokens"), output_tokens=stats.get("output_tokens")
        )
    models = stats.get("models")  # json output: per-model token counts
    if not isinstance(models, dict) or not models:
        return Usage()
    tokens = [m.get("tokens") for m in models.values() if isinstance(m, dict)]
    counts = [t for t in tokens if isinstance(t, dict)]
    prompt = sum(t.get("prompt", 0) for t in counts if isinstance(t.get("prompt", 0), int))
    output = sum(t.get("candidates", 0) for t in counts if isinstance(t.get("candidates", 0), int))
    return Usage(input_tokens=prompt, output_tokens=output)
