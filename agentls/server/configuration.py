"""Each folder's configuration as the server holds it: loaded when a document opens, reloaded
when a file, a setting or trust changes; its problems and what a workspace file may not set
told once; the editor's settings applied on top."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from lsprotocol import types

from agentls.domain.config import AgentlsConfig, Screened
from agentls.domain.errors import AgentlsError, ConfigError
from agentls.domain.locations import WORKSPACE_FILE
from agentls.log import get_logger
from agentls.orchestration import trust
from agentls.server.client import Client
from agentls.server.session import Session
from agentls.server.settings import EditorSettings, parse_settings

log = get_logger("agentls.server")

TRUST = "Trust"
NOT_NOW = "Not now"


class Configuration:
    def __init__(self, client: Client, settings: Any = None) -> None:
        """``settings``: the editor's, as it sent them (``initializationOptions``, or the
        answer to ``workspace/configuration`` that came before this was needed)."""
        self.session = Session()
        self.client = client
        self._config_errors_shown: set[str] = set()
        self._screened_shown: set[tuple[Path, str]] = set()
        self._background: set[asyncio.Future[None]] = set()
        self.session.settings = self._parsed(settings)

    def _parsed(self, raw: Any) -> EditorSettings:
        settings, problem = parse_settings(raw)
        if problem:
            self.client.show(types.MessageType.Warning, problem)
        log.info("settings applied", apply_mode=settings.apply_mode)
        return settings

    def folder_for(self, uri: str | None) -> Path:
        """The workspace folder of ``uri``; without one, the editor's root folder."""
        if uri:
            return self.session.folder_for(self.client.workspace, uri)
        return Path(self.client.workspace.root_path or ".")

    def config_for(self, uri: str | None) -> AgentlsConfig:
        return self.session.config(self.folder_for(uri))

    def config_if_loaded(self, uri: str) -> AgentlsConfig | None:
        """The document's configuration without I/O (loaded when the document opened)."""
        try:
            folder = self.session.folder_for(self.client.workspace, uri)
        except AgentlsError:  # not a file (an untitled: buffer)
            return None
        return self.session.cached_config(folder)

    def load_config_for(self, uri: str) -> None:
        try:
            config = self.config_for(uri)
            if config.screened is not None:
                self._tell_screened(config.screened)
        except ConfigError as error:
            text = str(error)
            if text not in self._config_errors_shown:
                self._config_errors_shown.add(text)
                self.client.show(types.MessageType.Error, f"agentls: {text}")
        except AgentlsError as error:  # e.g. an untitled: document
            log.info("no configuration for document", uri=uri, error=str(error))

    def _tell_screened(self, screened: Screened) -> None:
        """Say once per file content what a workspace file was not allowed to set; when it is
        only untrusted, offer to trust it."""
        if (screened.file, screened.sha256) in self._screened_shown:
            return
        self._screened_shown.add((screened.file, screened.sha256))
        if not screened.untrusted:
            self.client.show(types.MessageType.Warning, f"agentls: {screened.message()}")
            return
        task = asyncio.ensure_future(self._offer_trust(screened))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _offer_trust(self, screened: Screened) -> None:
        choice = await self.client.ask(
            f"agentls: {screened.message()}", [TRUST, NOT_NOW], types.MessageType.Warning
        )
        if choice != TRUST:
            return
        try:
            self.trust_folder(screened.folder, screened.sha256)
        except AgentlsError as error:
            self.client.show(types.MessageType.Error, f"agentls: {error}")

    def trust_folder(self, folder: Path, expected_sha256: str | None = None) -> str:
        """Trust ``folder``'s workspace file (as it was shown, when ``expected_sha256``), then
        reload every configuration so its agents apply."""
        file = folder / WORKSPACE_FILE
        sha256 = trust.trust(file, expected_sha256)
        self.client.show(types.MessageType.Info, f"agentls: trusted {file}")
        self.reload_configs()
        return sha256

    def stop_asking(self) -> None:
        """Drop the questions still waiting for the user (the session ended)."""
        for task in list(self._background):
            task.cancel()

    def apply_settings(self, raw: Any) -> None:
        self.session.settings = self._parsed(raw)
        self.reload_configs()

    def reload_configs(self) -> None:
        """Read every configuration again (a file, a setting or trust changed), telling its
        problems anew."""
        self.session.forget_configs()
        self._config_errors_shown.clear()
        for document in self.client.documents():
            self.load_config_for(document.uri)
