"""A bare JSON-RPC client over a server's stdio, for tests and benchmarks that need full control
(raw parameters, timing each request, the process itself)."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

AGENTLS = [sys.executable, "-m", "agentls", "serve"]


class RawServer:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.ids = itertools.count(1)
        self.pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.notifications: list[dict[str, Any]] = []
        self.reader = asyncio.ensure_future(self._read())

    @classmethod
    async def start(
        cls, cwd: Path, command: list[str] | None = None, env: dict[str, str] | None = None
    ) -> RawServer:
        process = await asyncio.create_subprocess_exec(
            *(command or AGENTLS),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            cwd=cwd,
            env={**os.environ, **(env or {})},
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

    async def timed(self, method: str, params: Any = None) -> float:
        started = time.perf_counter()
        await self.request(method, params)
        return time.perf_counter() - started

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

    async def initialize(self, root: Path, options: Any = None) -> float:
        """Initialize (with ``options`` as initializationOptions); the seconds it took."""
        capabilities = {
            "window": {"workDoneProgress": True},
            "workspace": {"applyEdit": True, "configuration": True},
        }
        elapsed = await self.timed(
            "initialize",
            {
                "capabilities": capabilities,
                "rootUri": root.as_uri(),
                "initializationOptions": options,
            },
        )
        self.notify("initialized", {})
        return elapsed

    def open(self, path: Path, text: str | None = None) -> str:
        uri = path.as_uri()
        document = {
            "uri": uri,
            "languageId": "python",
            "version": 1,
            "text": path.read_text() if text is None else text,
        }
        self.notify("textDocument/didOpen", {"textDocument": document})
        return uri

    def rss_kib(self) -> int:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(next(line.split()[1] for line in status.splitlines() if "VmRSS" in line))

    async def close(self) -> int:
        try:
            await self.request("shutdown")
            self.notify("exit")
            return await asyncio.wait_for(self.process.wait(), 30)
        finally:
            if self.process.returncode is None:
                self.process.kill()
            self.reader.cancel()
