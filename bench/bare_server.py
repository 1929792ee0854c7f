"""The baseline: a bare pygls 2 server that answers one code action."""

from lsprotocol import types
from pygls.lsp.server import LanguageServer

server = LanguageServer("bare", "0.0.0", text_document_sync_kind=types.TextDocumentSyncKind.Full)


@server.feature(types.TEXT_DOCUMENT_CODE_ACTION)
def code_action(ls: LanguageServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    return [types.CodeAction(title="bare action", kind=types.CodeActionKind.RefactorRewrite)]


if __name__ == "__main__":
    server.start_io()
