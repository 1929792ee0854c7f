"""The editor as the server sees it: what it can do (its capabilities, read once when it
initializes) and the one face everything the server sends it goes through."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from lsprotocol import types
from pygls.capabilities import get_capability
from pygls.lsp.server import LanguageServer
from pygls.workspace import TextDocument, Workspace

from agentls.log import get_logger

log = get_logger("agentls.server")


@dataclass(frozen=True)
class ClientEditSupport:
    """What a ``WorkspaceEdit`` may hold for this client."""

    document_changes: bool = True
    resource_operations: frozenset[str] = frozenset({"create", "delete"})
    change_annotations: bool = False


@dataclass(frozen=True)
class Capabilities:
    """What the client declared at ``initialize``, as the server uses it."""

    edits: ClientEditSupport = field(default_factory=ClientEditSupport)
    show_document: bool = False
    work_done_progress: bool = False
    configuration: bool = False
    """It answers ``workspace/configuration``."""
    configuration_registration: bool = False
    """It takes a dynamic registration for ``workspace/didChangeConfiguration``."""
    lazy_code_action_edits: bool = False
    """It resolves a code action's edit later (``codeAction/resolve`` with ``data``)."""
    code_lens_refresh: bool = False
    """It asks for code lenses again on ``workspace/codeLens/refresh``."""
    related_information: bool = False
    """It shows a diagnostic's ``relatedInformation``."""

    @classmethod
    def of(cls, declared: types.ClientCapabilities) -> Capabilities:
        def has(path: str) -> Any:
            return get_capability(declared, path, None)

        operations = has("workspace.workspace_edit.resource_operations") or []
        resolve = has("text_document.code_action.resolve_support")
        return cls(
            edits=ClientEditSupport(
                document_changes=bool(has("workspace.workspace_edit.document_changes")),
                resource_operations=frozenset(str(op.value) for op in operations),
                change_annotations=has("workspace.workspace_edit.change_annotation_support")
                is not None,
            ),
            show_document=has("window.show_document") is not None,
            work_done_progress=bool(has("window.work_done_progress")),
            configuration=bool(has("workspace.configuration")),
            configuration_registration=bool(
                has("workspace.did_change_configuration.dynamic_registration")
            ),
            lazy_code_action_edits=bool(
                has("text_document.code_action.data_support")
                and resolve is not None
                and "edit" in (resolve.properties or [])
            ),
            code_lens_refresh=bool(has("workspace.code_lens.refresh_support")),
            related_information=bool(has("text_document.publish_diagnostics.related_information")),
        )


class Client:
    """Messages, questions, documents, edits, diagnostics and progress, sent to the editor.
    Requests are shielded: a run cancelled while the editor answers does not break the
    connection's bookkeeping."""

    def __init__(self, server: LanguageServer) -> None:
        self._server = server
        self.capabilities = Capabilities()
        self.name = "unknown"
        """The editor, as it names itself (``clientInfo``)."""

    def initialize(self, params: types.InitializeParams) -> None:
        self.capabilities = Capabilities.of(params.capabilities)
        info = params.client_info
        self.name = f"{info.name} {info.version or ''}".strip() if info else "unknown"

    # -- the documents it sent -----------------------------------------------------------

    @property
    def workspace(self) -> Workspace:
        """Its workspace folders and open documents (pygls keeps them)."""
        return self._server.workspace

    def document(self, uri: str) -> TextDocument:
        return self._server.workspace.get_text_document(uri)

    def documents(self) -> Iterator[TextDocument]:
        yield from list(self._server.workspace.text_documents.values())

    # -- telling and asking --------------------------------------------------------------

    def show(self, kind: types.MessageType, message: str) -> None:
        self._server.window_show_message(types.ShowMessageParams(type=kind, message=message))

    async def ask(
        self, message: str, choices: list[str], kind: types.MessageType = types.MessageType.Info
    ) -> str | None:
        """The choice the user made, or None. Every client answers window/showMessageRequest
        (its capability only describes extras), so one that does not declare it is asked too;
        one that fails to answer has chosen nothing."""
        try:
            answer = await asyncio.shield(
                self._server.window_show_message_request_async(
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
        if not self.capabilities.show_document:
            return
        await asyncio.shield(
            self._server.window_show_document_async(
                types.ShowDocumentParams(uri=uri, take_focus=True)
            )
        )

    async def settings(self, section: str) -> Any | None:
        """The client's settings under ``section`` (None: it cannot or did not say)."""
        if not self.capabilities.configuration:
            return None
        try:
            values = await asyncio.shield(
                self._server.workspace_configuration_async(
                    types.ConfigurationParams(items=[types.ConfigurationItem(section=section)])
                )
            )
        except Exception as error:
            log.warning("workspace/configuration failed", error=str(error))
            return None
        return values[0] if values else None

    async def register_configuration_changes(self) -> None:
        """Ask to be told of settings changes, where the client registers them dynamically."""
        if not self.capabilities.configuration_registration:
            return
        registration = types.Registration(
            id=str(uuid.uuid4()), method=types.WORKSPACE_DID_CHANGE_CONFIGURATION
        )
        try:
            await asyncio.shield(
                self._server.client_register_capability_async(
                    types.RegistrationParams(registrations=[registration])
                )
            )
        except Exception as error:
            log.info("client refused the registration", error=str(error))

    # -- results -------------------------------------------------------------------------

    def publish(self, uri: str, diagnostics: list[types.Diagnostic]) -> None:
        document = self.document(uri)
        self._server.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(
                uri=uri, diagnostics=diagnostics, version=document.version
            )
        )

    async def apply_edit(
        self, edit: types.WorkspaceEdit, label: str
    ) -> types.ApplyWorkspaceEditResult:
        return await asyncio.shield(
            self._server.workspace_apply_edit_async(
                types.ApplyWorkspaceEditParams(edit=edit, label=label)
            )
        )

    def refresh_code_lenses(self) -> None:
        """Ask the editor for code lenses again (the changes under review moved or went)."""
        if self.capabilities.code_lens_refresh:
            self._server.workspace_code_lens_refresh(None)

    # -- progress ------------------------------------------------------------------------

    async def begin_progress(
        self, token: str, begin: types.WorkDoneProgressBegin, on_cancel: Callable[[], None]
    ) -> bool:
        """Start work-done progress under ``token``; whether the client took it.
        ``on_cancel``: the user cancelled it in the editor."""
        progress = self._server.work_done_progress
        try:
            await asyncio.shield(progress.create_async(token))
        except Exception:  # the client refused a token: no progress
            return False

        def cancelled(future: Any) -> None:
            if future.cancelled():
                on_cancel()

        progress.tokens[token].add_done_callback(cancelled)
        progress.begin(token, begin)
        return True

    def report_progress(self, token: str, report: types.WorkDoneProgressReport) -> None:
        self._server.work_done_progress.report(token, report)

    def end_progress(self, token: str, end: types.WorkDoneProgressEnd) -> None:
        self._server.work_done_progress.end(token, end)
