"""What the server knows between requests: settings, each folder's configuration, documents."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from pygls.workspace import Workspace

from agentls.domain.config import AgentlsConfig
from agentls.domain.errors import ConfigError, TaskInputError
from agentls.orchestration.config_loader import load_config
from agentls.orchestration.runtime import Runtime
from agentls.server.convert import uri_to_path
from agentls.server.diagnostics import DiagnosticStore
from agentls.server.proposals import ProposalStore
from agentls.server.settings import EditorSettings


@dataclass
class Session:
    settings: EditorSettings = field(default_factory=EditorSettings)
    diagnostics: DiagnosticStore = field(default_factory=DiagnosticStore)
    proposals: ProposalStore = field(default_factory=ProposalStore)
    client: str = field(default_factory=lambda: f"lsp:{os.getpid()}")
    _configs: dict[Path, AgentlsConfig | ConfigError] = field(default_factory=dict)
    _runtimes: dict[Path, Runtime] = field(default_factory=dict)

    def folder_for(self, workspace: Workspace, uri: str) -> Path:
        """The workspace folder holding ``uri`` (the innermost), else the document's folder."""
        return self.workspace_folder(workspace, uri) or Path(_path(uri)).parent

    def workspace_folder(self, workspace: Workspace, uri: str) -> Path | None:
        """The editor's workspace folder holding ``uri`` (the innermost), or None."""
        document = Path(_path(uri))
        roots = [uri_to_path(folder.uri) for folder in workspace.folders.values()]
        if workspace.root_path:
            roots.append(workspace.root_path)
        candidates = [Path(r) for r in roots if r and document.is_relative_to(r)]
        return max(candidates, key=lambda p: len(p.parts)) if candidates else None

    def config(self, folder: Path) -> AgentlsConfig:
        """The folder's configuration (cached); ``ConfigError`` when its files are invalid."""
        cached = self._configs.get(folder)
        if cached is None:
            try:
                cached = load_config(folder, overrides=self.settings.overrides())
            except ConfigError as error:
                cached = error
            self._configs[folder] = cached
        if isinstance(cached, ConfigError):
            raise cached
        return cached

    def cached_config(self, folder: Path) -> AgentlsConfig | None:
        """The configuration if it is already loaded and valid (no I/O)."""
        cached = self._configs.get(folder)
        return cached if isinstance(cached, AgentlsConfig) else None

    def runtime(self, folder: Path) -> Runtime:
        """The folder's limits, cache and audit log (one per folder: its settings apply)."""
        runtime = self._runtimes.get(folder)
        if runtime is None:
            runtime = self._runtimes[folder] = Runtime.create(self.config(folder), self.client)
        return runtime

    def forget_configs(self) -> None:
        self._configs.clear()
        self._runtimes.clear()


def _path(uri: str) -> str:
    path = uri_to_path(uri)
    if path is None:
        raise TaskInputError(f"{uri} is not a file on disk; agentls works on saved files' paths")
    return path
