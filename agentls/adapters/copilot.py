"""GitHub Copilot CLI (``copilot``), targeted at 1.0.102 (verified against the real CLI:
tests/realcli).

Headless: ``copilot --output-format json --no-ask-user --no-auto-update -C WORKSPACE`` (the
version that runs is the one installed, which the cache keys on) with the prompt on stdin
(piped, it runs as ``-p PROMPT`` does, with no limit on the prompt's size and without putting
the user's code in the process list). ``-C`` keeps it in the task's workspace: on ``--resume``
it otherwise returns to the folder the session was recorded in.
Read-only: only the tools that read are offered (``--available-tools view,grep,glob``;
``--deny-tool`` alone still offers ``edit``, ``create`` and ``bash`` and refuses them only when
called), and ``--deny-tool write --deny-tool shell`` besides. Write: ``--allow-tool write``
(it lets through shell commands that write by redirection, too).
Output: JSONL session events (no ``session.start``: the session id is in the last record)
ending with a bare ``result`` record whose usage counts premium requests (0 with a provider of
one's own), not tokens. A failed model call ends in a ``session.error`` with ``errorType`` and
the HTTP ``statusCode`` (after the CLI's own retries); a failure before the session starts (no
login, a token it could not check, bad arguments, a session to resume that it does not have)
is only stderr, whose first ``Error:`` line says what went wrong and the rest advises.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
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
from agentls.redaction import redact

READ_ONLY_TOOLS = "view,grep,glob"
_EDIT_TOOLS = {"edit", "create", "write", "str_replace_editor"}
_ERROR_KINDS = {
    "authentication": ErrorKind.AUTH,
    "rate_limit": ErrorKind.RATE_LIMIT,
    "quota": ErrorKind.RATE_LIMIT,
}
_GAVE_UP = "Failed to get response from the AI model"
"""How a ``session.error`` starts when the CLI retried the model call and gave up."""
_ERROR_LINE = re.compile(r"^(?:\w*Error|error):\s*(?P<problem>\S.*)$")
"""The stderr line that says what went wrong: ``Error: ...``, ``error: ...``, ``TypeError: ...``"""
_TOKEN_UNCHECKED = "token found but could not be validated"
_NETWORK = re.compile(r"network|fetch failed|ENOTFOUND|ECONN|EAI_AGAIN|timed? ?out", re.IGNORECASE)


class CopilotAdapter(Adapter):
    name = "copilot"
    default_command = ("copilot",)
    install_hint = "install GitHub Copilot CLI with `npm install -g @github/copilot`"
    package = "@github/copilot"
    verified = ("1.0.102", "1.0.102")
    credential_env: ClassVar[tuple[str, ...]] = ("COPILOT_GITHUB_TOKEN", "GH_TOKEN", "GITHUB_TOKEN")
    login_hint = "run `copilot` once and /login"
    lost_session_marks = ("No session, task, or name matched",)
    retries_itself = True  # 429 and 5xx, five times, with no setting to say how often
    state_paths = (
        StatePath(".copilot", env="COPILOT_HOME"),
        StatePath(None, env="XDG_CONFIG_HOME", suffix="copilot"),
        StatePath(".cache/copilot", env="XDG_CACHE_HOME", suffix="copilot"),
    )

    def invocation(self, request: TaskRequest) -> Invocation:
        argv = ["--output-format", "json", "--no-ask-user", "--no-auto-update"]
        argv += ["-C", str(request.workspace)]
        if self.config.model:
            argv += ["--model", self.config.model]
        if request.write:
            argv += ["--allow-tool", "write"]
        else:
            argv += [f"--available-tools={READ_ONLY_TOOLS}"]
            argv += ["--deny-tool", "write", "--deny-tool", "shell"]
        if request.session_id:
            argv.append(f"--resume={request.session_id}")
        return Invocation(argv=[*argv, *self.config.extra_args], stdin=request.prompt)

    def credentials_present(self, environ: Mapping[str, str]) -> bool | None:
        """A provider of one's own (``COPILOT_PROVIDER_BASE_URL``) needs no GitHub login."""
        if environ.get("COPILOT_PROVIDER_BASE_URL"):
            return True
        return super().credentials_present(environ)

    def describe_line(self, line: str) -> str | None:
        event = json_object(line)
        if event is None:
            return None
        data = event.get("data") or {}
        if event.get("type") == "assistant.message":
            return str(data.get("content", "")).strip() or None
        if event.get("type") == "tool.execution_start":
            target = (data.get("arguments") or {}).get("path", "")
            return f"{data.get('toolName', 'tool')} {target}".strip()
        return None

    def read_output(self, request: TaskRequest, outcome: ProcessOutcome) -> AgentReply:
        reply = AgentReply(session_id=request.session_id)
        messages: list[str] = []
        pending: dict[str, str] = {}
        changed: dict[str, None] = {}
        session_error: dict[str, Any] | None = None
        result: dict[str, Any] | None = None
        for event in json_values(outcome.stdout):
            kind = event.get("type")
            data = event.get("data") or {}
            if kind == "assistant.message" and data.get("content"):
                messages.append(str(data["content"]))
            elif kind == "tool.execution_start" and data.get("toolName") in _EDIT_TOOLS:
                path = (data.get("arguments") or {}).get("path")
                if path:
                    pending[str(data.get("toolCallId"))] = str(path)
            elif kind == "tool.execution_complete":
                path = pending.pop(str(data.get("toolCallId")), None)
                if data.get("success"):
                    edits = [e.get("path") for e in data.get("fileEdits") or [] if e.get("path")]
                    changed.update(dict.fromkeys(str(p) for p in edits or [path] if p))
            elif kind == "session.error":
                session_error = data
            elif kind == "result":
                result = event
        reply.text = messages[-1] if messages else ""
        if result is not None:
            reply.session_id = result.get("sessionId") or reply.session_id
            usage = result.get("usage") or {}
            premium = usage.get("premiumRequests")
            reply.usage = Usage(
                premium_requests=premium if isinstance(premium, int | float) else None
            )
            for path in (usage.get("codeChanges") or {}).get("filesModified") or []:
                changed[str(path)] = None
        reply.changed_files = list(changed)
        exit_code = result.get("exitCode", outcome.exit_code) if result else outcome.exit_code
        if session_error is not None:
            reply.error = self._session_error(session_error)
        elif result is None and outcome.exit_code == 0:
            reply.error = self.failure(ErrorKind.BAD_OUTPUT, "no result record in its output")
        elif exit_code != 0 or outcome.exit_code != 0:
            reply.error = self._exit_error(outcome)
        return reply

    def _session_error(self, data: dict[str, Any]) -> TaskError:
        """A failed model call: the HTTP status says what kind, else the error type."""
        detail = " ".join(str(data.get("message") or data.get("errorType") or "").split())
        status = data.get("statusCode")
        if status in (401, 403):
            kind = ErrorKind.AUTH
        elif status == 429:
            kind = ErrorKind.RATE_LIMIT
        elif isinstance(status, int) and status >= 500:
            kind = ErrorKind.TRANSIENT
        elif isinstance(status, int):
            kind = ErrorKind.AGENT_ERROR
        else:
            kind = _ERROR_KINDS.get(str(data.get("errorType")), classify_failure(detail))
            if kind is ErrorKind.AGENT_ERROR and detail.startswith(_GAVE_UP):
                kind = ErrorKind.TRANSIENT  # it retried what it took for a passing failure
        if kind is ErrorKind.AUTH and "COPILOT_PROVIDER_" in detail:
            return self._own_failure(
                kind,
                f"{self.name} is not authenticated with its model provider: {detail}",
                f"set it in the environment and allow it in agents.{self.agent_name}.env",
            )
        return self.failure(kind, detail)

    def _exit_error(self, outcome: ProcessOutcome) -> TaskError:
        """A run that stopped before its session: stderr's ``Error:`` line says why (the lines
        after it advise); with a stack trace, or no such line, it crashed."""
        lines = [line.strip() for line in outcome.stderr.splitlines() if line.strip()]
        said = next((m for m in map(_ERROR_LINE.match, lines) if m), None)
        if said is None:
            return self.exit_failure(outcome)
        if any(line.startswith("at ") for line in lines):  # an uncaught exception's stack
            return self.exit_failure(outcome, said[0][:300])
        problem = said["problem"][:300]
        if _TOKEN_UNCHECKED in problem:  # each way it tried says why it failed
            why = next((line for line in lines if line.startswith("Failed to ")), "")
            if _NETWORK.search(why):
                return self._own_failure(
                    ErrorKind.TRANSIENT,
                    f"{self.name} could not reach GitHub to check its token: {problem} ({why})",
                    "the token may still be valid: check the network connection and proxy "
                    "(HTTPS_PROXY), then try again",
                )
        kind = classify_failure(problem)
        if kind is ErrorKind.AGENT_ERROR and "token" in problem.lower():
            kind = ErrorKind.AUTH  # a token it does not take (a classic PAT)
        return self.failure(kind, f"exit code {outcome.exit_code}: {problem}")

    def _own_failure(self, kind: ErrorKind, what: str, advice: str) -> TaskError:
        """An error whose words ``failure``'s fixed ones would get wrong."""
        what = redact(what.strip().rstrip("."))
        return TaskError(kind=kind, message=f"{what}. {advice}.")
