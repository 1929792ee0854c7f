"""Any Agent Client Protocol agent (claude-agent-acp, codex-acp, ``gemini --acp``,
``copilot --acp``, ...), spoken through the official SDK (``acp``).

One task is one conversation with one process: ``initialize``, a session (``session/load`` for
a follow-up where the agent can), one ``session/prompt``. While the agent works, agentls is its
client: updates become progress lines, permission requests meet the policy
(``acp_permissions``), ``fs/read_text_file`` answers with the texts the step sees (the editor's
unsaved buffers first) and ``fs/write_text_file`` never reaches the user's files: in an agentic
step it writes the sandbox, whose diff is the proposal; elsewhere the written text becomes the
step's edits. A cancel sends ``session/cancel`` before the process group is stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import shutil
import sys
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

from pydantic import BaseModel, ConfigDict

from agentls import __version__
from agentls.adapters.acp_permissions import Verdict, judge, place
from agentls.adapters.base import (
    Adapter,
    AgentReply,
    Invocation,
    InvocationRefused,
    TaskRequest,
    classify_failure,
)
from agentls.adapters.claude import ClaudeAdapter
from agentls.adapters.codex import CodexAdapter
from agentls.adapters.confinement import StatePath
from agentls.adapters.copilot import CopilotAdapter
from agentls.adapters.gemini import GeminiAdapter
from agentls.adapters.runner import CONVERSATION_LINE, LineCallback, ProcessOutcome
from agentls.domain import textfile
from agentls.domain.config import PermissionOverrides
from agentls.domain.errors import UnsafePathError
from agentls.domain.lines import lines as text_lines
from agentls.domain.locations import reported_findings_dir
from agentls.domain.paths import agent_path, workspace_relative
from agentls.domain.permissions import PermissionQuestion
from agentls.domain.results import ErrorKind, PermissionDecision, TaskError, TaskKind, Usage
from agentls.log import get_logger
from agentls.state import private_dir

if TYPE_CHECKING:
    from acp import Agent, Client
    from acp.schema import (
        AcpMcpServer,
        HttpMcpServer,
        InitializeResponse,
        McpServerStdio,
        PermissionOption,
        ReadTextFileResponse,
        RequestPermissionResponse,
        SseMcpServer,
        ToolCallUpdate,
        WriteTextFileResponse,
    )

_CLIS: dict[str, type[Adapter]] = {
    "claude": ClaudeAdapter,
    "codex": CodexAdapter,
    "gemini": GeminiAdapter,
    "copilot": CopilotAdapter,
}
log = get_logger("agentls.acp")
FINDINGS_SERVER = Path(__file__).with_name("findings_mcp.py")
REPORT_NOTE = (
    "\n\nagentls's MCP server `agentls` offers the tool `report_finding`: you may report each "
    "finding with it (one call per finding) instead of writing the findings JSON; then end "
    'with {"findings": []} for the rest.'
)
_STRAY_KEPT = 5
"""Lines of stdout that were not ACP, kept for the error message."""
_REPORT_TOOL_TITLES = frozenset(
    {"mcp__agentls__report_finding", "report_finding (agentls MCP Server)"}
)
"""How claude-agent-acp and gemini --acp title a call of ``report_finding`` when they ask
permission for it, as they do for any MCP tool (``kind: other``)."""
_AUTH_REQUIRED = -32000
"""ACP's error code for a request refused until the client authenticates (gemini --acp
refuses ``session/new`` with it when it has no API key)."""
_ERROR_LINE = re.compile(r"^\s*[A-Za-z_.]*(Error|Exception)\b.*:")


class AcpOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state_of: Literal["claude", "codex", "gemini", "copilot"] | None = None
    """The CLI whose state folders (login, sessions) this agent uses: writable when it is
    contained, as that CLI's are (claude-agent-acp: claude)."""


class AcpAdapter(Adapter):
    name = "acp"
    default_command = ()
    install_hint = "install the ACP agent this entry runs (docs/agents.md says how)"
    Options = AcpOptions

    def state_places(self) -> tuple[StatePath, ...]:
        options = self.options
        assert isinstance(options, AcpOptions)
        if options.state_of is None:
            return ()
        return _CLIS[options.state_of].state_paths

    def invocation(self, request: TaskRequest) -> Invocation:
        if not self.config.command:
            raise InvocationRefused(
                TaskError(
                    kind=ErrorKind.AGENT_ERROR,
                    message=f"agent {self.agent_name!r} uses the acp adapter but has no "
                    f"command; set agents.{self.agent_name}.command (e.g. [gemini, --acp])",
                )
            )
        turn = AcpTurn(self, request)
        return Invocation(
            argv=list(self.config.extra_args),
            conversation=turn,
            writable=(turn.reports.parent,) if turn.reports else (),
        )

    def read_output(self, request: TaskRequest, outcome: ProcessOutcome) -> AgentReply:
        turn = outcome.conversation
        assert isinstance(turn, AcpTurn)
        return turn.reply(outcome)

    def credentials_present(self, environ: Mapping[str, str]) -> bool | None:
        options = self.options
        assert isinstance(options, AcpOptions)
        if options.state_of is None:
            return None  # an agent agentls does not know: it may need none
        names = _CLIS[options.state_of].credential_env
        return any(environ.get(name) for name in names) if names else None

    def tool_name(self) -> str:
        return self.agent_name  # any agent speaks ACP: "acp" would name none of them

    def _auth_advice(self) -> str:
        options = self.options
        assert isinstance(options, AcpOptions)
        if options.state_of is None:
            return "log it in as its documentation says"
        cli = _CLIS[options.state_of]
        names = " or ".join(cli.credential_env)
        return f"set {names} (and allow it in agents.{self.agent_name}.env) or {cli.login_hint}"

    def lost_session(self, outcome: ProcessOutcome) -> bool:
        turn = outcome.conversation
        return isinstance(turn, AcpTurn) and turn.session_lost


class AcpTurn:
    """One task as an ACP conversation, and agentls as the agent's client in it."""

    def __init__(self, adapter: AcpAdapter, request: TaskRequest) -> None:
        self.adapter = adapter
        self.request = request
        self.folder = request.workspace.resolve()
        overrides = request.permissions or PermissionOverrides()
        self.policy = overrides.over(adapter.config.permissions)
        self.session_id: str | None = None
        self.session_lost = False
        self.stop_reason: str | None = None
        self.refused: str | None = None
        """The agent answered a request with an error (not logged in, say): its message."""
        self.refused_code: int | None = None
        self.said: list[str] = []
        self.usage = Usage()
        self.written: dict[str, str] = {}
        self.decisions: list[PermissionDecision] = []
        self.stray: list[str] = []
        self._tools: dict[str, tuple[str, str]] = {}
        self._replaying = False
        self._partial = ""
        self._on_line: LineCallback | None = None
        self._connection: Agent | None = None
        self._over = asyncio.Event()
        self.reported: list[dict[str, Any]] = []
        self.reports: Path | None = None
        """Where the ``report_finding`` tool writes (reviews only)."""
        if request.task is TaskKind.REVIEW:  # made when the talk begins (or by the sandbox)
            self.reports = reported_findings_dir() / uuid.uuid4().hex / "findings.jsonl"

    # -- the conversation (runner.Conversation) ------------------------------------------

    async def talk(
        self,
        stdin: asyncio.StreamWriter,
        stdout: asyncio.StreamReader,
        on_line: LineCallback | None,
    ) -> None:
        from acp import PROTOCOL_VERSION, RequestError, connect_to_agent, text_block
        from acp.schema import ClientCapabilities, FileSystemCapabilities, Implementation

        self._on_line = on_line
        if self.reports is not None:
            try:
                private_dir(self.reports.parent)
                self.reports.touch(mode=0o600)
            except OSError as error:  # the review goes on; findings come in the reply
                log.warning("no findings tool for this review", error=str(error))
                self.reports = None
        messages = asyncio.StreamReader(limit=CONVERSATION_LINE)
        sieve = asyncio.ensure_future(self._sieve(stdout, messages))
        # Only what agentls offers is implemented: the SDK answers the rest "method not found".
        connection = connect_to_agent(cast("Client", self), stdin, messages)
        self._connection = connection
        try:
            started = await connection.initialize(
                protocol_version=PROTOCOL_VERSION,
                client_capabilities=ClientCapabilities(
                    fs=FileSystemCapabilities(read_text_file=True, write_text_file=True),
                    terminal=False,
                ),
                client_info=Implementation(name="agentls", version=__version__),
            )
            self.session_id = await self._session(connection, started)
            if self.session_id is None:
                return
            prompt = self.request.prompt + (REPORT_NOTE if self.reports else "")
            answer = await connection.prompt(
                session_id=self.session_id, prompt=[text_block(prompt)]
            )
            self.stop_reason = answer.stop_reason
            if answer.usage is not None:
                self.usage.input_tokens = answer.usage.input_tokens
                self.usage.output_tokens = answer.usage.output_tokens
            elif (tokens := _quota_tokens(answer.field_meta)) is not None:
                self.usage.input_tokens, self.usage.output_tokens = tokens
        except RequestError as error:
            self.refused, self.refused_code = _request_error(error), error.code
        except ConnectionError:
            pass  # the agent's output ended: ``reply`` reads why from how it exited
        finally:
            self._flush()
            self._collect_reports()
            self._over.set()
            sieve.cancel()
            with contextlib.suppress(Exception):
                await connection.close()

    async def cancel(self) -> None:
        if self._connection is not None and self.session_id is not None:
            await self._connection.cancel(session_id=self.session_id)
            await self._over.wait()

    def _mcp_servers(self) -> list[HttpMcpServer | SseMcpServer | AcpMcpServer | McpServerStdio]:
        from acp.schema import McpServerStdio

        if self.reports is None:
            return []
        args = ["-I", str(FINDINGS_SERVER), str(self.reports)]
        return [McpServerStdio(name="agentls", command=sys.executable, args=args, env=[])]

    def _collect_reports(self) -> None:
        """Read what ``report_finding`` wrote, then remove its folder."""
        if self.reports is None:
            return
        try:
            for line in self.reports.read_text(encoding="utf-8").splitlines():
                with contextlib.suppress(ValueError):
                    finding = json.loads(line)
                    if isinstance(finding, dict):
                        self.reported.append(finding)
        except OSError:
            pass
        shutil.rmtree(self.reports.parent, ignore_errors=True)

    async def _session(self, connection: Agent, started: InitializeResponse) -> str | None:
        cwd = str(self.folder)
        wanted = self.request.session_id
        servers = self._mcp_servers()
        if wanted is None:
            return (await connection.new_session(cwd=cwd, mcp_servers=servers)).session_id
        if not started.agent_capabilities or not started.agent_capabilities.load_session:
            self.session_lost = True
            return None
        self._replaying = True  # the agent replays the session's history as updates
        try:
            await connection.load_session(cwd=cwd, session_id=wanted, mcp_servers=servers)
        except Exception:
            self.session_lost = True
            return None
        finally:
            self._replaying = False
        return wanted

    async def _sieve(self, stdout: asyncio.StreamReader, messages: asyncio.StreamReader) -> None:
        """Only JSON-RPC messages reach the SDK; any other line is kept for the error."""
        try:
            while line := await stdout.readline():
                stripped = line.strip()
                if not stripped:
                    continue
                try:
                    message = json.loads(stripped)
                except ValueError:
                    message = None
                if isinstance(message, dict) and message.get("jsonrpc") == "2.0":
                    messages.feed_data(stripped + b"\n")
                elif len(self.stray) < _STRAY_KEPT:
                    self.stray.append(stripped.decode("utf-8", "replace")[:200])
        except (ValueError, asyncio.LimitOverrunError):
            self.stray.append("a line longer than agentls reads")
        finally:
            messages.feed_eof()

    # -- what the agent asks of its client (acp.Client) ----------------------------------

    async def session_update(self, session_id: str, update: Any, **kwargs: Any) -> None:
        if self._replaying:
            return
        kind = update.session_update
        if kind == "agent_message_chunk":
            if update.content.type == "text":
                self.said.append(update.content.text)
                self._say_text(update.content.text)
        elif kind == "tool_call":
            self._tools[update.tool_call_id] = (update.kind or "other", update.title)
            self._say(f"{update.kind or 'tool'}: {update.title}")
        elif kind == "tool_call_update":
            known_kind, known_title = self._tools.get(update.tool_call_id, ("other", "a tool"))
            title = update.title or known_title
            self._tools[update.tool_call_id] = (update.kind or known_kind, title)
            if update.status in ("completed", "failed"):
                self._say(f"{update.status}: {title}")
        elif kind == "plan":
            steps = "; ".join(f"{e.content} ({e.status.replace('_', ' ')})" for e in update.entries)
            self._say(f"plan: {steps}")
        elif kind == "usage_update" and update.cost is not None and update.cost.currency == "USD":
            self.usage.cost_usd = update.cost.amount

    async def request_permission(
        self,
        session_id: str,
        tool_call: ToolCallUpdate,
        options: list[PermissionOption],
        **kwargs: Any,
    ) -> RequestPermissionResponse:
        from acp.schema import AllowedOutcome, DeniedOutcome, RequestPermissionResponse

        known_kind, known_title = self._tools.get(tool_call.tool_call_id, ("other", "a tool"))
        kind = tool_call.kind or known_kind
        title = tool_call.title or known_title
        paths = [location.path for location in tool_call.locations or []]
        paths += [c.path for c in tool_call.content or [] if c.type == "diff"]
        where = place(self.folder, paths)
        sandboxed = self.request.write
        if self.reports is not None and kind == "other" and title in _REPORT_TOOL_TITLES:
            verdict = Verdict("allow", "agentls's own report_finding tool")
        else:
            verdict = judge(
                self.policy,
                kind,
                where,
                self.folder,
                sandboxed,
                self.adapter.settings.protected_paths,
                read_only=_kept_read_only(self.request),
            )
        if verdict.decision == "ask" and self.request.ask is not None:
            question = PermissionQuestion(
                agent=self.adapter.agent_name,
                kind=kind,
                title=title,
                paths=(*where.inside, *where.outside),
                preview=_preview(tool_call),
                reason=verdict.reason,
            )
            allowed, by = await self.request.ask(question), "user"
        elif verdict.decision == "ask":
            allowed, by = False, "nobody"
        else:
            allowed, by = verdict.decision == "allow", "policy"
        reason = verdict.reason if by != "nobody" else f"{verdict.reason}, and no one to ask"
        self.decisions.append(
            PermissionDecision(
                kind=kind,
                title=title,
                paths=[*where.inside, *where.outside],
                allowed=allowed,
                by=by,  # type: ignore[arg-type]
                reason=reason,
            )
        )
        self._say(f"{'allowed' if allowed else 'denied'} {kind}: {title} ({reason})")
        wanted = ("allow_once", "allow_always") if allowed else ("reject_once", "reject_always")
        chosen = next((o for o in options if o.kind == wanted[0]), None) or next(
            (o for o in options if o.kind == wanted[1]), None
        )
        if chosen is None:
            return RequestPermissionResponse(outcome=DeniedOutcome(outcome="cancelled"))
        return RequestPermissionResponse(
            outcome=AllowedOutcome(outcome="selected", option_id=chosen.option_id)
        )

    async def read_text_file(
        self,
        session_id: str,
        path: str,
        line: int | None = None,
        limit: int | None = None,
        **kwargs: Any,
    ) -> ReadTextFileResponse:
        from acp import RequestError
        from acp.schema import ReadTextFileResponse

        try:
            relative = workspace_relative(self.folder, path)
        except UnsafePathError as error:
            raise RequestError.invalid_params({"path": path, "reason": str(error)}) from None
        text = self._text(relative)
        if text is None:
            raise RequestError.resource_not_found(path)
        if line is not None or limit is not None:
            first = max((line or 1) - 1, 0)
            kept = text_lines(text, keepends=True)[first:]
            text = "".join(kept if limit is None else kept[:limit])
        return ReadTextFileResponse(content=text)

    async def write_text_file(
        self, session_id: str, path: str, content: str, **kwargs: Any
    ) -> WriteTextFileResponse:
        from acp import RequestError
        from acp.schema import WriteTextFileResponse

        try:
            relative = agent_path(self.folder, path, self.adapter.settings.protected_paths)
        except UnsafePathError as error:
            raise RequestError.invalid_params({"path": path, "reason": str(error)}) from None
        if self.request.write:  # an agentic step: the sandbox is the agent's to write
            target = self.folder / relative
            try:
                await asyncio.to_thread(_write, target, relative, content)
            except (OSError, textfile.TextFileError) as error:
                raise RequestError.internal_error({"path": path, "reason": str(error)}) from None
        else:
            self.written[relative] = content
        self._say(f"wrote {relative}")
        return WriteTextFileResponse()

    # -- the reply ------------------------------------------------------------------------

    def reply(self, outcome: ProcessOutcome) -> AgentReply:
        reply = AgentReply(
            text="".join(self.said),
            session_id=self.session_id,
            usage=self.usage,
            written=dict(self.written),
            permissions=list(self.decisions),
            reported=list(self.reported),
        )
        adapter = self.adapter
        if self.session_lost:
            reply.error = adapter.failure(
                ErrorKind.AGENT_ERROR, f"it cannot load session {self.request.session_id}"
            )
        elif self.refused is not None:
            auth = self.refused_code == _AUTH_REQUIRED
            kind = ErrorKind.AUTH if auth else classify_failure(self.refused)
            reply.error = adapter.failure(kind, self.refused)
        elif self.stop_reason is None:
            if self.stray:
                detail = f"it wrote something that is not ACP: {self.stray[0]!r}"
                reply.error = adapter.failure(ErrorKind.BAD_OUTPUT, detail)
            else:
                reply.error = adapter.exit_failure(outcome, _error_line(outcome.stderr))
        elif self.stop_reason == "refusal":
            reply.error = adapter.failure(ErrorKind.AGENT_ERROR, "it refused the task")
        elif self.stop_reason == "cancelled":
            reply.error = adapter.failure(ErrorKind.AGENT_ERROR, "it cancelled its turn")
        return reply

    def _text(self, relative: str) -> str | None:
        if relative in self.written:
            return self.written[relative]
        if relative in self.request.overlay:
            return self.request.overlay[relative]
        for file in self.request.files:
            if file.path == relative:
                return file.text
        return textfile.text_or_none(self.folder / relative, relative)

    def _say(self, line: str) -> None:
        self._flush()
        if self._on_line is not None:
            self._on_line(line)

    def _say_text(self, chunk: str) -> None:
        """The agent's message, a line at a time (it arrives in fragments)."""
        *done, self._partial = (self._partial + chunk).split("\n")
        if self._on_line is not None:
            for line in done:
                if line.strip():
                    self._on_line(line)

    def _flush(self) -> None:
        partial, self._partial = self._partial, ""
        if partial.strip() and self._on_line is not None:
            self._on_line(partial)


def _request_error(error: Exception) -> str:
    message = str(error)
    data = getattr(error, "data", None)
    if isinstance(data, dict) and isinstance(data.get("details"), str):
        message = f"{message}: {data['details']}"
    return message


def _kept_read_only(request: TaskRequest) -> bool:
    """Whether bubblewrap keeps the agent from writing the step's folder (``read_only``)."""
    confinement = request.confinement
    return confinement is not None and confinement.mode == "os" and not confinement.writable


def _quota_tokens(meta: dict[str, Any] | None) -> tuple[int, int] | None:
    """The turn's tokens where ``gemini --acp`` reports them instead of ``usage``: the
    prompt response's ``_meta.quota.token_count``."""
    quota = (meta or {}).get("quota")
    count = quota.get("token_count") if isinstance(quota, dict) else None
    if not isinstance(count, dict):
        return None
    inputs, outputs = count.get("input_tokens"), count.get("output_tokens")
    if isinstance(inputs, int) and isinstance(outputs, int) and min(inputs, outputs) >= 0:
        return inputs, outputs
    return None


def _error_line(stderr: str) -> str:
    """The line of a stack trace that says what went wrong (``TypeError: ...``), if any."""
    found = [line.strip() for line in stderr.splitlines() if _ERROR_LINE.match(line)]
    return found[-1][:300] if found else ""


def _preview(tool_call: ToolCallUpdate) -> str:
    """What the tool call would do, for the user asked: its diffs, or its raw input."""
    parts: list[str] = []
    for content in tool_call.content or []:
        if content.type == "diff":
            parts.append(f"{content.path}:\n{content.new_text}")
    if not parts and tool_call.raw_input is not None:
        parts.append(json.dumps(tool_call.raw_input, ensure_ascii=False)[:2000])
    return "\n".join(parts)


def _write(target: Path, name: str, content: str) -> None:
    existing = textfile.read(target, name) if target.is_file() else None
    form = existing or textfile.new_file(name)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(form.encode(content.replace("\r\n", "\n")))
