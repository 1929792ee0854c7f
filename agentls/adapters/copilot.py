"""GitHub Copilot CLI (``copilot``), targeted at 1.0.7x-1.0.8x.

Headless: ``copilot -p PROMPT --output-format json --no-ask-user``. The prompt goes in argv
(``-p`` is the documented headless form), so it is limited to what one argument may hold.
Read-only: ``--deny-tool write --deny-tool shell`` (in ``-p`` mode mutating tools are denied
unless allowed); write: ``--allow-tool write``. Output: JSONL session events ending with a bare
``result`` record whose usage counts premium requests, not tokens.
"""

from __future__ import annotations

from typing import Any, ClassVar

from agentls.adapters.base import (
    Adapter,
    AgentReply,
    Invocation,
    InvocationRefused,
    TaskRequest,
    classify_failure,
    json_object,
    json_values,
)
from agentls.adapters.runner import ProcessOutcome
from agentls.orchestration.containment import StatePath
from agentls.orchestration.results import ErrorKind, Usage

# Linux refuses a single argument over 128 KiB (MAX_ARG_STRLEN); keep a margin.
MAX_PROMPT_BYTES = 120 * 1024
_EDIT_TOOLS = {"edit", "create", "write", "str_replace_editor"}
_ERROR_KINDS = {
    "authentication": ErrorKind.AUTH,
    "rate_limit": ErrorKind.RATE_LIMIT,
    "quota": ErrorKind.RATE_LIMIT,
}


class CopilotAdapter(Adapter):
    name = "copilot"
    default_command = ("copilot",)
    install_hint = "install GitHub Copilot CLI with `npm install -g @github/copilot`"
    credential_env: ClassVar[tuple[str, ...]] = ("COPILOT_GITHUB_TOKEN", "GH_TOKEN", "GITHUB_TOKEN")
    login_hint = "run `copilot` once and /login"
    state_paths = (
        StatePath(".copilot", env="COPILOT_HOME"),
        StatePath(None, env="XDG_CONFIG_HOME", suffix="copilot"),
        StatePath(".cache/copilot", env="XDG_CACHE_HOME", suffix="copilot"),
    )

    def invocation(self, request: TaskRequest) -> Invocation:
        size = len(request.prompt.encode("utf-8"))
        if size > MAX_PROMPT_BYTES:
            raise InvocationRefused(
                self.failure(
                    ErrorKind.AGENT_ERROR,
                    f"the prompt is {size} bytes and copilot takes it as one argument "
                    f"(at most {MAX_PROMPT_BYTES}); select less code or lower "
                    "settings.max_context_bytes",
                )
            )
        argv = ["-p", request.prompt, "--output-format", "json", "--no-ask-user"]
        if self.config.model:
            argv += ["--model", self.config.model]
        if request.write:
            argv += ["--allow-tool", "write"]
        else:
            argv += ["--deny-tool", "write", "--deny-tool", "shell"]
        if request.session_id:
            argv.append(f"--resume={request.session_id}")
        return Invocation(argv=[*argv, *self.config.extra_args])

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
            if kind == "session.start":
                reply.session_id = data.get("sessionId") or reply.session_id
            elif kind == "assistant.message" and data.get("content"):
                messages.append(str(data["content"]))
            elif kind == "tool.execution_start" and data.get("toolName") in _EDIT_TOOLS:
                path = (data.get("arguments") or {}).get("path")
                if path:
                    pending[str(data.get("toolCallId"))] = str(path)
            elif kind == "tool.execution_complete" and data.get("success"):
                path = pending.pop(str(data.get("toolCallId")), None)
                if path:
                    changed[path] = None
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
            detail = str(session_error.get("message") or session_error.get("errorType") or "")
            kind = _ERROR_KINDS.get(str(session_error.get("errorType")), classify_failure(detail))
            reply.error = self.failure(kind, detail)
        elif result is None and outcome.exit_code == 0:
            reply.error = self.failure(ErrorKind.BAD_OUTPUT, "no result record in its output")
        elif exit_code != 0 or outcome.exit_code != 0:
            reply.error = self.exit_failure(outcome)
        return reply
