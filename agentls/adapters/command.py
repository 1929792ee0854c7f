"""Any other CLI through an argv template (aider, llm, ollama, ...).

``command``, ``extra_args`` and the argument options may hold ``{prompt}``, ``{prompt_file}``,
``{file}``, ``{workspace}``, ``{model}`` and ``{session}``; each argument is filled once, so
braces in the prompt or a file name stay as they are. Without ``{prompt}`` or ``{prompt_file}``
the prompt goes on stdin. Output is plain text, or JSON / JSON lines with the answer at
``options.text_field``.
"""

from __future__ import annotations

import re
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agentls.adapters.base import (
    Adapter,
    AgentReply,
    Invocation,
    InvocationRefused,
    TaskRequest,
    json_values,
)
from agentls.adapters.runner import ProcessOutcome
from agentls.domain.locations import prompts_dir
from agentls.domain.results import ErrorKind, TaskError
from agentls.state import private_dir

_PLACEHOLDER = re.compile(r"\{(prompt|prompt_file|file|workspace|model|session)\}")


class CommandOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    output: Literal["text", "json", "jsonl"] = "text"
    text_field: str = Field(default="response", min_length=1)
    """Dotted path of the answer in JSON output (e.g. ``message.content``)."""
    session_field: str | None = None
    """Dotted path of a session id in JSON output, for follow-ups."""
    model_args: list[str] = Field(default_factory=lambda: ["--model", "{model}"])
    """Arguments added when the agent has a model; ``{model}`` is replaced."""
    write_args: list[str] = Field(default_factory=list)
    """Arguments added when the agent may edit files (e.g. aider's --yes-always)."""
    read_only_args: list[str] = Field(default_factory=list)
    """Arguments added for read-only tasks (e.g. aider's --chat-mode ask)."""
    resume_args: list[str] = Field(default_factory=list)
    """Arguments added for a follow-up; ``{session}`` is replaced."""


class CommandAdapter(Adapter):
    name = "command"
    default_command = ()
    install_hint = "install the program this agent runs"
    Options = CommandOptions

    def invocation(self, request: TaskRequest) -> Invocation:
        options = self.options
        assert isinstance(options, CommandOptions)
        if not self.config.command:
            raise InvocationRefused(
                TaskError(
                    kind=ErrorKind.AGENT_ERROR,
                    message=f"agent {self.agent_name!r} uses the command adapter but has no "
                    f"command; set agents.{self.agent_name}.command (e.g. [llm, -m, gpt-4o])",
                )
            )
        prompt_file = private_dir(prompts_dir()) / f"{uuid.uuid4().hex}.txt"
        values = {
            "prompt": request.prompt,
            "prompt_file": str(prompt_file),
            "file": _not_a_flag(request.target),
            "workspace": str(request.workspace),
            "model": self.config.model or "",
            "session": request.session_id or "",
        }
        template = list(self.config.extra_args)
        if self.config.model:
            template += options.model_args
        template += options.write_args if request.write else options.read_only_args
        if request.session_id:
            template += options.resume_args
        arguments = [*self.config.command, *template]
        used = {match for arg in arguments for match in _PLACEHOLDER.findall(arg)}
        filled = [_fill(arg, values) for arg in arguments]
        return Invocation(
            command=filled[: len(self.config.command)],
            argv=filled[len(self.config.command) :],
            stdin=None if used & {"prompt", "prompt_file"} else request.prompt,
            files={prompt_file: request.prompt} if "prompt_file" in used else {},
        )

    def command(self) -> list[str]:
        values = {"model": self.config.model or ""}
        return [_fill(arg, values) for arg in super().command()]

    def read_output(self, request: TaskRequest, outcome: ProcessOutcome) -> AgentReply:
        options = self.options
        assert isinstance(options, CommandOptions)
        reply = AgentReply(session_id=request.session_id)
        if outcome.exit_code != 0:
            reply.error = self.exit_failure(outcome)
            return reply
        if options.output == "text":
            reply.text = outcome.stdout.strip()
            return reply
        pieces: list[str] = []
        for value in json_values(outcome.stdout):
            text = _dig(value, options.text_field)
            if text is not None:
                pieces.append(str(text))
            if options.session_field:
                session = _dig(value, options.session_field)
                reply.session_id = str(session) if session is not None else reply.session_id
        if not pieces:
            reply.error = self.failure(
                ErrorKind.BAD_OUTPUT,
                f"no {options.text_field!r} field in its JSON output; set "
                f"agents.{self.agent_name}.options.text_field",
            )
        # JSON lines stream the answer in pieces; a JSON document holds all of it.
        reply.text = "".join(pieces) if options.output == "jsonl" else (pieces or [""])[-1]
        return reply


def _fill(arg: str, values: dict[str, str]) -> str:
    """One pass: text that a value brings in is never filled again. Placeholders without a
    value are left as they are."""
    return _PLACEHOLDER.sub(lambda match: values.get(match[1], match[0]), arg)


def _not_a_flag(path: str) -> str:
    """A file named ``-x`` passed as ``./-x``, so the program cannot read it as an option."""
    return f"./{path}" if path.startswith("-") else path


def _dig(value: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value
