"""The agentls language server: features registered on the pygls server.

Handlers translate LSP to orchestration calls and back; nothing here runs agents itself.
"""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types

from agentls.log import get_logger
from agentls.metrics import timed_lsp
from agentls.orchestration.config_loader import WORKSPACE_FILE
from agentls.orchestration.sandbox import prune_leftovers_later
from agentls.server import code_actions, commands
from agentls.server.convert import uri_to_path
from agentls.server.delivery import publish_diagnostics
from agentls.server.language_server import AgentlsServer
from agentls.server.settings import SECTION, parse_settings

log = get_logger("agentls.server")


def create_server() -> AgentlsServer:
    server = AgentlsServer()

    @server.feature(types.INITIALIZE)
    def initialize(ls: AgentlsServer, params: types.InitializeParams) -> None:
        ls.client.initialize(params.capabilities)
        settings, problem = parse_settings(params.initialization_options)
        ls.session.settings = settings
        if problem:
            ls.client.show(types.MessageType.Warning, problem)

    @server.feature(types.INITIALIZED)
    async def initialized(ls: AgentlsServer, params: types.InitializedParams) -> None:
        prune_leftovers_later(_folders(ls))  # what killed runs left in these repositories
        await ls.client.register_configuration_changes()
        await ls.pull_settings()

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(
        ls: AgentlsServer, params: types.DidChangeConfigurationParams
    ) -> None:
        if isinstance(params.settings, dict) and SECTION in params.settings:
            ls.apply_settings(params.settings[SECTION])
        else:
            await ls.pull_settings()

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: AgentlsServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.load_config_for(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: AgentlsServer, params: types.DidChangeTextDocumentParams) -> None:
        uri = params.text_document.uri
        document = ls.client.document(uri)
        if ls.session.diagnostics.follow_edit(uri, document.source):
            publish_diagnostics(ls.session, ls.client, uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: AgentlsServer, params: types.DidSaveTextDocumentParams) -> None:
        if params.text_document.uri.endswith("/" + WORKSPACE_FILE):
            ls.reload_configs()

    @server.feature(types.TEXT_DOCUMENT_CODE_ACTION, code_actions.OPTIONS)
    @timed_lsp(types.TEXT_DOCUMENT_CODE_ACTION)
    def code_action(ls: AgentlsServer, params: types.CodeActionParams) -> list[types.CodeAction]:
        return code_actions.code_actions(ls, params)

    @server.feature(types.CODE_ACTION_RESOLVE)
    @timed_lsp(types.CODE_ACTION_RESOLVE)
    def code_action_resolve(ls: AgentlsServer, params: types.CodeAction) -> types.CodeAction:
        return code_actions.resolve(ls, params)

    @server.feature(types.SHUTDOWN)
    async def shutdown(ls: AgentlsServer, params: None) -> None:
        await ls.runs.shutdown()

    commands.register(server)
    return server


def _folders(ls: AgentlsServer) -> list[Path]:
    paths = [ls.workspace.root_path, *(uri_to_path(f.uri) for f in ls.workspace.folders.values())]
    return [Path(p) for p in dict.fromkeys(paths) if p]
