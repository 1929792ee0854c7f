"""The pygls server: the protocol's gates every transport needs, and the server, whose
configuration and runs load when first needed."""

from __future__ import annotations

import functools
import hmac
import sys
from collections.abc import Callable, Generator
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

import attrs
from lsprotocol import types
from lsprotocol.types import ResponseError
from pygls.exceptions import (
    JsonRpcException,
    JsonRpcInternalError,
    JsonRpcInvalidParams,
    JsonRpcInvalidRequest,
    JsonRpcServerNotInitialized,
    JsonRpcUnknownErrorCode,
)
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.json_rpc import JsonRPCNotification, JsonRPCRequestMessage, MsgId
from pygls.protocol.language_server import lsp_method

from agentls import __version__
from agentls.domain.errors import AgentlsError
from agentls.log import get_logger
from agentls.server.client import Client

if TYPE_CHECKING:
    from agentls.server.configuration import Configuration
    from agentls.server.runs import RunManager
    from agentls.server.session import Session

log = get_logger("agentls.server")


NEEDS_TOKEN = (
    "agentls: this server needs its token; see docs/server.md#connecting-over-tcp-or-websockets"
)
UNAUTHENTICATED = JsonRpcUnknownErrorCode.CODE  # -32001


@attrs.define
class Unstructured:
    """A request or notification whose parameters do not match the LSP types."""

    id: MsgId | None
    method: str
    jsonrpc: str = "2.0"


class AgentlsProtocol(LanguageServerProtocol):
    """pygls's protocol with the gates every transport needs.

    - A network connection (``attach``) must present the server's token, in
      ``initializationOptions.token`` or its WebSocket handshake, before anything is answered:
      ``initialize`` without it is refused and the connection closed; everything else is dropped.
    - A request before ``initialize`` is answered ServerNotInitialized, one after ``shutdown``
      InvalidRequest (pygls would run the handler, or answer nothing).
    - A request whose parameters do not match the LSP types is answered InvalidParams (pygls
      answers nothing, and the client waits forever).
    - ``exit`` on a network connection closes that connection, never the process.
    - A request that fails with an expected error (an ``AgentlsError``, or a JSON-RPC error a
      handler raised on purpose, such as InvalidParams) is answered with it and logged as one
      warning line; only unexpected exceptions are logged with their traceback.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.token: str | None = None
        self.authenticated = True
        self.close_connection: Callable[[], None] | None = None
        self._refused = False
        self._initialize_seen = False
        self._shutdown_seen = False
        self._requests: dict[MsgId, str] = {}
        """The method (or command) of each request not yet answered, for the log."""

    def attach(self, close: Callable[[], None], token: str, authenticated: bool = False) -> None:
        """Serve one network connection: ``close`` ends it; ``token`` is what it must present
        (``authenticated``: its handshake already did)."""
        self.close_connection = close
        self.token = token
        self.authenticated = authenticated

    def structure_message(self, data: dict[str, Any]) -> Any:
        if "jsonrpc" not in data or "method" not in data or "error" in data or "result" in data:
            return super().structure_message(data)
        method = data["method"]
        request_id = data.get("id")
        if not isinstance(method, str):
            return Unstructured(id=request_id, method=repr(method)[:80])
        fallback = JsonRPCRequestMessage if "id" in data else JsonRPCNotification
        try:
            return self._converter.structure(data, self.get_message_type(method) or fallback)
        except Exception:
            return Unstructured(id=request_id, method=method)

    def handle_message(self, message: Any) -> None:
        if getattr(message, "jsonrpc", None) != self.VERSION:
            super().handle_message(message)
            return
        method = getattr(message, "method", None)
        request_id = getattr(message, "id", None)
        is_request = method is not None and request_id is not None
        if not self.authenticated:
            if self._refused or method != types.INITIALIZE or not is_request:
                return  # nothing is answered before the token
            if not self._check_token(message):
                return
        if method is None:  # the client's answer to one of our requests
            super().handle_message(message)
        elif is_request:
            self._handle_client_request(message, method, request_id)
        elif isinstance(message, Unstructured):
            log.warning("notification with invalid parameters ignored", method=method)
        elif method == types.EXIT or self._initialize_seen:
            super().handle_message(message)

    def _handle_client_request(self, message: Any, method: str, request_id: Any) -> None:
        if not isinstance(request_id, (str, int)) or isinstance(request_id, bool):
            log.warning("request with an invalid id ignored", method=method)
        elif isinstance(message, Unstructured):
            detail = f"{method}: parameters do not match the LSP types"
            self._answer_error(request_id, JsonRpcInvalidParams.CODE, detail)
            log.info("request with invalid parameters answered", method=method)
        elif method != types.INITIALIZE and not self._initialize_seen:
            detail = f"{method}: the server is not initialized; send initialize first"
            self._answer_error(request_id, JsonRpcServerNotInitialized.CODE, detail)
            log.info("request before initialize answered", method=method)
        elif self._shutdown_seen:
            detail = f"{method}: the server is shutting down"
            self._answer_error(request_id, JsonRpcInvalidRequest.CODE, detail)
            log.info("request after shutdown answered", method=method)
        else:
            if method == types.INITIALIZE:
                self._initialize_seen = True
                _drop_token(message.params)
            elif method == types.SHUTDOWN:
                self._shutdown_seen = True
            if method in self.fm.builtin_features or method in self.fm.features:  # answered
                command = getattr(getattr(message, "params", None), "command", None)
                self._requests[request_id] = command if isinstance(command, str) else method
            super().handle_message(message)

    def _send_handler_result(self, future: Future[Any], *, msg_id: MsgId) -> None:
        """pygls's answer to a request, except that an expected error is logged as one line
        (pygls logs every error a handler raises with its traceback)."""
        method = self._requests.pop(msg_id, "")
        error = None if future.cancelled() else future.exception()
        expected = _expected_error(error)
        if error is None or expected is None:
            super()._send_handler_result(future, msg_id=msg_id)
            return
        self._request_futures.pop(msg_id, None)
        log.warning("request failed", method=method, error=str(error))
        self._send_response(msg_id, error=expected.to_response_error())

    def _check_token(self, message: Any) -> bool:
        """Whether ``initialize`` carries the token; if not, refuse it and close."""
        params = getattr(message, "params", None)
        options = getattr(params, "initialization_options", None)
        presented = options.get("token") if isinstance(options, dict) else None
        if (
            isinstance(presented, str)
            and self.token is not None
            and hmac.compare_digest(presented.encode(), self.token.encode())
        ):
            self.authenticated = True
            return True
        self._refused = True
        self._answer_error(message.id, UNAUTHENTICATED, NEEDS_TOKEN)
        log.warning("connection refused: initialize without the server's token")
        if self.close_connection is not None:
            self.close_connection()
        return False

    def _answer_error(self, request_id: MsgId, code: int, message: str) -> None:
        self._send_response(request_id, error=ResponseError(code=code, message=message))

    @lsp_method(types.EXIT)
    def lsp_exit(self, *args: Any) -> Generator[Any, Any, None]:
        if self.close_connection is not None:
            self.close_connection()
        else:  # stdio: the process ends, 0 after a shutdown request (even one still finishing)
            if self.writer is not None:
                self.writer.close()
            sys.exit(0 if self._shutdown_seen else 1)
        yield from ()


def _expected_error(error: BaseException | None) -> JsonRpcException | None:
    """The JSON-RPC error to answer ``error`` with when it is an expected one (None when it
    is not: a bug, whose traceback belongs in the log)."""
    if isinstance(error, AgentlsError):
        return JsonRpcInvalidParams(str(error))
    if isinstance(error, JsonRpcException) and not isinstance(error, JsonRpcInternalError):
        return error
    return None


def _drop_token(params: Any) -> None:
    """The token is the connection's, not a setting: nothing after the gate sees it."""
    options = getattr(params, "initialization_options", None)
    if isinstance(options, dict) and "token" in options:
        params.initialization_options = {k: v for k, v in options.items() if k != "token"}


class AgentlsServer(LanguageServer):
    """The server: the protocol's gates, the client, and (loaded when first needed) the
    session, each folder's configuration and the runs."""

    def __init__(self) -> None:
        # Full sync: pygls's incremental sync splits lines on \f and \u2028 as well, which
        # corrupts documents that contain them.
        super().__init__(
            "agentls",
            __version__,
            text_document_sync_kind=types.TextDocumentSyncKind.Full,
            protocol_cls=AgentlsProtocol,
        )
        self.client = Client(self)
        self._settings: Any = None
        """The editor's settings as it sent them, until the configuration takes them."""

    # What configures, runs and reviews loads on first use (docs/architecture.md): the server
    # answers initialize having loaded pygls, lsprotocol and its own gates only.

    @functools.cached_property
    def configuration(self) -> Configuration:
        from agentls.server.configuration import Configuration

        return Configuration(self.client, self._settings)

    @property
    def session(self) -> Session:
        return self.configuration.session

    @functools.cached_property
    def runs(self) -> RunManager:
        from agentls.server.runs import RunManager

        return RunManager(self.session, self.client)

    @property
    def configured(self) -> bool:
        """Whether the configuration is loaded (a document opened, a command came)."""
        return "configuration" in self.__dict__

    @property
    def running(self) -> bool:
        """Whether a run was ever started in this session."""
        return "runs" in self.__dict__

    def take_settings(self, raw: Any) -> None:
        """The editor's settings: applied at once when the configuration is loaded, else
        kept for it."""
        if self.configured:
            self.configuration.apply_settings(raw)
        else:
            self._settings = raw
