"""Google Gemini CLI (``gemini``), targeted at 0.61.0 (verified against the real CLI:
tests/realcli).

Headless: ``gemini -p <short instruction> -o stream-json --approval-mode default|auto_edit``
with the prompt on stdin (gemini puts stdin before the ``-p`` text). In headless mode the
default approval mode denies edits and shell (it offers only tools that read), so it is the
read-only mode; ``auto_edit`` adds ``replace`` and ``write_file``. Sandboxes and fresh folders
are untrusted, so ``GEMINI_CLI_TRUST_WORKSPACE=true`` is set (it would exit 55).
Output: JSON lines ``init`` (the session id), ``message``, ``tool_use``/``tool_result``,
``error`` (``severity`` warning or error) and a final ``result``. An API error ends in a
``result`` with ``status: error`` and ``error.message`` ``[API Error: …]`` (the API's error
object or gemini's own words), and the exit code is the HTTP status modulo 256 (401 exits 145).
A reply with no text and no tool call (after gemini's own three retries) is an ``error`` event
and a ``result`` with ``status: error`` and no ``error``, exit 0: a transient error.
Fatal errors are only stderr; exit codes: 41 auth, 42 input (a session it cannot resume:
``Error resuming session: …``; sessions are kept per project folder), 44 sandbox, 52 config,
53 turn limit, 54 tool, 55 untrusted folder, 130 cancelled.
Retries: gemini retries 429 and 5xx itself, backing off from 5 s to 30 s, for many minutes (a
429 without quota details is retried past ``general.maxAttempts``, which did not bound it even
at 1; no variable sets it, so there is no ``retries_env``). Each retry is a stderr line
``Attempt N failed with status S. Retrying with backoff... _ApiError: {…}``: agentls stops it
after the agent's ``retries`` (``hopeless``) and adds none of its own, and a timeout names the
error it was still retrying (``pending_error``). A 429 for a used-up daily quota ends the run
at once; 401 and 403 are never retried. A reply with no text is asked again three times.
"""

from __future__ import annotations

import json
import re
from typing import Any, ClassVar

from agentls.adapters.base import (
    Adapter,
    AgentReply,
    Fragment,
    Invocation,
    TaskRequest,
    classify_failure,
    json_object,
    json_values,
)
from agentls.adapters.confinement import StatePath
from agentls.adapters.runner import ProcessOutcome
from agentls.domain.results import ErrorKind, TaskError, Usage

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
_API_ERROR = "[API Error: "
"""How gemini's message of an API error starts (``parseAndFormatApiError``)."""
_RETRYING = re.compile(r"Attempt (\d+) failed with status (\d{3})\b[^\n]*")
"""gemini's stderr line when an API call failed and it will try again."""
_EMPTY_REPLY = "empty response with no text"
"""In gemini's error when the model answered nothing, also after it asked again."""


class GeminiAdapter(Adapter):
    name = "gemini"
    default_command = ("gemini",)
    install_hint = "install Gemini CLI with `npm install -g @google/gemini-cli`"
    package = "@google/gemini-cli"
    verified = ("0.61.0", "0.61.0")
    credential_env: ClassVar[tuple[str, ...]] = ("GEMINI_API_KEY", "GOOGLE_API_KEY")
    login_hint = "run `gemini` once and sign in with Google"
    lost_session_marks = ("Error resuming session:",)
    retries_itself = True  # API errors and empty replies; stopped past ``retries`` (hopeless)
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
            if event.get("delta"):  # a piece of the message: whole lines are shown
                return Fragment(str(event.get("content", "")))
            return str(event.get("content", "")).strip() or None
        if event.get("type") == "tool_use":
            target = (event.get("parameters") or {}).get("file_path", "")
            return f"{event.get('tool_name', 'tool')} {target}".strip()
        if event.get("type") == "error":
            return f"{event.get('severity', 'error')}: {event.get('message', '')}".strip(": ")
        return None

    def hopeless(self, line: str) -> bool:
        """A retry past the agent's ``retries``, or of a refused key: gemini would go on
        for many minutes, and no setting bounds it."""
        retry = _RETRYING.search(line)
        return retry is not None and (
            int(retry[2]) in (401, 403) or int(retry[1]) > self.config.retries
        )

    def pending_error(self, outcome: ProcessOutcome) -> tuple[ErrorKind, str] | None:
        retries = list(_RETRYING.finditer(outcome.stderr))
        if not retries:
            return None
        last = retries[-1]
        status = int(last[2])
        api = _stderr_error(last[0]) or {}
        detail = _api_detail(status, api.get("status"), api.get("message"))
        detail += f"; gemini was retrying it (attempt {last[1]} failed)"
        return _status_kind(status), detail

    def read_output(self, request: TaskRequest, outcome: ProcessOutcome) -> AgentReply:
        reply = AgentReply(session_id=request.session_id)
        chunks: list[str] = []
        errors: list[str] = []
        pending_edits: dict[str, str] = {}
        changed: dict[str, None] = {}
        result: dict[str, Any] | None = None
        for event in json_values(outcome.stdout):
            kind = event.get("type")
            reply.session_id = event.get("session_id") or reply.session_id
            if kind == "message" and event.get("role") == "assistant":
                chunks.append(str(event.get("content", "")))
            elif kind == "error" and event.get("severity") != "warning":
                errors.append(str(event.get("message") or ""))
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
        pending = self.pending_error(outcome)
        if result is None and outcome.stopped and pending is not None:  # past its retries
            reply.text = "".join(chunks)
            reply.error = self.failure(*pending)
            return reply
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
            error = error if isinstance(error, dict) else {}
            if not error.get("message") and errors:  # the reason was an error event
                error = {**error, "message": errors[-1]}
            reply.error = self._error_object(error, outcome)
        elif outcome.exit_code != 0:
            reply.error = self._exit_error(outcome)
        return reply

    def _error_object(self, error: dict[str, Any], outcome: ProcessOutcome) -> TaskError:
        message = str(error.get("message") or "").strip()
        api = _api_error(message)
        if api is None and message.startswith(_API_ERROR):  # gemini's own words
            message = message[len(_API_ERROR) :].replace("]", "", 1)
        message = " ".join(message.split())
        kind = str(error.get("type") or "")
        detail = message if kind in ("", "unknown", "Error") else f"{kind}: {message}"
        detail = detail.strip(": ") or "it gave no reason"
        if api is None and isinstance(error.get("code"), int) and 400 <= error["code"] < 600:
            api = error["code"], error  # the API's own error object (json output, stderr)
        if api is not None:  # first: the exit code is then the HTTP status modulo 256
            status, body = api
            text = _api_detail(status, body.get("status"), body.get("message") or message)
            return self.failure(_status_kind(status, text), text)
        if outcome.exit_code in _EXIT_MEANINGS:
            meaning_kind, meaning = _EXIT_MEANINGS[outcome.exit_code]
            return self.failure(meaning_kind, f"{meaning} ({detail})")
        if _EMPTY_REPLY in message:
            return self.failure(
                ErrorKind.TRANSIENT,
                "the model returned an empty reply (no text and no tool call), also when "
                "gemini asked it again",
            )
        if "Quota" in kind:
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
            return self.failure(kind, f"{meaning}: {_stderr_detail(outcome.stderr)}".rstrip(": "))
        return self.exit_failure(outcome)


def _api_error(message: str) -> tuple[int, dict[str, Any]] | None:
    """The HTTP status and error object in gemini's ``[API Error: …]`` message, if it holds
    the API's JSON; gemini's own words (a daily quota) carry no status."""
    start = message.find(_API_ERROR)
    if start == -1:
        return None
    try:
        value, _ = json.JSONDecoder().raw_decode(message, start + len(_API_ERROR))
    except ValueError:
        return None
    body = value.get("error") if isinstance(value, dict) else None
    if not isinstance(body, dict) or not isinstance(body.get("code"), int):
        return None
    return body["code"], body


def _api_detail(status: int, name: object, message: object) -> str:
    said = " ".join(str(message or "").split())
    label = f"{status} {name}" if name else str(status)
    return f"the API answered {label}: {said}".rstrip(": ")


def _status_kind(status: int, text: str = "") -> ErrorKind:
    if status in (401, 403):
        return ErrorKind.AUTH
    if status == 429:
        return ErrorKind.RATE_LIMIT
    if status >= 500:
        return ErrorKind.TRANSIENT
    return classify_failure(text)


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


def _stderr_detail(stderr: str) -> str:
    """gemini's last words on stderr (a fatal error is a line or two), without stack frames."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip() and line[:1] != " "]
    return " ".join(lines[-2:])[:300].rstrip("!")


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
