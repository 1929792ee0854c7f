"""The editor's settings for agentls (initializationOptions, workspace/configuration).

They go on top of the YAML files: ``agents`` overrides agents key by key, the limits override
``settings``. Keys may be written in camelCase (as editors do) or snake_case.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

SECTION = "agentls"


class EditorSettings(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    default_workflow: str | None = None
    """The workflow code actions and commands run when none is named."""
    apply_mode: Literal["apply", "preview", "ask"] = "apply"
    """apply: edits are applied (one undo step); preview: the editor shows them for
    confirmation first; ask: a prompt asks whether to apply them."""
    agents: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Per-agent overrides, e.g. {"claude": {"model": "opus"}}."""
    max_context_bytes: int | None = Field(default=None, ge=1024)
    max_open_documents_bytes: int = Field(default=60_000, ge=0)
    """Text of other open documents a run may see."""

    def overrides(self) -> dict[str, Any]:
        """The part that layers over the YAML configuration."""
        layer: dict[str, Any] = {}
        if self.agents:
            layer["agents"] = self.agents
        settings: dict[str, Any] = {}
        if self.default_workflow:
            settings["default_workflow"] = self.default_workflow
        if self.max_context_bytes:
            settings["max_context_bytes"] = self.max_context_bytes
        if settings:
            layer["settings"] = settings
        return layer


def parse_settings(raw: Any) -> tuple[EditorSettings, str | None]:
    """Settings from the client; a bad one is left at its default, with a message saying what
    is wrong, and the others still apply."""
    if raw is None or raw == [] or raw == {}:  # Neovim sends an empty Lua table as []
        return EditorSettings(), None
    if isinstance(raw, dict) and isinstance(raw.get(SECTION), dict):
        raw = raw[SECTION]
    if not isinstance(raw, dict):
        return EditorSettings(), f"agentls settings ignored: expected an object, got {raw!r:.80}"
    try:
        return EditorSettings.model_validate(raw), None
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()
        )
        bad = {str(e["loc"][0]) for e in error.errors() if e["loc"]}
    kept = {key: value for key, value in raw.items() if key not in bad}
    try:
        settings = EditorSettings.model_validate(kept)
    except ValidationError:  # cannot happen key by key, but never fail a client over settings
        settings = EditorSettings()
    names = ", ".join(sorted(bad))
    return settings, f"agentls setting{'s' if len(bad) > 1 else ''} {names} ignored: {problems}"
