"""The agentls language server: features registered on the pygls server.

Handlers translate LSP to orchestration calls and back; nothing here runs agents itself. The
modules behind them are imported by the handlers on first use, so the server answers
``initialize`` having loaded only pygls, lsprotocol and its own gates (a test holds this).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.uris import to_fs_path

from agentls import __version__
from agentls.domain.locations import WORKSPACE_FILE
from agentls.log import get_logger
from agentls.metrics import metrics, timed_lsp
from agentls.server.capabilities import ANSWERED_LATER, CODE_ACTIONS, SECTION, Command
from agentls.server.language_server import AgentlsServer

log = get_logger("agentls.server")


def create_server() -> AgentlsServer:
    server = AgentlsServer()

    @server.feature(types.INITIALIZE)
    def initialize(ls: AgentlsServer, params: types.InitializeParams) -> None:
        ls.client.initialize(params)
        ls.take_settings(params.initialization_options)

    @server.feature(types.INITIALIZED)
    async def initialized(ls: AgentlsServer, params: types.InitializedParams) -> None:
        log.info("agentls serving", version=__version__, client=ls.client.name)
        from agentls.orchestration.leftovers import prune_leftovers_later

        prune_leftovers_later(_folders(ls))  # what killed runs left in these repositories
        await ls.client.register_configuration_changes()
        await _pull_settings(ls)

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(
        ls: AgentlsServer, params: types.DidChangeConfigurationParams
    ) -> None:
        if isinstance(params.settings, dict) and SECTION in params.settings:
            ls.take_settings(params.settings[SECTION])
        else:
            await _pull_settings(ls)

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: AgentlsServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.configuration.load_config_for(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: AgentlsServer, params: types.DidChangeTextDocumentParams) -> None:
        if not ls.configured:  # nothing loaded yet: no findings to move
            return
        from agentls.domain.lines import to_lf
        from agentls.server.delivery import publish_diagnostics

        uri = params.text_document.uri
        source = ls.client.document(uri).source
        moved = ls.session.diagnostics.follow_edit(uri, source)
        if ls.session.proposals.follow(uri, to_lf(source)):
            moved = True
            ls.client.refresh_code_lenses()
        if moved:
            publish_diagnostics(ls.session, ls.client, uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: AgentlsServer, params: types.DidSaveTextDocumentParams) -> None:
        if params.text_document.uri.endswith("/" + WORKSPACE_FILE) and ls.configured:
            ls.configuration.reload_configs()

    @server.feature(types.TEXT_DOCUMENT_CODE_ACTION, CODE_ACTIONS)
    @timed_lsp(types.TEXT_DOCUMENT_CODE_ACTION)
    def code_action(ls: AgentlsServer, params: types.CodeActionParams) -> list[types.CodeAction]:
        from agentls.server import code_actions

        return code_actions.code_actions(ls, params)

    @server.feature(types.TEXT_DOCUMENT_CODE_LENS, types.CodeLensOptions(resolve_provider=False))
    def code_lens(ls: AgentlsServer, params: types.CodeLensParams) -> list[types.CodeLens]:
        if not ls.configured:  # nothing proposed yet
            return []
        from agentls.server import proposal_views

        return proposal_views.code_lenses(ls, params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def hover(ls: AgentlsServer, params: types.HoverParams) -> types.Hover | None:
        if not ls.configured:
            return None
        from agentls.server import hover

        return hover.hover(ls, params)

    @server.feature(types.CODE_ACTION_RESOLVE)
    @timed_lsp(types.CODE_ACTION_RESOLVE)
    def code_action_resolve(ls: AgentlsServer, params: types.CodeAction) -> types.CodeAction:
        from agentls.server import code_actions

        return code_actions.resolve(ls, params)

    @server.feature(types.SHUTDOWN)
    async def shutdown(ls: AgentlsServer, params: None) -> None:
        if ls.running:
            await ls.runs.shutdown()

    for command in Command:
        server.command(command.value)(_lazy_command(command))
    return server


def _lazy_command(command: Command) -> Any:
    """The handler of ``command``, which loads the commands' module when first called: a
    coroutine for those answered later, a plain function for the others (a run started
    from a command's task would keep that task's context for as long as it lives)."""

    def answer(ls: AgentlsServer, arguments: tuple[Any, ...]) -> Any:
        from agentls.server.commands import HANDLERS

        return HANDLERS[command](ls, *arguments)

    def observe(started: float) -> None:
        elapsed = time.perf_counter() - started
        metrics().lsp_requests.labels(types.WORKSPACE_EXECUTE_COMMAND).observe(elapsed)

    async def later(ls: AgentlsServer, *arguments: Any) -> Any:
        started = time.perf_counter()
        try:
            return await answer(ls, arguments)
        finally:
            observe(started)

    def now(ls: AgentlsServer, *arguments: Any) -> Any:
        started = time.perf_counter()
        try:
            return answer(ls, arguments)
        finally:
            observe(started)

    handle = later if command in ANSWERED_LATER else now
    handle.__name__ = command.name.lower()
    return handle


def _folders(ls: AgentlsServer) -> list[Path]:
    paths = [ls.workspace.root_path, *(to_fs_path(f.uri) for f in ls.workspace.folders.values())]
    return [Path(p) for p in dict.fromkeys(paths) if p]


async def _pull_settings(ls: AgentlsServer) -> None:
    values = await ls.client.settings(SECTION)
    if values is not None:
        ls.take_settings(values)
