"""Which configured agents can run here: binary, version, credentials."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from agentls.adapters.base import Adapter
from agentls.adapters.registry import AdapterRegistry
from agentls.adapters.versions import read_version
from agentls.domain.config import AgentlsConfig


@dataclass
class AgentStatus:
    name: str
    adapter: str
    description: str
    enabled: bool
    command: list[str]
    binary: str | None = None
    version: str | None = None
    credentials: bool | None = None
    """True: a credential variable is set; False: none is; None: the tool needs none."""
    credential_env: tuple[str, ...] = ()
    problems: list[str] = field(default_factory=list)
    """What stops the agent from running."""
    notes: list[str] = field(default_factory=list)
    """What may stop it (credentials the CLI might also find in its own login)."""
    tasks: list[str] = field(default_factory=list)
    """The tasks it does (ruff only reviews), for an editor's agent picker."""

    @property
    def ready(self) -> bool:
        return self.enabled and self.binary is not None and not self.problems


async def agent_statuses(
    config: AgentlsConfig,
    environ: Mapping[str, str] | None = None,
    registry: AdapterRegistry | None = None,
) -> list[AgentStatus]:
    registry = registry or AdapterRegistry.default()
    environ = os.environ if environ is None else environ
    adapters = [
        registry.create(name, agent, config.settings) for name, agent in config.agents.items()
    ]
    return list(await asyncio.gather(*(_status(a, environ) for a in adapters)))


async def _status(adapter: Adapter, environ: Mapping[str, str]) -> AgentStatus:
    config = adapter.config
    status = AgentStatus(
        name=adapter.agent_name,
        adapter=config.adapter,
        description=config.description,
        enabled=config.enabled,
        command=adapter.command(),
        binary=adapter.binary() if adapter.command() else None,
        credentials=adapter.credentials_present(environ),
        credential_env=adapter.credential_env,
        tasks=sorted(adapter.tasks),
    )
    if not status.enabled:
        return status
    if status.binary is None:
        program = status.command[0] if status.command else "(no command)"
        status.problems.append(f"`{program}` is not on PATH: {adapter.install_hint}")
        return status
    status.version = await read_version(status.binary, adapter.environment())
    advice = adapter.version_advice(status.version)
    if advice is not None:
        status.notes.append(advice)
    if status.credentials is False:
        names = " or ".join(adapter.credential_env)
        status.notes.append(
            f"no credentials in the environment: set {names}, or log in with the CLI itself "
            f"({adapter.login_hint or 'see its docs'}); ignore this if you already did"
        )
    set_here = [name for name in adapter.credential_env if name in environ]
    hidden = [name for name in set_here if name not in config.env]
    if hidden and len(hidden) == len(set_here):  # none of the set ones reaches the agent
        status.notes.append(
            f"{', '.join(hidden)} is set but not passed to the agent; add it to "
            f"agents.{adapter.agent_name}.env"
        )
    return status
