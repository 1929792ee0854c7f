"""The small base every adapter implements: how to invoke a CLI and how to read its output.

The shared ``Adapter.run`` does the rest: the process (through the runner), retries for
retryable failures, timeouts, and turning the reply into findings or edits.
"""

from __future__ import annotations

import contextlib
import gc
import json
import re
import shutil
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError
from tenacity import (
    AsyncRetrying,
    RetryError,
    retry_if_exception_type,
    stop_after_attempt,
    stop_before_delay,
    wait_exponential,
    wait_random,
)

from agentls.adapters.confinement import Confinement, StatePath
from agentls.adapters.runner import (
    Conversation,
    LineCallback,
    MissingBinaryError,
    ProcessOutcome,
    ProcessSpec,
    minimal_env,
    run_process,
)
from agentls.adapters.scratch import private_tmpdir, temp_env
from agentls.adapters.versions import cli_version
from agentls.domain.config import AgentConfig, PermissionOverrides, Settings
from agentls.domain.lines import lines as text_lines
from agentls.domain.permissions import Asker
from agentls.domain.results import (
    ErrorKind,
    Finding,
    LineRange,
    PermissionDecision,
    TaskError,
    TaskKind,
    TaskResult,
    TaskStatus,
    Usage,
)
from agentls.redaction import redact
from agentls.redaction import register as register_secrets
from agentls.state import write_private

ALL_TASKS = frozenset(TaskKind)


@dataclass(frozen=True)
class TaskRequest:
    """One task for one agent, with everything the adapter needs to run it."""

    task: TaskKind
    prompt: str
    workspace: Path
    target: str
    """The file the task is about, relative to ``workspace``."""
    file_text: str
    """The file's current text (the editor's buffer when there is one)."""
    selection: LineRange | None = None
    write: bool = False
    """Let the agent edit files in ``workspace`` itself (agentic mode, inside a sandbox)."""
    session_id: str | None = None
    """Continue this session of the agent (follow-ups)."""
    confinement: Confinement | None = None
    """How the agent process is contained (agentic steps; see ``containment``)."""
    more_files: tuple[TargetFile, ...] = ()
    """Further files of the same task, for adapters that take many in one process
    (``Adapter.many_files``); each file's text is the one on disk."""
    overlay: Mapping[str, str] = field(default_factory=dict)
    """Texts the step sees instead of the files on disk (the editor's unsaved buffers, earlier
    steps' changes), for agents that read files through agentls (ACP)."""
    ask: Asker | None = None
    """Who answers an agent's permission request the policy asks about; None: nobody (deny)."""
    permissions: PermissionOverrides | None = None
    """The workflow's changes to the agent's ``permissions``."""

    @property
    def files(self) -> tuple[TargetFile, ...]:
        """Every file of the task, ``target`` first."""
        return (TargetFile(self.target, self.file_text), *self.more_files)


@dataclass(frozen=True)
class TargetFile:
    path: str
    """Relative to the request's workspace."""
    text: str


@dataclass(frozen=True)
class Invocation:
    argv: list[str]
    """Arguments after the adapter's command."""
    stdin: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    command: list[str] | None = None
    """The command for this run when the adapter fills it in (else ``Adapter.command()``)."""
    files: Mapping[Path, str] = field(default_factory=dict)
    """Private files written before the process starts and removed when it ends."""
    conversation: Conversation | None = None
    """Spoken with the process (ACP) instead of a prompt on stdin."""
    writable: tuple[Path, ...] = ()
    """Folders of agentls's the process writes while it runs (an ACP agent's reported
    findings), writable from its sandbox."""

    def full_argv(self, default_command: list[str]) -> list[str]:
        return [*(self.command or default_command), *self.argv]


@dataclass
class AgentReply:
    """What an adapter read from one process run."""

    text: str = ""
    session_id: str | None = None
    usage: Usage = field(default_factory=Usage)
    changed_files: list[str] = field(default_factory=list)
    findings: list[Finding] | None = None
    """Set by adapters that give findings (``Adapter.gives_findings``)."""
    written: dict[str, str] = field(default_factory=dict)
    """Files written through the protocol in a step that is not agentic (ACP)."""
    reported: list[dict[str, Any]] = field(default_factory=list)
    """Findings reported through agentls's ``report_finding`` tool (ACP), unchecked."""
    permissions: list[PermissionDecision] = field(default_factory=list)
    error: TaskError | None = None


@dataclass(frozen=True)
class OptionError:
    loc: tuple[str | int, ...]
    message: str


class NoOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InvocationRefused(Exception):
    """Raised by ``Adapter.invocation`` when the request cannot be expressed for this tool."""

    def __init__(self, error: TaskError) -> None:
        super().__init__(error.message)
        self.error = error


class _RetryableFailure(Exception):
    def __init__(self, reply: AgentReply, outcome: ProcessOutcome) -> None:
        self.reply = reply
        self.outcome = outcome


_AUTH = re.compile(
    r"\b(401|403)\b|unauthori[sz]ed|invalid api key|not logged in|authenticat|/login\b"
    r"|credential|permission denied.*token|api key not valid",
    re.IGNORECASE,
)
_RATE = re.compile(
    r"\b429\b|rate.?limit|usage limit|hit your limit|quota|resource.?exhausted|too many requests",
    re.IGNORECASE,
)
_TRANSIENT = re.compile(
    r"\b(500|502|503|504|529)\b|overloaded|unavailable|internal server error|econnreset"
    r"|connection (reset|refused|error)|stream error|network error|timed? ?out",
    re.IGNORECASE,
)


@contextmanager
def written_files(files: Mapping[Path, str]) -> Iterator[None]:
    """``files`` written 0600 for the duration of the block, then removed whatever happens."""
    try:
        for path, text in files.items():
            write_private(path, text.encode("utf-8"))
        yield
    finally:
        for path in files:
            path.unlink(missing_ok=True)


def classify_failure(message: str) -> ErrorKind:
    """The error kind a tool's failure message points to (auth, rate limit, transient)."""
    if _AUTH.search(message):
        return ErrorKind.AUTH
    if _RATE.search(message):
        return ErrorKind.RATE_LIMIT
    if _TRANSIENT.search(message):
        return ErrorKind.TRANSIENT
    return ErrorKind.AGENT_ERROR


def json_values(text: str) -> Iterator[dict[str, Any]]:
    """The JSON objects in a tool's output: one document (object or array), or JSON lines.

    Lines that are not JSON objects are skipped: tools mix in banners and warnings.
    """
    stripped = text.strip()
    if stripped[:1] in "[{":
        try:
            whole = json.loads(stripped)
        except ValueError:
            pass
        else:
            items = whole if isinstance(whole, list) else [whole]
            yield from (item for item in items if isinstance(item, dict))
            return
    for line in text_lines(text):  # a JSON string may hold a raw \u2028
        value = json_object(line)
        if value is not None:
            yield value


def json_object(line: str) -> dict[str, Any] | None:
    """One JSON-lines record, or None for anything else."""
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


class Adapter(ABC):
    """Drives one CLI. Subclasses say how to call it and how to read what it prints; what a
    reply means for the task is the workflow's to read (``orchestration.replies``)."""

    name: ClassVar[str]
    default_command: ClassVar[tuple[str, ...]]
    install_hint: ClassVar[str]
    credential_env: ClassVar[tuple[str, ...]] = ()
    login_hint: ClassVar[str] = ""
    tasks: ClassVar[frozenset[TaskKind]] = ALL_TASKS
    Options: ClassVar[type[BaseModel]] = NoOptions
    state_paths: ClassVar[tuple[StatePath, ...]] = ()
    """Where the CLI keeps its own state (login, sessions, logs): writable when contained."""
    shows_progress: ClassVar[bool] = True
    """Whether its output has lines worth showing as progress (see ``describe_line``)."""
    package: ClassVar[str | None] = None
    """The npm package the CLI installs from (for upgrade advice)."""
    verified: ClassVar[tuple[str, str] | None] = None
    """The oldest and newest versions of the CLI agentls was verified against (tests/realcli):
    ``agentls doctor`` says when the installed one is outside them, and what to install."""
    retries_itself: ClassVar[bool] = False
    """The CLI retries a failed API call by itself: agentls adds no retries on top."""
    retries_env: ClassVar[str | None] = None
    """The variable that sets how often the CLI retries (``retries_itself``): the agent's
    ``retries`` go there."""
    lost_session_marks: ClassVar[tuple[str, ...]] = ()
    """What the CLI prints when the session to resume does not exist (``lost_session``)."""
    many_files: ClassVar[bool] = False
    """Reviews many files in one process (``TaskRequest.more_files``); other adapters get one
    request per file."""
    uses_a_model: ClassVar[bool] = True
    """Runs a language model, which costs tokens: where the CLI reports none, agentls
    estimates them (see ``orchestration.budget``). False for a linter."""
    gives_findings: ClassVar[bool] = False
    """Its output is findings already (``AgentReply.findings``, as ruff's); an agent's reply is
    text the workflow reads findings or edits from (``orchestration.replies``)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        register_secrets(names=cls.credential_env)  # their values are redacted everywhere

    def __init__(self, agent_name: str, config: AgentConfig, settings: Settings) -> None:
        self.agent_name = agent_name
        self.config = config
        self.settings = settings
        self.options = self.Options.model_validate(config.options)

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[OptionError]:
        try:
            cls.Options.model_validate(options)
        except ValidationError as error:
            return [OptionError(e["loc"], e["msg"]) for e in error.errors(include_url=False)]
        return []

    # -- what subclasses provide ---------------------------------------------------------

    @abstractmethod
    def invocation(self, request: TaskRequest) -> Invocation:
        """argv (after ``command()``), stdin and extra environment for one run."""

    @abstractmethod
    def read_output(self, request: TaskRequest, outcome: ProcessOutcome) -> AgentReply:
        """Read the tool's output (stdout first, then stderr, then the exit code)."""

    def describe_line(self, line: str) -> str | None:
        """A human line for progress from one raw stdout line, or None to show nothing."""
        return line.strip() or None

    def declines(self, target: str) -> str | None:
        """Why this tool does not handle the file ``target`` (workspace-relative), or None.

        Checked before the tool runs: a declined file is never given to it (see
        ``TaskDeclined``). Agents read any text, so the default declines nothing."""
        return None

    async def version(self) -> str:
        """The tool's version (what ``--version`` says, read once per process)."""
        return await cli_version(self.command(), self.environment())

    def starts_processes(self) -> bool:
        """Whether the tool may start processes of its own (agents run shells and servers):
        then it runs under the supervisor, which ends whatever it leaves behind."""
        return True

    def version_advice(self, version: str | None) -> str | None:
        """What to say of the installed version (its ``--version`` line), when it lies
        outside the verified ones; None when it is verified, or says no version."""
        found = _VERSION.search(version or "")
        if self.verified is None or found is None:
            return None
        oldest, newest = self.verified
        installed = _numbers(found[0])
        pinned = f"{self.package}@{newest}" if self.package else newest
        if installed < _numbers(oldest):
            return (
                f"version {found[0]} is older than agentls was verified with ({oldest} to "
                f"{newest}); upgrade it: npm install -g {pinned}"
            )
        if installed > _numbers(newest):
            return (
                f"version {found[0]} is newer than agentls was verified with ({oldest} to "
                f"{newest}); if it misbehaves, install {pinned}, and tell us"
            )
        return None

    def hopeless(self, line: str) -> bool:
        """Whether this output line (stdout or stderr) means the run cannot succeed any more
        (the CLI retrying a key the API refused, or retrying past the agent's ``retries``):
        the process is stopped at once and its output read."""
        return False

    def recognises_hopeless_lines(self) -> bool:
        """Whether ``hopeless`` is this adapter's own: only then is every line read for it."""
        return type(self).hopeless is not Adapter.hopeless

    def pending_error(self, outcome: ProcessOutcome) -> tuple[ErrorKind, str] | None:
        """The API error the CLI was retrying when it was stopped, as its output so far says
        (kind and what happened); a timeout then reports that error, not only the time."""
        return None

    def lost_session(self, outcome: ProcessOutcome) -> bool:
        """Whether the run failed because the session it was to resume is not there."""
        output = outcome.stdout + outcome.stderr
        return any(mark in output for mark in self.lost_session_marks)

    def answer_inputs(self, workspace: Path, targets: Sequence[str]) -> list[Path]:
        """Files besides the prompt whose contents change the answer about ``targets``
        (workspace-relative), e.g. the tool's own configuration: the result cache keys on
        their contents. Agents answer from the prompt, so the default is none."""
        return []

    # -- shared behaviour ----------------------------------------------------------------

    def read(self, request: TaskRequest, outcome: ProcessOutcome) -> AgentReply:
        """``read_output``, with any surprise in the output's shape reported as bad output."""
        try:
            with _collector_paused():
                return self.read_output(request, outcome)
        except (AttributeError, KeyError, TypeError, ValueError, IndexError) as error:
            detail = f"its output has an unexpected shape ({type(error).__name__}: {error})"
            return AgentReply(error=self.failure(ErrorKind.BAD_OUTPUT, detail))

    def progress_line(self, line: str) -> str | None:
        """``describe_line``, never failing: progress is best effort."""
        try:
            return self.describe_line(line)
        except (AttributeError, KeyError, TypeError, ValueError, IndexError):
            return None

    def command(self) -> list[str]:
        return list(self.config.command or self.default_command)

    def state_places(self) -> tuple[StatePath, ...]:
        """Where this agent keeps its state (``state_paths``): writable when contained."""
        return self.state_paths

    def tool_name(self) -> str:
        """What messages call the tool: the adapter's name, which is the CLI's."""
        return self.name

    def binary(self) -> str | None:
        """Full path of the program, or None when it is not installed."""
        program = self.command()[0]
        return shutil.which(program)

    def environment(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The agent process's environment: the minimal one, what it may see, its own."""
        return minimal_env(
            [*self.settings.pass_env, *self.config.env], {**self.config.set_env, **(extra or {})}
        )

    def credentials_present(self, environ: Mapping[str, str]) -> bool | None:
        """Whether one of the credential variables is set; None when the tool needs none."""
        if not self.credential_env:
            return None
        return any(environ.get(name) for name in self.credential_env)

    async def run(self, request: TaskRequest, on_line: LineCallback | None = None) -> TaskResult:
        started = time.monotonic()
        result = TaskResult(agent=self.agent_name, task=request.task)
        if request.task not in self.tasks:
            supported = ", ".join(sorted(self.tasks))
            return result.failed(
                TaskError(
                    kind=ErrorKind.UNSUPPORTED,
                    message=f"agent {self.agent_name!r} ({self.name}) cannot {request.task}; "
                    f"it supports: {supported}. Pick another agent for this task.",
                )
            )
        progress = _progress_filter(self.progress_line, on_line if self.shows_progress else None)
        deadline = started + self.config.timeout_s  # every attempt and wait of the task
        attempts = 0
        try:
            async for attempt in AsyncRetrying(
                retry=retry_if_exception_type(_RetryableFailure),
                stop=stop_after_attempt(1 if self.retries_itself else self.config.retries + 1)
                | stop_before_delay(self.config.timeout_s),
                wait=wait_exponential(
                    multiplier=self.settings.retry_backoff_s,
                    max=self.settings.retry_backoff_max_s,
                )
                + wait_random(0, self.settings.retry_backoff_s / 2),
                reraise=False,
            ):
                with attempt:
                    attempts += 1
                    outcome, reply = await self._attempt(request, progress, deadline)
        except MissingBinaryError as missing:
            return result.failed(self._missing_binary(missing))
        except InvocationRefused as refused:
            return result.failed(refused.error)
        except RetryError as exhausted:
            failure = exhausted.last_attempt.exception()
            assert isinstance(failure, _RetryableFailure)
            outcome, reply = failure.outcome, failure.reply
        if request.session_id and reply.error is not None and self.lost_session(outcome):
            detail = f"it has no session {request.session_id} here ({reply.error.message})"
            reply.error = TaskError(kind=ErrorKind.SESSION_LOST, message=detail)
        return self._result(request, result, outcome, reply, attempts, started)

    async def _attempt(
        self, request: TaskRequest, on_line: LineCallback | None, deadline: float
    ) -> tuple[ProcessOutcome, AgentReply]:
        invocation = self.invocation(request)
        timeout_s = max(deadline - time.monotonic(), 0.0)
        # Each agent its own temp folder; the bundled ruff, which starts no process, needs none.
        private = private_tmpdir() if self.starts_processes() else contextlib.nullcontext(None)
        with private as scratch, written_files(invocation.files):
            outcome = await self._process(request, invocation, scratch, on_line, timeout_s)
        if outcome.timed_out:
            return outcome, AgentReply(error=self._timeout_error(outcome))
        reply = self.read(request, outcome)
        if reply.error is not None and reply.error.kind.retryable:
            raise _RetryableFailure(reply, outcome)
        return outcome, reply

    async def _process(
        self,
        request: TaskRequest,
        invocation: Invocation,
        scratch: Path | None,
        on_line: LineCallback | None,
        timeout_s: float,
    ) -> ProcessOutcome:
        argv = invocation.full_argv(self.command())
        env = self.environment(invocation.env)
        temps = temp_env(scratch) if scratch is not None else {}
        own = {k: v for k, v in temps.items() if k not in self.config.set_env}
        if self.retries_env and self.retries_env not in env:
            own[self.retries_env] = str(self.config.retries)  # the task's budget, in the CLI
        env.update(own)  # what the user set for the agent is theirs to choose
        if request.confinement is not None:
            argv, env = request.confinement.apply(
                argv,
                env,
                self.state_places(),
                [*self.config.sandbox_paths, *map(str, invocation.writable)],
                invocation.files,
            )
        spec = ProcessSpec(
            argv=argv,
            cwd=request.workspace,
            env=env,
            stdin=invocation.stdin,
            timeout_s=timeout_s,
            kill_grace_s=self.settings.kill_grace_s,
            cancel_grace_s=self.settings.cancel_grace_s,
            max_output_bytes=self.settings.max_output_bytes,
            supervised=self.starts_processes() or request.confinement is not None,
            stop_when=self.hopeless if self.recognises_hopeless_lines() else None,
            conversation=invocation.conversation,
        )
        return await run_process(spec, on_line)

    def _result(
        self,
        request: TaskRequest,
        result: TaskResult,
        outcome: ProcessOutcome,
        reply: AgentReply,
        attempts: int,
        started: float,
    ) -> TaskResult:
        error = reply.error
        if error is not None and error.kind.retryable and attempts > 1:
            error = error.model_copy(
                update={"message": f"{error.message} (gave up after {attempts} attempts)"}
            )
        findings = reply.findings or []
        for finding in findings:
            finding.agent = self.agent_name
        return result.model_copy(
            update={
                "status": TaskStatus.OK if error is None else TaskStatus.FAILED,
                "text": reply.text,
                "findings": findings,
                "changed_files": _within(request.workspace, reply.changed_files),
                "session_id": reply.session_id,
                "usage": reply.usage,
                "duration_s": time.monotonic() - started,
                "exit_code": outcome.exit_code,
                "output_truncated": outcome.stdout_truncated,
                "attempts": attempts,
                "error": error,
                "written": reply.written,
                "reported": reply.reported,
                "permissions": reply.permissions,
            }
        )

    # -- error messages ------------------------------------------------------------------

    def _missing_binary(self, missing: MissingBinaryError) -> TaskError:
        return TaskError(
            kind=ErrorKind.MISSING_BINARY,
            message=f"`{missing.program}` {missing.reason}: {self.install_hint}, "
            f"or set agents.{self.agent_name}.command to its path.",
        )

    def _timeout_error(self, outcome: ProcessOutcome) -> TaskError:
        limit = f"{self.config.timeout_s:g} s"
        pending = self.pending_error(outcome)
        if pending is not None:  # the CLI was still retrying an API error
            kind, detail = pending
            return self.failure(kind, f"{detail}, still so when its {limit} ran out")
        return TaskError(
            kind=ErrorKind.TIMEOUT,
            message=f"{self.agent_name} did not finish within {limit} and was stopped; raise "
            f"agents.{self.agent_name}.timeout_s or give it a smaller task.",
        )

    def failure(self, kind: ErrorKind, detail: str) -> TaskError:
        """A typed error whose message ends with what the user can do about it."""
        detail = redact(detail.strip().rstrip(".")) or "no message"
        tool = self.tool_name()
        advice = {
            ErrorKind.AUTH: self._auth_advice(),
            ErrorKind.RATE_LIMIT: "wait for the limit to reset, or use another agent",
            ErrorKind.TRANSIENT: "the service had a temporary problem; try again shortly",
            ErrorKind.BAD_OUTPUT: f"check that `{' '.join(self.command())} --version` is a "
            f"version agentls supports (docs/agents.md)",
            ErrorKind.CRASH: f"run `{self.command()[0]}` by hand to see why, or check its logs",
            ErrorKind.AGENT_ERROR: "see the message above",
        }.get(kind, "")
        prefix = {
            ErrorKind.AUTH: f"{tool} is not authenticated",
            ErrorKind.RATE_LIMIT: f"{tool} is rate-limited",
            ErrorKind.TRANSIENT: f"{tool} hit a server error",
            ErrorKind.BAD_OUTPUT: f"could not read {tool}'s output",
            ErrorKind.CRASH: f"{tool} crashed",
            ErrorKind.AGENT_ERROR: f"{tool} reported an error",
        }.get(kind, tool)
        return TaskError(kind=kind, message=f"{prefix}: {detail}. {advice}.".replace("..", "."))

    def _auth_advice(self) -> str:
        names = " or ".join(self.credential_env)
        parts = [f"set {names}" if names else "", self.login_hint]
        advice = " or ".join(part for part in parts if part)
        return advice + (f" (and allow it in agents.{self.agent_name}.env)" if names else "")

    def exit_failure(self, outcome: ProcessOutcome, detail: str = "") -> TaskError:
        """The error for a run that ended badly with no structured error in its output."""
        detail = detail or last_line(outcome.stderr) or last_line(outcome.stdout)
        if outcome.exit_code < 0:
            return self.failure(
                ErrorKind.CRASH, f"killed by signal {-outcome.exit_code}: {detail or 'no output'}"
            )
        kind = classify_failure(detail)
        if kind is ErrorKind.AGENT_ERROR:
            kind = ErrorKind.CRASH
        return self.failure(kind, f"exit code {outcome.exit_code}: {detail or 'no output'}")


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector held off while an output is read: a large one (ruff's JSON
    of 2,000 findings) makes tens of thousands of small objects that all live until the
    reply is built, and collecting as they pile up walks them over and over for nothing.
    Reference counting still frees them; a cycle waits for the next collection."""
    if not gc.isenabled():  # someone else holds it off: theirs to turn back on
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


_VERSION = re.compile(r"\d+\.\d+\.\d+")


def _numbers(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def _within(workspace: Path, paths: Sequence[str]) -> list[str]:
    """The files an agent says it changed, each once and workspace-relative (as edits name
    them: the CLIs report absolute paths in their working folder, which for an agentic step is
    a sandbox removed afterwards); paths outside the workspace are left out."""
    root = workspace.resolve()
    inside: dict[str, None] = {}
    for path in paths:
        try:
            relative = (root / path).resolve().relative_to(root)
        except (OSError, RuntimeError, ValueError):
            continue
        if relative.parts:
            inside[relative.as_posix()] = None
    return list(inside)


class Fragment(str):
    """What ``describe_line`` gives for a piece of the agent's message as it streams: shown
    once its line is whole (or the next event comes), never a piece at a time."""


def _progress_filter(
    describe: Callable[[str], str | None], on_line: LineCallback | None
) -> LineCallback | None:
    if on_line is None:
        return None
    partial = ""

    def forward(line: str) -> None:
        nonlocal partial
        shown = describe(line)
        if isinstance(shown, Fragment):
            *whole, partial = (partial + shown).split("\n")
            for text in whole:
                if text.strip():
                    on_line(text.strip())
            return
        if partial.strip():
            on_line(partial.strip())
        partial = ""
        if shown:
            on_line(shown)

    return forward
