"""How ``agentls serve`` carries LSP: stdio, or a TCP or WebSocket listener.

stdio serves the editor that started the process. A listener gives each connection its own
server (session, runs, workspace) from ``create_server()``, which must present the token before
anything is answered (see ``AgentlsProtocol``); closing a connection ends only its session.
Every transport reads through ``FrameReader`` and ``dispatch``: a bad frame is logged as one
warning line and reading goes on at the next message.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import http
import itertools
import json
import os
import re
import secrets
import stat
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, cast
from urllib.parse import parse_qs, urlsplit

from pygls.exceptions import JsonRpcException
from pygls.protocol import JsonRPCProtocol

from agentls.domain.locations import server_token_path
from agentls.log import get_logger
from agentls.server.language_server import NEEDS_TOKEN, AgentlsProtocol, AgentlsServer
from agentls.signals import Terminated
from agentls.signals import run as run_until_signalled
from agentls.state import write_private

if TYPE_CHECKING:
    from websockets.asyncio.server import ServerConnection
    from websockets.http11 import Request, Response

log = get_logger("agentls.server")

MAX_FRAME_BYTES = 64 * 1024 * 1024
"""The largest message body read; a bigger Content-Length is a bad frame."""
MAX_HEADER_BYTES = 8192
READ_CHUNK = 65536
_HEADER_START = re.compile(rb"content-(?:length|type)[ \t]*:", re.IGNORECASE)
_connections = itertools.count(1)
_sessions: dict[AgentlsServer, tuple[Callable[[], None], asyncio.Task[Any] | None]] = {}
"""The network sessions open now (how to close each, the task serving it), ended together
when the process is told to stop."""


# -- the token ---------------------------------------------------------------------------


class TokenFileError(Exception):
    """A ``--token-file`` agentls will not use; the message says why, in one line."""


def create_token() -> tuple[str, Path]:
    """A new token, written 0600 to the state folder; the token and where it is."""
    token = secrets.token_urlsafe(32)
    path = server_token_path()
    write_private(path, f"{token}\n".encode())
    return token, path


def read_token_file(path: Path) -> str:
    """The token in ``path``: a file only its owner can read, not empty."""
    try:
        mode = path.stat().st_mode
        if not stat.S_ISREG(mode):
            raise TokenFileError(f"token file {path} is not a file")
        if mode & 0o077:
            raise TokenFileError(
                f"token file {path} is readable by others (mode {stat.S_IMODE(mode):04o}); "
                f"make it 0600: chmod 600 {path}"
            )
        token = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise TokenFileError(f"token file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as error:
        raise TokenFileError(f"cannot read token file {path}: {error}") from None
    if not token:
        raise TokenFileError(f"token file {path} is empty")
    return token


def tokens_match(presented: str, token: str) -> bool:
    return hmac.compare_digest(presented.encode(), token.encode())


# -- reading frames ----------------------------------------------------------------------


@dataclass(frozen=True)
class BadFrame:
    reason: str


class FrameReader:
    """Splits a byte stream into message bodies (``Content-Length: N``, a blank line, N bytes).

    A bad frame (a missing, invalid or too large Content-Length; bytes outside any frame) is
    reported once and skipped: reading resumes at the next header. ``reject`` does the same for
    a body the caller could not read (not JSON), resuming at a header inside it if there is one.
    """

    def __init__(self, max_body: int = MAX_FRAME_BYTES) -> None:
        self._buffer = bytearray()
        self._max_body = max_body
        self._recovering = False

    def feed(self, data: bytes) -> Iterator[bytes | BadFrame]:
        """Add ``data``; the frames now complete, one at a time (``reject`` may run between)."""
        self._buffer += data
        return self._frames()

    def reject(self, body: bytes) -> None:
        start = _HEADER_START.search(body, 1)
        if start is not None:
            self._buffer[:0] = body[start.start() :]
        self._recovering = True

    def _frames(self) -> Iterator[bytes | BadFrame]:
        while (item := self._next()) is not None:
            yield item

    def _next(self) -> bytes | BadFrame | None:
        buffer = self._buffer
        start = _HEADER_START.search(buffer)
        if start is None:  # keep a tail that may be the beginning of a header
            return self._skip(max(0, len(buffer) - 32))
        if start.start():
            skipped = self._skip(start.start())
            if skipped is not None:
                return skipped
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(buffer) <= MAX_HEADER_BYTES:
                return None
            del buffer[: start.end() - start.start()]
            return self._bad("a header without its blank line")
        length = _content_length(bytes(buffer[:end]))
        if isinstance(length, str):
            del buffer[: end + 4]
            return self._bad(length)
        if length > self._max_body:
            del buffer[: end + 4]
            return self._bad(f"Content-Length {length} is over the limit ({self._max_body})")
        if len(buffer) < end + 4 + length:
            return None
        body = bytes(buffer[end + 4 : end + 4 + length])
        del buffer[: end + 4 + length]
        self._recovering = False
        return body

    def _skip(self, count: int) -> BadFrame | None:
        """Drop ``count`` bytes outside any frame; reported unless skipping after a bad frame."""
        if count <= 0:
            return None
        junk = bytes(self._buffer[:count])
        del self._buffer[:count]
        if not junk.strip() or self._recovering:
            return None
        return self._bad(f"{count} bytes outside any frame")

    def _bad(self, reason: str) -> BadFrame:
        self._recovering = True
        return BadFrame(reason)


def _content_length(header: bytes) -> int | str:
    """The Content-Length of a header block, or what is wrong with it."""
    for line in header.split(b"\r\n"):
        name, separator, value = line.partition(b":")
        if separator and name.strip().lower() == b"content-length":
            value = value.strip()
            if value.isdigit() and len(value) <= 12:
                return int(value)
            return f"invalid Content-Length {value[:40]!r}"
    return "no Content-Length"


def dispatch(protocol: JsonRPCProtocol, body: bytes | str) -> bool:
    """Hand one message body to ``protocol``; False when it is not JSON (logged once)."""
    try:
        message = json.loads(body, object_hook=protocol.structure_message)
    except (ValueError, RecursionError) as error:  # includes JSONDecodeError, UnicodeDecodeError
        log.warning("bad frame skipped: the body is not JSON", error=str(error)[:200])
        return False
    except JsonRpcException as error:
        log.warning("message skipped: it is not valid JSON-RPC", error=str(error)[:200])
        return True
    if not hasattr(message, "jsonrpc"):
        log.warning("message skipped: it is not a JSON-RPC message")
        return True
    try:
        protocol.handle_message(message)
    except Exception:
        log.exception("message handling failed")
    return True


async def pump(read: Callable[[], Awaitable[bytes]], protocol: JsonRPCProtocol) -> None:
    """Read frames until the stream ends, handing each message to ``protocol``."""
    frames = FrameReader()
    while data := await read():
        for item in frames.feed(data):
            if isinstance(item, BadFrame):
                log.warning("bad frame skipped", reason=item.reason)
            elif not dispatch(protocol, item):
                frames.reject(item)
            await asyncio.sleep(0)  # let the tasks a message started take their first step


# -- sessions ----------------------------------------------------------------------------


def _new_session(
    close: Callable[[], None], token: str, authenticated: bool
) -> tuple[AgentlsServer, AgentlsProtocol]:
    from agentls.server.app import create_server

    server = create_server()
    protocol = cast(AgentlsProtocol, server.protocol)
    protocol.attach(close, token, authenticated)
    server.session.client = f"lsp:{os.getpid()}:{next(_connections)}"
    _sessions[server] = (close, asyncio.current_task())
    return server, protocol


async def end_session(server: AgentlsServer) -> None:
    """Stop what a session left running: its runs (and their processes), its requests."""
    _sessions.pop(server, None)
    if server.running:
        with contextlib.suppress(Exception):
            await server.runs.shutdown()
    for future in list(server.protocol._request_futures.values()):
        future.cancel()
    if server.configured:
        server.configuration.stop_asking()


# -- stdio -------------------------------------------------------------------------------


class _StdoutWriter:
    """pygls's writer interface on stdout; what is sent once it is closed (``exit``) is
    dropped."""

    def __init__(self, stdout: BinaryIO) -> None:
        self._stdout = stdout
        self._closed = False

    def write(self, data: bytes) -> None:
        if not self._closed:
            self._stdout.write(data)
            self._stdout.flush()

    def close(self) -> None:
        self._closed = True
        self._stdout.close()


def run_stdio(
    server: AgentlsServer, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None
) -> None:
    """Serve the editor on stdin/stdout until stdin ends or ``exit`` (which ends the process)."""
    server.protocol.set_writer(_StdoutWriter(stdout or sys.stdout.buffer))
    try:
        run_until_signalled(_serve_stdio(server, stdin or sys.stdin.buffer))
    except BrokenPipeError:
        log.warning("the client closed stdout; stopping")
    except KeyboardInterrupt:
        pass
    except Terminated as stopped:
        _stopped(stopped)


def _stopped(stopped: Terminated) -> None:
    """After SIGTERM or SIGHUP: the runs were cancelled, their agents stopped and their
    sandboxes removed; exit as a process that signal ended."""
    log.warning("stopped by a signal; every run was cancelled", signal=stopped.name)
    sys.exit(stopped.exit_code)


async def _end_sessions() -> None:
    """Every network session: its runs stopped, its connection closed, its task done (so
    nothing is left for the event loop to cancel)."""
    sessions = dict(_sessions)
    await asyncio.gather(*(end_session(s) for s in sessions), return_exceptions=True)
    for close, _ in sessions.values():
        with contextlib.suppress(Exception):
            close()
    tasks = [t for _, t in sessions.values() if t is not None and t is not asyncio.current_task()]
    if tasks:
        await asyncio.wait(tasks, timeout=10)


async def _serve_stdio(server: AgentlsServer, stdin: BinaryIO) -> None:
    try:
        await pump(_read_in_thread(stdin), server.protocol)
    finally:
        await end_session(server)


def _read_in_thread(stream: BinaryIO) -> Callable[[], Awaitable[bytes]]:
    """Chunks of ``stream`` read by a daemon thread (it never holds up the process's exit)."""
    loop = asyncio.get_running_loop()
    chunks: asyncio.Queue[bytes] = asyncio.Queue()
    try:  # the file descriptor: a daemon thread blocked in a buffered read would hold its
        # lock, and the interpreter aborts when it needs that lock at exit
        descriptor = stream.fileno()
        read: Callable[[int], bytes] = partial(os.read, descriptor)
    except (AttributeError, OSError, ValueError):
        read = getattr(stream, "read1", stream.read)

    def reader() -> None:
        while True:
            try:
                data = read(READ_CHUNK)
            except (OSError, ValueError):
                data = b""
            try:
                loop.call_soon_threadsafe(chunks.put_nowait, data)
            except RuntimeError:  # the loop is closed
                return
            if not data:
                return

    threading.Thread(target=reader, name="agentls-stdin", daemon=True).start()
    return chunks.get


# -- TCP ---------------------------------------------------------------------------------


class _StreamWriter:
    """pygls's writer interface on a TCP connection; nothing is written once it is closed."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer

    def write(self, data: bytes) -> None:
        if not self._writer.is_closing():
            self._writer.write(data)

    def close(self) -> None:
        self._writer.close()


def run_tcp(host: str, port: int, token: str) -> None:
    try:
        run_until_signalled(serve_tcp(host, port, token))
    except KeyboardInterrupt:
        pass
    except Terminated as stopped:
        _stopped(stopped)


async def serve_tcp(host: str, port: int, token: str) -> None:
    listener = await asyncio.start_server(partial(_tcp_connection, token=token), host, port)
    _listening("tcp", listener.sockets)
    async with listener:
        try:
            await listener.serve_forever()
        finally:
            await _end_sessions()


async def _tcp_connection(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, token: str
) -> None:
    server, protocol = _new_session(writer.close, token, authenticated=False)
    protocol.set_writer(_StreamWriter(writer))
    peer = str(writer.get_extra_info("peername"))
    log.info("connection opened", transport="tcp", peer=peer, client=server.session.client)
    try:
        await pump(partial(reader.read, READ_CHUNK), protocol)
    except OSError as error:  # reset by the peer
        log.info("connection lost", peer=peer, error=str(error))
    finally:
        writer.close()
        await end_session(server)
        log.info("connection closed", transport="tcp", peer=peer, client=server.session.client)


def _listening(transport: str, sockets: Any) -> None:
    for sock in sockets:
        host, port = sock.getsockname()[:2]
        log.info("listening", transport=transport, host=host, port=port)


# -- WebSockets --------------------------------------------------------------------------


class _WebSocketWriter:
    """pygls's writer interface on a WebSocket: text messages, sent in order by one task."""

    def __init__(self, connection: ServerConnection) -> None:
        self._connection = connection
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._closed = False
        self.done = asyncio.ensure_future(self._send_all())

    def write(self, data: bytes) -> None:
        if not self._closed:
            self._queue.put_nowait(data.decode("utf-8"))

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._queue.put_nowait(None)

    async def _send_all(self) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            while (text := await self._queue.get()) is not None:
                await self._connection.send(text)
        except ConnectionClosed:
            pass
        finally:
            await self._connection.close()


def presented_tokens(request: Request) -> list[str]:
    """The tokens a WebSocket handshake carries: ``Authorization: Bearer`` and ``?token=``."""
    tokens = []
    for value in request.headers.get_all("Authorization"):
        scheme, _, credentials = value.partition(" ")
        tokens.append(credentials.strip() if scheme.lower() == "bearer" else "")
    tokens += parse_qs(urlsplit(request.path).query, keep_blank_values=True).get("token", [])
    return tokens


def check_handshake(
    connection: ServerConnection, request: Request, token: str, origins: frozenset[str]
) -> Response | None:
    """Before the upgrade: a foreign Origin gets 403, a wrong token 401. No Origin (a client
    that is not a browser) and no token (it then comes in ``initialize``) are let through."""
    origin = [value for value in request.headers.get_all("Origin") if value not in origins]
    if origin:
        log.warning("websocket refused: Origin not allowed", origin=origin[0][:200])
        return connection.respond(
            http.HTTPStatus.FORBIDDEN, "agentls: this Origin is not allowed (--allow-origin)\n"
        )
    presented = presented_tokens(request)
    if presented and not all(tokens_match(p, token) for p in presented):
        log.warning("websocket refused: wrong token")
        return connection.respond(http.HTTPStatus.UNAUTHORIZED, f"{NEEDS_TOKEN}\n")
    return None


def run_ws(host: str, port: int, token: str, origins: frozenset[str]) -> None:
    try:
        run_until_signalled(serve_ws(host, port, token, origins))
    except KeyboardInterrupt:
        pass
    except Terminated as stopped:
        _stopped(stopped)


async def serve_ws(host: str, port: int, token: str, origins: frozenset[str]) -> None:
    from websockets.asyncio.server import serve

    async with serve(
        partial(_ws_connection, token=token),
        host,
        port,
        process_request=partial(check_handshake, token=token, origins=origins),
        max_size=MAX_FRAME_BYTES,
    ) as listener:
        _listening("ws", listener.sockets)
        try:
            await listener.serve_forever()
        finally:
            await _end_sessions()


async def _ws_connection(connection: ServerConnection, token: str) -> None:
    from websockets.exceptions import ConnectionClosed

    assert connection.request is not None
    writer = _WebSocketWriter(connection)
    authenticated = bool(presented_tokens(connection.request))  # checked by check_handshake
    server, protocol = _new_session(writer.close, token, authenticated)
    protocol.set_writer(writer, include_headers=False)
    peer = str(connection.remote_address)
    log.info("connection opened", transport="ws", peer=peer, client=server.session.client)
    try:
        async for message in connection:
            dispatch(protocol, message)
    except ConnectionClosed:
        pass
    finally:
        writer.close()
        await end_session(server)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(writer.done, 5)
        log.info("connection closed", transport="ws", peer=peer, client=server.session.client)
