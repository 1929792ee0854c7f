"""``agentls serve``: the language server over stdio (default), TCP or WebSockets."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import NoReturn

import click

from agentls.log import configure_logging


def fail(message: str) -> NoReturn:
    click.echo(f"agentls: {message}", err=True)
    sys.exit(2)


def _address(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        fail(f"{value!r} is not HOST:PORT (e.g. 127.0.0.1:2087)")
    return host, int(port)


@click.command()
@click.option("--tcp", "tcp", metavar="HOST:PORT", help="Serve one client over TCP.")
@click.option("--ws", "ws", metavar="HOST:PORT", help="Serve over WebSockets.")
@click.option("--log-file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--log-level", default="INFO", show_default=True)
@click.option(
    "--metrics-port", type=int, help="Serve Prometheus metrics on this port (loopback only)."
)
@click.option(
    "--metrics-address", default="127.0.0.1", show_default=True, help="Address for /metrics."
)
def serve(
    tcp: str | None,
    ws: str | None,
    log_file: Path | None,
    log_level: str,
    metrics_port: int | None,
    metrics_address: str,
) -> None:
    """Run the language server. In stdio mode stdout carries only LSP messages."""
    stream = open(log_file, "a", encoding="utf-8") if log_file else sys.stderr  # noqa: SIM115
    configure_logging(log_level, json=True, stream=stream)
    logging.basicConfig(stream=stream, level=logging.WARNING)
    logging.getLogger("pygls").setLevel(logging.WARNING)

    from agentls import __version__
    from agentls.log import get_logger
    from agentls.server.app import create_server

    if tcp and ws:
        fail("give --tcp or --ws, not both")
    server = create_server()
    if metrics_port:
        from agentls.metrics import serve as serve_metrics

        serve_metrics(metrics_port, metrics_address)
    transport = f"tcp {tcp}" if tcp else f"ws {ws}" if ws else "stdio"
    get_logger("agentls.server").info("agentls serving", version=__version__, transport=transport)
    if tcp:
        server.start_tcp(*_address(tcp))
    elif ws:
        server.start_ws(*_address(ws))
    else:
        server.start_io()
