"""Where agentls keeps its files: the user's configuration under ``$XDG_CONFIG_HOME/agentls``,
everything it keeps between runs under ``$XDG_STATE_HOME/agentls`` (made private by
``agentls.state``). Each place is named here once."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

WORKSPACE_FILE = ".agentls.yaml"
"""A workspace's own configuration, at its root (untrusted until ``agentls trust``)."""


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "agentls"


def user_config_path() -> Path:
    return config_dir() / "config.yaml"


def state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "agentls"


def audit_log_path(configured: str | None = None) -> Path:
    """``settings.audit.path`` when the user set one, else the default."""
    if configured:
        return Path(configured).expanduser()
    return state_dir() / "audit" / "audit.log"


def audit_key_path() -> Path:
    return state_dir() / "keys" / "audit.key"


def cache_path() -> Path:
    return state_dir() / "cache.sqlite"


def trust_store_path() -> Path:
    return state_dir() / "trusted.json"


def server_token_path() -> Path:
    return state_dir() / "server" / "token"


def versions_path() -> Path:
    """The versions of the agent CLIs, by program file (``adapters.versions``)."""
    return state_dir() / "versions.json"


def prompts_dir() -> Path:
    """Prompt files handed to command agents while they run."""
    return state_dir() / "prompts"


def reported_findings_dir() -> Path:
    """Where an ACP agent's ``report_finding`` calls are written while it runs (one folder per
    task, writable from its sandbox, removed when the task ends)."""
    return state_dir() / "reported"


def workspace_state_dir(workspace: Path) -> Path:
    """A workspace's history, reports and backups."""
    digest = hashlib.sha256(str(workspace.resolve()).encode()).hexdigest()[:16]
    return state_dir() / "workspaces" / digest
