"""``agentls serve``: the language server over stdio (default), TCP or WebSockets."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import sys
from pathlib import Path
from typing import NoReturn

from agentls.cli.startup import started
from agentls.log import configure_logging

DEFAULT_HOST = "127.0.0.1"


def fail(message: str) -> NoReturn:
    print(f"agentls: {message}", file=sys.stderr)
    sys.exit(2)


def _address(value: str) -> tuple[str, int]:
    """``[HOST:]PORT``: a bare port listens on 127.0.0.1; an IPv6 host may be in brackets."""
    host, _, port = value.rpartition(":")
    host = host.removeprefix("[").removesuffix("]") if host else DEFAULT_HOST
    if not port.isdigit() or int(port) > 65535 or not host:
        fail(f"{value!r} is not HOST:PORT or PORT (e.g. 127.0.0.1:2087)")
    return host, int(port)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _token(token_file: Path | None) -> str:
    from agentls.server.transport import TokenFileError, create_token, read_token_file

    if token_file is not None:
        try:
            return read_token_file(token_file)
        except TokenFileError as error:
            fail(str(error))
    token, path = create_token()
    print(f"agentls: clients must present the token in {path}", file=sys.stderr)
    return token


def parser() -> argparse.ArgumentParser:
    """``agentls serve``'s options, read with argparse: the server starts without click."""
    options = argparse.ArgumentParser(
        prog="agentls serve",
        description="Run the language server. In stdio mode stdout carries only LSP messages. "
        "Over TCP or WebSockets each connection is its own session and must present the "
        "server's token.",
    )
    add = options.add_argument
    add("--tcp", metavar="[HOST:]PORT", help="Serve over TCP (host 127.0.0.1 by default).")
    add("--ws", metavar="[HOST:]PORT", help="Serve over WebSockets (host 127.0.0.1 by default).")
    add(
        "--token-file",
        type=Path,
        help="Read the network clients' token from this 0600 file (default: generate one).",
    )
    add(
        "--allow-origin",
        dest="allow_origins",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="A browser Origin allowed to open a WebSocket (repeatable; none by default).",
    )
    add("--log-file", type=Path)
    add("--log-level", default="INFO", help="(default: INFO)")
    add("--metrics-port", type=int, help="Serve Prometheus metrics on this port (loopback only).")
    add("--metrics-address", default="127.0.0.1", help="Address for /metrics (default: 127.0.0.1).")
    return options


def main(argv: list[str]) -> None:
    """``agentls serve ARGV``."""
    options = parser().parse_args(argv)
    serve(**vars(options))


def serve(
    tcp: str | None,
    ws: str | None,
    token_file: Path | None,
    allow_origins: list[str],
    log_file: Path | None,
    log_level: str,
    metrics_port: int | None,
    metrics_address: str,
) -> None:
    """Check the options together, then serve until the client or a signal ends it."""
    if tcp and ws:
        fail("give --tcp or --ws, not both")
    if token_file and not (tcp or ws):
        fail("--token-file is for --tcp and --ws (stdio needs no token)")
    if allow_origins and not ws:
        fail("--allow-origin is for --ws")
    address = _address(tcp or ws or "") if tcp or ws else None
    token = _token(token_file) if address else ""
    if address and not _is_loopback(address[0]):
        print(
            f"agentls: warning: listening on {address[0]}, reachable from other machines "
            "(clients still need the token)",
            file=sys.stderr,
        )

    stream = open(log_file, "a", encoding="utf-8") if log_file else sys.stderr  # noqa: SIM115
    configure_logging(log_level, json=True, stream=stream)
    logging.basicConfig(stream=stream, level=logging.WARNING)
    logging.getLogger("pygls").setLevel(logging.WARNING)

    from agentls import __version__
    from agentls.log import get_logger
    from agentls.server import transport as transports

    started()
    if metrics_port:
        from agentls.metrics import serve as serve_metrics

        serve_metrics(metrics_port, metrics_address)
    if address:  # over stdio the first line is the client's, once initialize is answered
        kind = f"tcp {tcp}" if tcp else f"ws {ws}"
        get_logger("agentls.server").info("agentls serving", version=__version__, transport=kind)
    if address and tcp:
        transports.run_tcp(*address, token)
    elif address:
        transports.run_ws(*address, token, frozenset(allow_origins))
    else:
        from agentls.server.app import create_server

        transports.run_stdio(create_server())
