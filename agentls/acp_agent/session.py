"""One ACP session: a folder, its configuration, the chosen workflow, the turn running now.

The configuration is loaded once, when the client opens the session, with workspace trust as
the CLI has it: a ``.agentls.yaml`` nobody trusted loses the keys that would run programs, and
the session says so once, in its first turn. A configuration that does not load leaves a
session that says why at every prompt (the client opens a new session once it is fixed).

The workflow is the session's one config option, a ``select`` of the configured workflows;
``review`` is chosen first when there is one, else the first workflow. The same choice is
offered as the session's modes too, for clients that know modes and not config options (ACP
asks a client that knows both to use the config options).
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from pathlib import Path

from acp.schema import (
    SessionConfigOptionBoolean,
    SessionConfigOptionSelect,
    SessionConfigSelectOption,
    SessionMode,
    SessionModeState,
)

from agentls.domain.config import AgentlsConfig
from agentls.domain.errors import AgentlsError, TaskInputError
from agentls.domain.results import Usage
from agentls.orchestration.config_loader import load_config
from agentls.orchestration.runtime import Runtime
from agentls.orchestration.workflow import CancelToken

WORKFLOW_OPTION = "workflow"
PREFERRED_WORKFLOW = "review"


@dataclass
class Turn:
    """The prompt being answered: its cancel token and whether the user cancelled it."""

    token: CancelToken = field(default_factory=CancelToken)
    cancelled: asyncio.Event = field(default_factory=asyncio.Event)

    def cancel(self) -> None:
        self.cancelled.set()
        self.token.cancel()


@dataclass
class AcpSession:
    session_id: str
    folder: Path
    config: AgentlsConfig | None = None
    problem: str | None = None
    """Why there is no configuration (it did not load)."""
    workflow: str | None = None
    untold: str | None = None
    """What trust left out of the workspace file, until a turn has said it."""
    runtime: Runtime | None = None
    turn: Turn | None = None
    usage: Usage = field(default_factory=Usage)
    """What the session's runs used so far (ACP reports a session's cost cumulatively)."""

    @classmethod
    def open(cls, session_id: str, folder: Path) -> AcpSession:
        session = cls(session_id, folder)
        try:
            config = load_config(folder)
        except AgentlsError as error:
            session.problem = str(error)
            return session
        session.config = config
        session.untold = config.screened.message() if config.screened else None
        session.runtime = Runtime.create(config, f"acp:{os.getpid()}")
        names = list(config.workflows)
        if PREFERRED_WORKFLOW in names:
            session.workflow = PREFERRED_WORKFLOW
        elif names:
            session.workflow = names[0]
        else:
            session.problem = "the configuration has no workflows; add one to .agentls.yaml"
        return session

    def config_options(self) -> list[SessionConfigOptionSelect | SessionConfigOptionBoolean]:
        if self.config is None or self.workflow is None:
            return []
        choices = [
            SessionConfigSelectOption(value=name, name=name, description=w.description or None)
            for name, w in self.config.workflows.items()
        ]
        return [
            SessionConfigOptionSelect(
                id=WORKFLOW_OPTION,
                name="Workflow",
                description="The agentls workflow a prompt runs on the files it mentions",
                category="mode",
                type="select",
                current_value=self.workflow,
                options=choices,
            )
        ]

    def modes(self) -> SessionModeState | None:
        if self.config is None or self.workflow is None:
            return None
        available = [
            SessionMode(id=name, name=name, description=w.description or None)
            for name, w in self.config.workflows.items()
        ]
        return SessionModeState(current_mode_id=self.workflow, available_modes=available)

    def choose(self, option: str, value: str | bool) -> None:
        """Set a config option; ``TaskInputError`` names what is known when it is not."""
        if option != WORKFLOW_OPTION:
            raise TaskInputError(f"no config option {option!r}; agentls has {WORKFLOW_OPTION!r}")
        if self.config is None:
            raise TaskInputError(self.problem or "the configuration did not load")
        if not isinstance(value, str) or value not in self.config.workflows:
            known = ", ".join(self.config.workflows)
            raise TaskInputError(f"no workflow named {value!r}; known: {known}")
        self.workflow = value

    def begin(self) -> Turn:
        """A new turn; ``TaskInputError`` while another one runs."""
        if self.turn is not None:
            raise TaskInputError(
                "a workflow is still running in this session; cancel it or wait for it to end"
            )
        self.turn = Turn()
        return self.turn

    def end(self) -> None:
        self.turn = None

    def cancel(self) -> None:
        if self.turn is not None:
            self.turn.cancel()
