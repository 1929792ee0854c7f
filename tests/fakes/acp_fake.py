"""A fake ACP agent for agentls's tests, written with the official SDK's agent side, steered by
the same scenario file as the other fakes (README.md): ``reply`` is sent as message chunks;
``asks`` are permission requests made first; ``reads`` are files read through the client;
``edits`` are written through the client (``fs/write_text_file``) after an edit permission
(or by the agent itself with ``writes_itself``), ``rogue_writes`` without asking; ``usage``
is reported (in ``_meta.quota`` with ``meta``). Behaviours: ``ok``, ``auth`` (the prompt is
refused: auth required), ``no_key`` (``session/new`` is, with a message that names no
credential), ``crash`` (a Node stack trace, exit 1, mid-turn), ``garbage`` (not
ACP, then exit), ``hang`` (never answers and ignores SIGTERM and ``session/cancel``),
``slow`` (answers ``cancelled`` on ``session/cancel``, else after ``delay_s``). Sessions are
kept beside the scenario, so a follow-up can ``session/load`` one; each prompt is logged
with what was read and decided.

Run as ``python acp_fake.py`` (it needs the SDK, so the test's Python, not ``python3``)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from acp import (
    PROTOCOL_VERSION,
    RequestError,
    run_agent,
    start_tool_call,
    update_agent_message_text,
    update_tool_call,
    update_user_message_text,
)
from acp.schema import (
    AgentCapabilities,
    Cost,
    FileEditToolCallContent,
    InitializeResponse,
    LoadSessionResponse,
    NewSessionResponse,
    PermissionOption,
    PromptResponse,
    ToolCallLocation,
    ToolCallUpdate,
    Usage,
    UsageUpdate,
)
from fakelib import Scenario, load_scenario, node_crash


def _sessions_file(scenario: Scenario) -> Path | None:
    return None if scenario.path is None else Path(f"{scenario.path}.acp-sessions.json")


def _load_sessions(scenario: Scenario) -> dict[str, list[list[str]]]:
    path = _sessions_file(scenario)
    if path is None or not path.exists():
        return {}
    loaded: dict[str, list[list[str]]] = json.loads(path.read_text())
    return loaded


class FakeAgent:
    def __init__(self) -> None:
        self.client: Any = None
        self.cwd = Path.cwd()
        self.cancelled = asyncio.Event()
        self.mcp_servers: list[Any] = []

    def on_connect(self, conn: Any) -> None:
        self.client = conn

    async def initialize(self, protocol_version: int, **kwargs: Any) -> InitializeResponse:
        return InitializeResponse(
            protocol_version=PROTOCOL_VERSION,
            agent_capabilities=AgentCapabilities(load_session=True),
        )

    async def new_session(
        self, cwd: str, mcp_servers: list[Any] | None = None, **kwargs: Any
    ) -> NewSessionResponse:
        self.cwd = Path(cwd)
        self.mcp_servers = list(mcp_servers or [])
        if load_scenario().behavior == "no_key":  # as gemini --acp without GEMINI_API_KEY
            raise RequestError(-32000, "Gemini API key is missing or not configured.")
        return NewSessionResponse(session_id=load_scenario().session_id or str(uuid.uuid4()))

    async def load_session(self, cwd: str, session_id: str, **kwargs: Any) -> LoadSessionResponse:
        self.cwd = Path(cwd)
        history = _load_sessions(Scenario(path=_scenario_path())).get(session_id)
        if history is None:
            raise RequestError.resource_not_found(session_id)
        for prompt, reply in history:
            await self.client.session_update(session_id, update_user_message_text(prompt))
            await self.client.session_update(session_id, update_agent_message_text(reply))
        return LoadSessionResponse()

    async def cancel(self, session_id: str, **kwargs: Any) -> None:
        self.cancelled.set()

    async def prompt(self, session_id: str, prompt: list[Any], **kwargs: Any) -> PromptResponse:
        scenario = load_scenario()
        text = "".join(block.text for block in prompt if getattr(block, "type", "") == "text")
        record: dict[str, Any] = {"tool": "acp", "prompt": text, "cwd": str(self.cwd),
                                  "session_id": session_id, "pid": os.getpid(),
                                  "env": sorted(os.environ)}  # fmt: skip
        try:
            return await self._act(scenario, session_id, text, record)
        finally:
            _log(record)

    async def _act(
        self, scenario: Scenario, session_id: str, text: str, record: dict[str, Any]
    ) -> PromptResponse:
        behavior = scenario.behavior
        if behavior == "auth":
            raise RequestError.auth_required({"details": "Invalid API key · Please run /login"})
        if behavior == "garbage":
            sys.stdout.write("Welcome!!! <<<not json>>> {{{\n")
            sys.stdout.flush()
            os._exit(0)
        if behavior == "crash":
            node_crash()
        if behavior == "hang":
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            Path(f"{scenario.path}.pid").write_text(str(os.getpid()))
            await asyncio.Event().wait()
        if behavior == "slow":
            Path(f"{scenario.path}.pid").write_text(str(os.getpid()))
            try:
                await asyncio.wait_for(self.cancelled.wait(), scenario.delay_s or 3600)
                return PromptResponse(stop_reason="cancelled")
            except TimeoutError:
                pass
        record["asked"] = [await self._ask(session_id, ask) for ask in scenario.asks]
        record["read"] = {}
        for path in scenario.reads:
            try:
                answer = await self.client.read_text_file(
                    session_id=session_id, path=str(self.cwd / path)
                )
                record["read"][path] = answer.content
            except RequestError as error:
                record["read"][path] = {"error": str(error.data)}
        record["rogue"] = {}
        for path, content in scenario.rogue_writes.items():  # unasked, as a hostile agent
            try:
                await self.client.write_text_file(
                    session_id=session_id, path=str(self.cwd / path), content=content
                )
                record["rogue"][path] = "written"
            except RequestError as error:
                record["rogue"][path] = {"error": str(error.data)}
        await self.client.session_update(
            session_id, start_tool_call("t-read", "Read the file", kind="read", status="pending")
        )
        await self.client.session_update(session_id, update_tool_call("t-read", status="completed"))
        record["mcp"] = [server.name for server in self.mcp_servers]
        # asked first, as claude-agent-acp and gemini --acp ask for any MCP tool
        ask = {"kind": "other", "title": scenario.report_title}
        if scenario.reports and await self._ask(session_id, ask):
            record["reported"] = await asyncio.to_thread(
                _report, self.mcp_servers[0], scenario.reports
            )
        elif scenario.reports:
            record["reported"] = "denied"
        record["written"] = {}
        for path, content in scenario.edits.items():
            allowed = await self._ask(session_id, {"kind": "edit", "title": f"Edit {path}",
                                                   "paths": [path], "diff": content})  # fmt: skip
            outcome: bool | str = allowed
            if allowed and scenario.writes_itself:
                try:
                    (self.cwd / path).write_text(content)
                except OSError as error:  # a read-only sandbox
                    outcome = str(error.strerror)
            elif allowed:
                await self.client.write_text_file(
                    session_id=session_id, path=str(self.cwd / path), content=content
                )
            record["written"][path] = outcome
        for piece in _pieces(scenario.reply):
            await self.client.session_update(session_id, update_agent_message_text(piece))
        usage = scenario.usage
        if "cost" in usage:
            await self.client.session_update(
                session_id,
                UsageUpdate(session_update="usage_update", used=100, size=200000,
                            cost=Cost(amount=usage["cost"], currency="USD")),
            )  # fmt: skip
        _remember(scenario, session_id, text, scenario.reply)
        tokens = None
        if "input" in usage and usage.get("meta"):  # where gemini --acp reports them
            count = {"input_tokens": int(usage["input"]), "output_tokens": int(usage["output"])}
            quota = {"quota": {"token_count": count}}
            return PromptResponse(stop_reason="end_turn", field_meta=quota)
        if "input" in usage:
            tokens = Usage(input_tokens=int(usage["input"]), output_tokens=int(usage["output"]),
                           total_tokens=int(usage["input"] + usage["output"]))  # fmt: skip
        return PromptResponse(stop_reason="end_turn", usage=tokens)

    async def _ask(self, session_id: str, ask: dict[str, Any]) -> bool:
        call_id = f"t-{uuid.uuid4().hex[:8]}"
        paths = [
            str(Path(p) if Path(p).is_absolute() else self.cwd / p) for p in ask.get("paths", [])
        ]
        diff = None
        if "diff" in ask:  # its file named twice, as claude-agent-acp and gemini --acp do
            diff = [FileEditToolCallContent(type="diff", path=paths[0], new_text=ask["diff"])]
        tool_call = ToolCallUpdate(tool_call_id=call_id, kind=ask["kind"], title=ask["title"],
                                   locations=[ToolCallLocation(path=p) for p in paths],
                                   content=diff)  # fmt: skip
        await self.client.session_update(
            session_id, start_tool_call(call_id, ask["title"], kind=ask["kind"], status="pending")
        )
        options = [
            PermissionOption(option_id="allow", name="Allow", kind="allow_once"),
            PermissionOption(option_id="always", name="Always allow", kind="allow_always"),
            PermissionOption(option_id="reject", name="Reject", kind="reject_once"),
        ]
        answer = await self.client.request_permission(
            session_id=session_id, tool_call=tool_call, options=options
        )
        outcome = answer.outcome
        return outcome.outcome == "selected" and outcome.option_id in ("allow", "always")


def _report(server: Any, findings: list[Any]) -> list[str]:
    """Each finding through the MCP server's ``report_finding`` (as an agent calls an MCP
    tool): the tool's answers."""
    process = subprocess.Popen(
        [server.command, *server.args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdin is not None and process.stdout is not None
    answers: list[str] = []

    def call(method: str, params: dict[str, Any], number: int | None) -> Any:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "params": params}
        if number is not None:
            message["id"] = number
        process.stdin.write(json.dumps(message) + "\n")  # type: ignore[union-attr]
        process.stdin.flush()  # type: ignore[union-attr]
        if number is None:
            return None
        return json.loads(process.stdout.readline())  # type: ignore[union-attr]

    call("initialize", {"protocolVersion": "2025-06-18", "capabilities": {}}, 0)
    call("notifications/initialized", {}, None)
    [tool] = call("tools/list", {}, 1)["result"]["tools"]
    for number, finding in enumerate(findings, start=2):
        answer = call("tools/call", {"name": tool["name"], "arguments": finding}, number)
        answers.append(answer["result"]["content"][0]["text"])
    process.stdin.close()
    process.wait(timeout=10)
    return answers


def _pieces(reply: str) -> list[str]:
    middle = max(1, len(reply) // 2)
    return [reply[:middle], reply[middle:]] if len(reply) > 1 else [reply]


def _scenario_path() -> Path | None:
    raw = os.environ.get("AGENTLS_FAKE_SCENARIO")
    return Path(raw) if raw else None


def _remember(scenario: Scenario, session_id: str, prompt: str, reply: str) -> None:
    path = _sessions_file(scenario)
    if path is None:
        return
    sessions = _load_sessions(scenario)
    sessions.setdefault(session_id, []).append([prompt, reply])
    path.write_text(json.dumps(sessions))


def _log(record: dict[str, Any]) -> None:
    target = os.environ.get("AGENTLS_FAKE_LOG")
    if target:
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")


def main() -> None:
    asyncio.run(run_agent(FakeAgent()))


if __name__ == "__main__":
    main()
