"""agentls as an ACP agent: the protocol's requests, each handed to the module that does it.

The SDK routes a request to the method of the same name; a method agentls does not have
(``session/load``, ``authenticate``, …) is answered "method not found", as the capabilities
declared at ``initialize`` say.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from acp import PROTOCOL_VERSION, RequestError
from acp.interfaces import Client
from acp.schema import (
    AgentCapabilities,
    ClientCapabilities,
    Implementation,
    InitializeResponse,
    NewSessionResponse,
    PromptCapabilities,
    PromptResponse,
    SetSessionConfigOptionResponse,
    SetSessionModeResponse,
)

from agentls import __version__
from agentls.acp_agent.client_files import FileAccess
from agentls.acp_agent.outbox import Outbox
from agentls.acp_agent.prompt_target import ContentBlock
from agentls.acp_agent.session import WORKFLOW_OPTION, AcpSession
from agentls.acp_agent.turn import PromptTurn
from agentls.domain.errors import AgentlsError
from agentls.log import get_logger

log = get_logger("agentls.acp")

INVALID_PARAMS = -32602


class AgentlsAgent:
    def __init__(self) -> None:
        self.client: Client | None = None
        self.access = FileAccess()
        self.sessions: dict[str, AcpSession] = {}

    def on_connect(self, conn: Client) -> None:
        self.client = conn

    async def initialize(
        self,
        protocol_version: int,
        client_capabilities: ClientCapabilities | None = None,
        client_info: Implementation | None = None,
        **kwargs: Any,
    ) -> InitializeResponse:
        self.access = FileAccess.of(client_capabilities)
        log.info(
            "acp client",
            client=client_info.name if client_info else None,
            reads=self.access.read,
            writes=self.access.write,
        )
        return InitializeResponse(
            protocol_version=min(protocol_version, PROTOCOL_VERSION),
            agent_capabilities=AgentCapabilities(
                load_session=False,
                prompt_capabilities=PromptCapabilities(embedded_context=True),
            ),
            agent_info=Implementation(name="agentls", title="agentls", version=__version__),
        )

    async def new_session(self, cwd: str, **kwargs: Any) -> NewSessionResponse:
        folder = Path(cwd)
        if not folder.is_absolute() or not folder.is_dir():
            raise RequestError(INVALID_PARAMS, f"cwd must be an existing absolute folder: {cwd}")
        session = AcpSession.open(uuid.uuid4().hex, folder.resolve())
        self.sessions[session.session_id] = session
        return NewSessionResponse(
            session_id=session.session_id,
            config_options=session.config_options(),
            modes=session.modes(),
        )

    async def set_config_option(
        self, config_id: str, session_id: str, value: str | bool, **kwargs: Any
    ) -> SetSessionConfigOptionResponse:
        session = self._session(session_id)
        try:
            session.choose(config_id, value)
        except AgentlsError as error:
            raise RequestError(INVALID_PARAMS, str(error)) from None
        return SetSessionConfigOptionResponse(config_options=session.config_options())

    async def set_session_mode(
        self, session_id: str, mode_id: str, **kwargs: Any
    ) -> SetSessionModeResponse:
        session = self._session(session_id)
        try:
            session.choose(WORKFLOW_OPTION, mode_id)
        except AgentlsError as error:
            raise RequestError(INVALID_PARAMS, str(error)) from None
        return SetSessionModeResponse()

    async def prompt(
        self, session_id: str, prompt: list[ContentBlock], **kwargs: Any
    ) -> PromptResponse:
        session = self._session(session_id)
        assert self.client is not None  # the connection is made before any request
        outbox = Outbox(self.client, session_id)
        try:
            try:
                turn = session.begin()
            except AgentlsError as error:
                await outbox.say(f"agentls: {error}")
                return PromptResponse(stop_reason="end_turn")
            try:
                answering = PromptTurn(session, self.client, self.access, turn, outbox)
                stop = await answering.answer(prompt)
            except Exception as error:
                log.exception("the prompt failed", session_id=session_id)
                await outbox.say(f"agentls: the run failed unexpectedly ({error}); see the log")
                stop = "cancelled" if turn.cancelled.is_set() else "end_turn"
            finally:
                session.end()
            return PromptResponse(stop_reason=stop)
        finally:
            await outbox.close()

    async def cancel(self, session_id: str, **kwargs: Any) -> None:
        session = self.sessions.get(session_id)
        if session is not None:
            session.cancel()

    def _session(self, session_id: str) -> AcpSession:
        session = self.sessions.get(session_id)
        if session is None:
            raise RequestError(INVALID_PARAMS, f"no session {session_id!r}; open one first")
        return session
