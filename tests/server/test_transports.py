"""``agentls serve`` over stdio (nothing but LSP frames on stdout), TCP and WebSockets."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest


def frame(message: dict[str, object]) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


def read_frames(data: bytes) -> list[dict[str, object]]:
    """Every byte must belong to a frame: headers, blank line, a JSON body."""
    messages = []
    while data:
        header, separator, rest = data.partition(b"\r\n\r\n")
        assert separator, f"stray bytes on stdout: {data[:80]!r}"
        fields = dict(line.split(": ", 1) for line in header.decode("ascii").split("\r\n") if line)
        length = int(fields["Content-Length"])
        messages.append(json.loads(rest[:length]))
        data = rest[length:]
    return messages


def session(root: Path) -> bytes:
    return b"".join(
        frame(m)
        for m in [
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {"capabilities": {}, "rootUri": root.as_uri()},
            },
            {"jsonrpc": "2.0", "method": "initialized", "params": {}},
            {"jsonrpc": "2.0", "id": 2, "method": "shutdown"},
            {"jsonrpc": "2.0", "method": "exit"},
        ]
    )


def test_stdio_writes_nothing_but_lsp_frames(workspace: Path) -> None:
    (workspace / ".agentls.yaml").write_text("agents:\n  claude:\n    timeout_s: soon\n")
    done = subprocess.run(
        [sys.executable, "-m", "agentls", "serve", "--log-level", "DEBUG"],
        input=session(workspace),
        capture_output=True,
        timeout=60,
    )
    messages = read_frames(done.stdout)
    initialize = next(m for m in messages if m.get("id") == 1)
    assert initialize["result"]["serverInfo"]["name"] == "agentls"  # type: ignore[index]
    assert "agentls.runWorkflow" in json.dumps(initialize)
    assert done.stderr  # the logs went there


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _wait_for_port(port: int) -> None:
    for _ in range(200):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        return
    raise AssertionError("the server did not listen")


async def test_tcp(workspace: Path) -> None:
    port = free_port()
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "agentls",
        "serve",
        "--tcp",
        f"127.0.0.1:{port}",
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        for _ in range(200):
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                break
            except OSError:
                await asyncio.sleep(0.05)
        writer.write(session(workspace))
        await writer.drain()
        data = await asyncio.wait_for(reader.read(65536), 30)
        while b'"id": 2' not in data and b'"id":2' not in data:
            more = await asyncio.wait_for(reader.read(65536), 30)
            if not more:
                break
            data += more
        assert any(m.get("id") == 1 for m in read_frames(data))
        writer.close()
    finally:
        server.terminate()
        await server.wait()


async def test_websockets(workspace: Path) -> None:
    websockets = pytest.importorskip("websockets.asyncio.client")
    port = free_port()
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "agentls",
        "serve",
        "--ws",
        f"127.0.0.1:{port}",
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        await _wait_for_port(port)
        async with websockets.connect(f"ws://127.0.0.1:{port}") as connection:
            await connection.send(
                json.dumps(
                    {
                        "jsonrpc": "2.0",
                        "id": 1,
                        "method": "initialize",
                        "params": {"capabilities": {}, "rootUri": workspace.as_uri()},
                    }
                )
            )
            reply = json.loads(await asyncio.wait_for(connection.recv(), 30))
        assert reply["result"]["serverInfo"]["name"] == "agentls"
    finally:
        server.terminate()
        await server.wait()


def test_a_bad_address_is_one_clear_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "agentls", "serve", "--tcp", "nowhere"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2 and "is not HOST:PORT" in done.stderr
