"""Adapters by name: the built-in ones and third-party ones from the ``agentls.adapters``
entry-point group (``name = "package.module:AdapterClass"``)."""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points

from agentls.adapters.acp import AcpAdapter
from agentls.adapters.base import Adapter
from agentls.adapters.claude import ClaudeAdapter
from agentls.adapters.codex import CodexAdapter
from agentls.adapters.command import CommandAdapter
from agentls.adapters.copilot import CopilotAdapter
from agentls.adapters.gemini import GeminiAdapter
from agentls.adapters.ruff import RuffAdapter
from agentls.domain.config import AgentConfig, Settings
from agentls.domain.errors import ConfigError
from agentls.log import get_logger

ENTRY_POINT_GROUP = "agentls.adapters"
BUILTIN: tuple[type[Adapter], ...] = (
    ClaudeAdapter,
    CodexAdapter,
    GeminiAdapter,
    CopilotAdapter,
    CommandAdapter,
    RuffAdapter,
    AcpAdapter,
)

log = get_logger("agentls.registry")


class AdapterRegistry:
    def __init__(self, adapters: dict[str, type[Adapter]]) -> None:
        self._adapters = adapters

    @classmethod
    @cache
    def default(cls) -> AdapterRegistry:
        """Built-ins plus installed plugins (read once per process)."""
        return cls({**{a.name: a for a in BUILTIN}, **_plugins()})

    def names(self) -> list[str]:
        return sorted(self._adapters)

    def find(self, name: str) -> type[Adapter] | None:
        return self._adapters.get(name)

    def create(self, agent_name: str, config: AgentConfig, settings: Settings) -> Adapter:
        adapter = self.find(config.adapter)
        if adapter is None:
            raise ConfigError(
                f"agents.{agent_name}.adapter: unknown adapter {config.adapter!r} "
                f"(known: {', '.join(self.names())})"
            )
        return adapter(agent_name, config, settings)


def _plugins() -> dict[str, type[Adapter]]:
    found: dict[str, type[Adapter]] = {}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = entry.load()
        except Exception as error:  # a broken plugin must not take agentls down
            log.warning("adapter plugin failed to load", entry_point=entry.value, error=str(error))
            continue
        if not (isinstance(loaded, type) and issubclass(loaded, Adapter)):
            log.warning("adapter plugin is not an Adapter subclass", entry_point=entry.value)
            continue
        found[entry.name] = loaded
    return found
