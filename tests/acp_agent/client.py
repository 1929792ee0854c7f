"""The client side of the ACP tests: ``agentls acp`` as a real process, driven by the SDK's
client connection, and a client that records what it is sent and answers as an editor would."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from acp import PROTOCOL_VERSION, RequestError, spawn_agent_process
from acp.client.connection import ClientSideConnection
from acp.schema import (
    AgentMessageChunk,
    AllowedOutcome,
    ClientCapabilities,
    DeniedOutcome,
    FileSystemCapabilities,
    NewSessionResponse,
    PermissionOption,
    ReadTextFileResponse,
    RequestPermissionResponse,
    TextContentBlock,
    ToolCallProgress,
    ToolCallStart,
    ToolCallUpdate,
    WriteTextFileResponse,
)

WAIT_S = 30.0
"""How long a wait for something the agent sends may take before the test fails (a deadline,
never a pause: every wait ends as soon as the thing arrives)."""


@dataclass
class Asked:
    tool_call: ToolCallUpdate
    options: list[PermissionOption]


@dataclass
class RecordingClient:
    """An editor's side of ACP: records every update, read, write and permission request.

    ``answer`` is the option it picks when asked to apply (``apply``, ``discard``), or
    ``cancelled`` to answer as a client whose turn was cancelled, or ``never`` to keep the
    question open until the turn is cancelled. ``buffers`` are unsaved texts by absolute path.
    """

    answer: str = "apply"
    buffers: dict[str, str] = field(default_factory=dict)
    while_asked: Callable[[], None] | None = None
    """What the user does while the question is open (types in a buffer, say)."""
    updates: list[Any] = field(default_factory=list)
    reads: list[str] = field(default_factory=list)
    writes: dict[str, str] = field(default_factory=dict)
    asked: list[Asked] = field(default_factory=list)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _cancelled: asyncio.Event = field(default_factory=asyncio.Event)

    async def session_update(self, session_id: str, update: Any, **kwargs: Any) -> None:
        self.updates.append(update)
        await self._touch()

    async def request_permission(
        self,
        session_id: str,
        tool_call: ToolCallUpdate,
        options: list[PermissionOption],
        **kwargs: Any,
    ) -> RequestPermissionResponse:
        self.asked.append(Asked(tool_call, options))
        await self._touch()
        if self.while_asked is not None:
            self.while_asked()
        if self.answer == "never":
            await self._cancelled.wait()  # as ACP asks of a client when its turn is cancelled
        if self.answer in ("cancelled", "never"):
            return RequestPermissionResponse(outcome=DeniedOutcome(outcome="cancelled"))
        return RequestPermissionResponse(
            outcome=AllowedOutcome(outcome="selected", option_id=self.answer)
        )

    async def write_text_file(
        self, session_id: str, path: str, content: str, **kwargs: Any
    ) -> WriteTextFileResponse:
        self.writes[path] = content  # an editor changes its buffer; the disk stays as it is
        await self._touch()
        return WriteTextFileResponse()

    async def read_text_file(
        self,
        session_id: str,
        path: str,
        line: int | None = None,
        limit: int | None = None,
        **kwargs: Any,
    ) -> ReadTextFileResponse:
        self.reads.append(path)
        if path in self.buffers:
            return ReadTextFileResponse(content=self.buffers[path])
        try:
            return ReadTextFileResponse(content=Path(path).read_text())
        except OSError:
            raise RequestError.resource_not_found(path) from None

    def cancelled(self) -> None:
        self._cancelled.set()

    async def until(self, condition: Callable[[], bool], what: str) -> None:
        """Wait for ``condition`` to hold, checked at each thing the agent sends."""
        try:
            async with asyncio.timeout(WAIT_S), self._changed:
                while not condition():
                    await self._changed.wait()
        except TimeoutError:
            raise AssertionError(f"{what}: not within {WAIT_S} s") from None

    async def _touch(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # -- reading what was sent -------------------------------------------------------------

    def text(self) -> str:
        """Every agent message, in order."""
        return "".join(
            u.content.text
            for u in self.updates
            if isinstance(u, AgentMessageChunk) and isinstance(u.content, TextContentBlock)
        )

    def calls(self) -> dict[str, list[ToolCallStart | ToolCallProgress]]:
        """Each tool call's start and updates, by id, in order."""
        found: dict[str, list[ToolCallStart | ToolCallProgress]] = {}
        for update in self.updates:
            if isinstance(update, ToolCallStart | ToolCallProgress):
                found.setdefault(update.tool_call_id, []).append(update)
        return found

    def titled(self, title: str) -> list[ToolCallStart | ToolCallProgress]:
        """The call whose start has ``title``."""
        for sent in self.calls().values():
            if isinstance(sent[0], ToolCallStart) and sent[0].title == title:
                return sent
        raise AssertionError(f"no tool call titled {title!r} in {self.titles()}")

    def titles(self) -> list[str]:
        return [s[0].title for s in self.calls().values() if isinstance(s[0], ToolCallStart)]


def statuses(sent: list[ToolCallStart | ToolCallProgress]) -> list[str]:
    return [update.status for update in sent if update.status is not None]


@dataclass
class Connected:
    conn: ClientSideConnection
    session: NewSessionResponse
    process: Any

    @property
    def session_id(self) -> str:
        return self.session.session_id


@asynccontextmanager
async def acp_agent(
    client: RecordingClient,
    folder: Path,
    log: Path,
    reads: bool = True,
    writes: bool = True,
) -> AsyncIterator[Connected]:
    """``agentls acp`` started as a client would, initialized (offering ``fs`` as ``reads``
    and ``writes`` say) with a session on ``folder``; its stderr goes to ``log``."""
    with log.open("w") as stderr:
        async with spawn_agent_process(
            client,
            sys.executable,
            "-m",
            "agentls",
            "acp",
            env=dict(os.environ),
            cwd=folder,
            transport_kwargs={"stderr": stderr},
        ) as (conn, process):
            capabilities = ClientCapabilities(
                fs=FileSystemCapabilities(read_text_file=reads, write_text_file=writes)
            )
            await conn.initialize(
                protocol_version=PROTOCOL_VERSION, client_capabilities=capabilities
            )
            session = await conn.new_session(cwd=str(folder), mcp_servers=[])
            yield Connected(conn, session, process)
