"""The pygls server class: session state and the helpers handlers use to talk to the editor."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from lsprotocol import types
from lsprotocol.types import ResponseError
from pygls.capabilities import get_capability
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol

from agentls import __version__
from agentls.errors import AgentlsError, ConfigError
from agentls.log import get_logger
from agentls.orchestration import trust
from agentls.orchestration.config import AgentlsConfig
from agentls.orchestration.config_loader import WORKSPACE_FILE
from agentls.orchestration.trust import Screened
from agentls.server.runs import RunManager
from agentls.server.session import Session
from agentls.server.settings import SECTION, parse_settings
from agentls.server.workspace_edits import ClientEditSupport

log = get_logger("agentls.server")

TRUST = "Trust"
NOT_NOW = "Not now"


class AgentlsProtocol(LanguageServerProtocol):
    """pygls 2.1.1 answers nothing to a request whose parameters do not match the LSP types
    (the client waits forever); this answers it with InvalidParams instead."""

    def structure_message(self, data: dict[str, Any]) -> Any:
        try:
            return super().structure_message(data)
        except JsonRpcException:
            if not ("id" in data and "method" in data):
                raise
            detail = f"{data['method']}: parameters do not match the LSP types"
            self._send_response(
                data["id"],
                error=ResponseError(code=JsonRpcInvalidParams.CODE, message=detail),
            )
            log.info("request with invalid parameters answered", method=data["method"])
            return SimpleNamespace(jsonrpc="answered")  # handle_message ignores it


class AgentlsServer(LanguageServer):
    def __init__(self) -> None:
        # Full sync: pygls's incremental sync splits lines on \f and \u2028 as well, which
        # corrupts documents that contain them.
        super().__init__(
            "agentls",
            __version__,
            text_document_sync_kind=types.TextDocumentSyncKind.Full,
            protocol_cls=AgentlsProtocol,
        )
        self.session = Session()
        self.runs = RunManager(self)
        self._config_errors_shown: set[str] = set()
        self._screened_shown: set[tuple[Path, str]] = set()
        self._background: set[asyncio.Future[None]] = set()

    # -- helpers for handlers ------------------------------------------------------------

    def show(self, kind: types.MessageType, message: str) -> None:
        self.window_show_message(types.ShowMessageParams(type=kind, message=message))

    def publish(self, uri: str) -> None:
        document = self.workspace.get_text_document(uri)
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(
                uri=uri,
                diagnostics=self.session.diagnostics.diagnostics(uri),
                version=document.version,
            )
        )

    def config_for(self, uri: str | None) -> AgentlsConfig:
        folder = (
            self.session.folder_for(self.workspace, uri)
            if uri
            else Path(self.workspace.root_path or ".")
        )
        return self.session.config(folder)

    def config_if_loaded(self, uri: str) -> AgentlsConfig | None:
        """The document's configuration without I/O (loaded when the document opened)."""
        try:
            folder = self.session.folder_for(self.workspace, uri)
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
                self.show(types.MessageType.Error, f"agentls: {text}")
        except AgentlsError as error:  # e.g. an untitled: document
            log.info("no configuration for document", uri=uri, error=str(error))

    def _tell_screened(self, screened: Screened) -> None:
        """Say once per file content what a workspace file was not allowed to set; when it is
        only untrusted, offer to trust it."""
        if (screened.file, screened.sha256) in self._screened_shown:
            return
        self._screened_shown.add((screened.file, screened.sha256))
        if not screened.untrusted:
            self.show(types.MessageType.Warning, f"agentls: {screened.message()}")
            return
        task = asyncio.ensure_future(self._offer_trust(screened))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _offer_trust(self, screened: Screened) -> None:
        choice = await self.ask(
            f"agentls: {screened.message()}", [TRUST, NOT_NOW], types.MessageType.Warning
        )
        if choice != TRUST:
            return
        try:
            self.trust_folder(screened.folder, screened.sha256)
        except AgentlsError as error:
            self.show(types.MessageType.Error, f"agentls: {error}")

    def trust_folder(self, folder: Path, expected_sha256: str | None = None) -> str:
        """Trust ``folder``'s workspace file (as it was shown, when ``expected_sha256``), then
        reload every configuration so its agents apply."""
        file = folder / WORKSPACE_FILE
        sha256 = trust.trust(file, expected_sha256)
        self.show(types.MessageType.Info, f"agentls: trusted {file}")
        self.session.forget_configs()
        self._config_errors_shown.clear()
        for document in list(self.workspace.text_documents.values()):
            self.load_config_for(document.uri)
        return sha256

    def edit_support(self) -> ClientEditSupport:
        capabilities = self.client_capabilities
        operations = get_capability(
            capabilities, "workspace.workspace_edit.resource_operations", None
        )
        return ClientEditSupport(
            document_changes=bool(
                get_capability(capabilities, "workspace.workspace_edit.document_changes", False)
            ),
            resource_operations=frozenset(str(op.value) for op in operations or []),
            change_annotations=get_capability(
                capabilities, "workspace.workspace_edit.change_annotation_support", None
            )
            is not None,
        )

    async def apply_edit(
        self, edit: types.WorkspaceEdit, label: str
    ) -> types.ApplyWorkspaceEditResult:
        return await asyncio.shield(
            self.workspace_apply_edit_async(types.ApplyWorkspaceEditParams(edit=edit, label=label))
        )

    async def ask(
        self, message: str, choices: list[str], kind: types.MessageType = types.MessageType.Info
    ) -> str | None:
        """The choice the user made, or None. Every client answers window/showMessageRequest
        (its capability only describes extras), so one that does not declare it is asked too;
        one that fails to answer has chosen nothing."""
        try:
            answer = await asyncio.shield(
                self.window_show_message_request_async(
                    types.ShowMessageRequestParams(
                        type=kind,
                        message=message,
                        actions=[types.MessageActionItem(title=c) for c in choices],
                    )
                )
            )
        except Exception as error:
            log.warning("window/showMessageRequest failed", error=str(error))
            return None
        return answer.title if answer is not None else None

    async def show_document(self, uri: str) -> None:
        if get_capability(self.client_capabilities, "window.show_document", None) is None:
            return
        await asyncio.shield(
            self.window_show_document_async(types.ShowDocumentParams(uri=uri, take_focus=True))
        )

    async def pull_settings(self) -> None:
        if not get_capability(self.client_capabilities, "workspace.configuration", False):
            return
        try:
            values = await asyncio.shield(
                self.workspace_configuration_async(
                    types.ConfigurationParams(items=[types.ConfigurationItem(section=SECTION)])
                )
            )
        except Exception as error:
            log.warning("workspace/configuration failed", error=str(error))
            return
        if values:
            self.apply_settings(values[0])

    def apply_settings(self, raw: Any) -> None:
        settings, problem = parse_settings(raw)
        if problem:
            self.show(types.MessageType.Warning, problem)
        self.session.settings = settings
        self.session.forget_configs()
        self._config_errors_shown.clear()
        for document in list(self.workspace.text_documents.values()):
            self.load_config_for(document.uri)
