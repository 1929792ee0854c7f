"""A bare JSON-RPC client over the server's stdio, for tests that need full control."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import sys
from pathlib import Path
from typing import Any


class RawServer:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.ids = itertools.count(1)
        self.pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.notifications: list[dict[str, Any]] = []
        self.reader = asyncio.ensure_future(self._read())

    @classmethod
    async def start(cls, cwd: Path) -> RawServer:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "agentls",
            "serve",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            cwd=cwd,
            env=dict(os.environ),
        )
        return cls(process)

    def _write(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))

    async def request(self, method: str, params: Any = None, timeout: float = 30) -> dict[str, Any]:
        number = next(self.ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.pending[number] = future
        self._write({"id": number, "method": method, "params": params})
        return await asyncio.wait_for(future, timeout)

    def notify(self, method: str, params: Any = None) -> None:
        self._write({"method": method, "params": params})

    async def _read(self) -> None:
        assert self.process.stdout is not None
        stdout = self.process.stdout
        while True:
            header = await stdout.readuntil(b"\r\n\r\n")
            length = next(
                int(line.split(b":")[1])
                for line in header.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            )
            message = json.loads(await stdout.readexactly(length))
            if "method" in message and "id" in message:  # the server asks the client
                result: Any = None
                if message["method"] == "workspace/applyEdit":
                    result = {"applied": True}
                elif message["method"] == "workspace/configuration":
                    result = [{} for _ in message["params"]["items"]]
                self._write({"id": message["id"], "result": result})
            elif "method" in message:
                self.notifications.append(message)
            elif message.get("id") in self.pending:
                self.pending.pop(message["id"]).set_result(message)

    async def initialize(self, root: Path) -> None:
        capabilities = {
            "window": {"workDoneProgress": True},
            "workspace": {"applyEdit": True, "configuration": True},
        }
        await self.request("initialize", {"capabilities": capabilities, "rootUri": root.as_uri()})
        self.notify("initialized", {})

    async def close(self) -> int:
        await self.request("shutdown")
        self.notify("exit")
        code = await asyncio.wait_for(self.process.wait(), 30)
        self.reader.cancel()
        return code
