"""The editor's settings for agentls (initializationOptions, workspace/configuration).

They go on top of the YAML files, and may change only how agentls behaves: the apply mode, the
default workflow, context limits, an agent's model and whether it is enabled. What runs — an
agent's command, environment, adapter, options or arguments — comes only from YAML, because a
client (or a web page, or a repository's editor settings) must never choose a program. Keys may
be written in camelCase (as editors do) or snake_case.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from pydantic.alias_generators import to_camel

from agentls.server.capabilities import SECTION

NOT_SETTINGS = frozenset({"token", "server", "trace"})
"""Keys in the same object that are not server settings: the network token (read by the
connection) and the editor's own ``agentls.server.*`` and ``agentls.trace.*``."""

# A model name is a value, never a flag or a path: no leading dash, no spaces or slashes first.
ModelName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@/+-]{0,127}$")]


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class AgentSettings(_Model):
    model: ModelName | None = None
    enabled: bool | None = None


class EditorSettings(_Model):
    default_workflow: str | None = None
    """The workflow code actions and commands run when none is named."""
    apply_mode: Literal["review", "apply", "preview", "ask"] = "review"
    """review: nothing is applied, each change is accepted or rejected on its own (code
    actions, lenses); apply: edits are applied (one undo step); preview: the editor shows them
    for confirmation first; ask: a prompt asks whether to apply them."""
    agents: dict[str, AgentSettings] = Field(default_factory=dict)
    """Per-agent model and enabled, e.g. {"claude": {"model": "opus"}}."""
    max_context_bytes: int | None = Field(default=None, ge=1024)
    max_open_documents_bytes: int = Field(default=60_000, ge=0)
    """Text of other open documents a run may see."""

    def overrides(self) -> dict[str, Any]:
        """The part that layers over the YAML configuration."""
        layer: dict[str, Any] = {}
        agents = {name: agent.model_dump(exclude_none=True) for name, agent in self.agents.items()}
        if any(agents.values()):
            layer["agents"] = {name: values for name, values in agents.items() if values}
        settings: dict[str, Any] = {}
        if self.default_workflow:
            settings["default_workflow"] = self.default_workflow
        if self.max_context_bytes:
            settings["max_context_bytes"] = self.max_context_bytes
        if settings:
            layer["settings"] = settings
        return layer


def parse_settings(raw: Any) -> tuple[EditorSettings, str | None]:
    """Settings from the client. A rejected or invalid key is left out and named in one
    message, with the reason; every other key still applies."""
    if raw is None or raw == [] or raw == {}:  # Neovim sends an empty Lua table as []
        return EditorSettings(), None
    if isinstance(raw, dict) and isinstance(raw.get(SECTION), dict):
        raw = raw[SECTION]
    if not isinstance(raw, dict):
        return EditorSettings(), f"agentls settings ignored: expected an object, got {raw!r:.80}"
    data = {key: value for key, value in raw.items() if key not in NOT_SETTINGS}
    problems: dict[str, str] = {}
    while True:
        try:
            return EditorSettings.model_validate(data), _message(problems)
        except ValidationError as error:
            removed = False
            for item in error.errors(include_url=False):
                location = [str(part) for part in item["loc"]]
                if _drop(data, location):
                    removed = True
                    problems.setdefault(".".join(location), _reason(item))
            if not removed:  # never fail a client over its settings
                return EditorSettings(), _message(problems) or "agentls settings ignored"


def _drop(data: dict[str, Any], location: list[str]) -> bool:
    """Remove the offending key: for an agent, only its bad key, so its model still applies."""
    if not location or location[0] not in data:
        return False
    if location[0] == "agents" and len(location) >= 3 and isinstance(data["agents"], dict):
        agent = data["agents"].get(location[1])
        if isinstance(agent, dict) and location[2] in agent:
            data["agents"] = {**data["agents"], location[1]: _without(agent, location[2])}
            return True
    del data[location[0]]
    return True


def _without(mapping: dict[str, Any], key: str) -> dict[str, Any]:
    return {name: value for name, value in mapping.items() if name != key}


def _reason(item: Any) -> str:
    if item["type"] == "extra_forbidden":
        return "an editor may not set it (what an agent runs comes only from YAML config)"
    if item["type"] == "string_pattern_mismatch":
        return "must be a plain model name (letters, digits and ._:@/+-, not starting with -)"
    return str(item["msg"])


def _message(problems: dict[str, str]) -> str | None:
    """One line: the rejected keys grouped by reason."""
    if not problems:
        return None
    by_reason: dict[str, list[str]] = {}
    for name, reason in problems.items():
        by_reason.setdefault(reason, []).append(name)
    parts = [f"{', '.join(names)}: {reason}" for reason, names in by_reason.items()]
    plural = "s" if len(problems) > 1 else ""
    return f"agentls setting{plural} {', '.join(problems)} ignored: {'; '.join(parts)}"
