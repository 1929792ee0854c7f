"""The server told to stop (SIGTERM) or killed (SIGKILL) mid-run: no agent outlives it, and
its sandbox and worktree go at once, or, after a SIGKILL, at the next start."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import pytest

from agentls.domain.locations import server_token_path
from tests.agentic import agentic, calls, make_repository, worktrees
from tests.processes import alive, daemonizing_command, marked, wait_for_pids, wait_until
from tests.server.test_faults import StdioServer
from tests.server.test_transports import Stream, _wait_for_port, free_port, initialize_params

pytestmark = pytest.mark.usefixtures("credentials")


class Running:
    """An agentic run the fake codex is in the middle of: a slow tool call and a daemon."""

    def __init__(self, workspace: Path, tmp_path: Path) -> None:
        self.workspace = workspace
        self.folder = tmp_path / "fake"
        self.folder.mkdir()
        command, self.pid_file = daemonizing_command(self.folder, linger_s=120)
        agentic(workspace, self.folder, commands=[command])
        make_repository(workspace)

    async def start(self, stream: Stream) -> None:
        uri = (self.workspace / "calc.py").as_uri()
        text = (self.workspace / "calc.py").read_text()
        document = {"uri": uri, "languageId": "python", "version": 1, "text": text}
        stream.notify("textDocument/didOpen", {"textDocument": document})
        reply = await stream.request(
            "workspace/executeCommand",
            {"command": "agentls.runWorkflow", "arguments": [{"uri": uri, "workflow": "agentic"}]},
        )
        assert "runId" in reply.get("result", {}), reply
        [self.daemon] = await asyncio.to_thread(wait_for_pids, self.pid_file, 1, 60)
        [call] = calls(self.folder)
        self.agent = int(call["pid"])
        self.sandbox = Path(call["cwd"])
        assert self.sandbox.exists() and str(self.sandbox) in worktrees(self.workspace)

    def agents_gone(self) -> bool:
        return not alive(self.agent) and not alive(self.daemon) and not marked(str(self.folder))

    def assert_clean(self) -> None:
        assert self.agents_gone()
        assert not self.sandbox.parent.exists()
        assert worktrees(self.workspace) == [str(self.workspace)]


async def test_sigterm_to_the_stdio_server_ends_its_runs_and_cleans_up(
    workspace: Path, tmp_path: Path
) -> None:
    running = Running(workspace, tmp_path)
    server = await StdioServer.start(tmp_path)
    try:
        await server.initialize(workspace)
        await running.start(server.stream)
        server.process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(server.process.wait(), 60)
    finally:
        await server.stop()
    assert code == 128 + signal.SIGTERM
    running.assert_clean()
    assert "Traceback" not in server.stderr()
    assert "stopped by a signal" in server.stderr()


async def test_sigterm_to_the_tcp_server_ends_every_sessions_runs(
    workspace: Path, tmp_path: Path
) -> None:
    running = Running(workspace, tmp_path)
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "agentls", "serve", "--tcp", str(port), stderr=stderr
        )
    try:
        await _wait_for_port(port)
        stream = Stream(*await asyncio.open_connection("127.0.0.1", port))
        token = server_token_path().read_text().strip()
        reply = await stream.request("initialize", initialize_params(workspace, token))
        assert "result" in reply, reply
        stream.notify("initialized", {})
        await running.start(stream)
        process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), 60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert code == 128 + signal.SIGTERM
    running.assert_clean()
    assert "Traceback" not in log.read_text()


async def test_after_sigkill_the_agents_end_and_the_next_start_prunes_the_rest(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A temp folder of this test's own: another agentls starting meanwhile (a concurrent test
    # run) would rightly prune the killed run's sandbox before the test looks at it.
    (tmp_path / "tmp").mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    running = Running(workspace, tmp_path)
    server = await StdioServer.start(tmp_path)
    try:
        await server.initialize(workspace)
        await running.start(server.stream)
        server.process.kill()
        await asyncio.wait_for(server.process.wait(), 60)
        await asyncio.to_thread(wait_until, running.agents_gone, "the agents ending", 30)
    finally:
        await server.stop()
    # Nothing of the server ran after the SIGKILL: its sandbox and worktree are still there.
    assert running.sandbox.exists() and str(running.sandbox) in worktrees(workspace)
    (tmp_path / "again").mkdir()
    again = await StdioServer.start(tmp_path / "again")
    try:
        await again.initialize(workspace)

        def pruned() -> bool:
            return not running.sandbox.parent.exists() and worktrees(workspace) == [str(workspace)]

        await asyncio.to_thread(wait_until, pruned, "the leftovers pruned", 30)
        reply = await again.stream.request(
            "workspace/executeCommand", {"command": "agentls.listWorkflows", "arguments": [{}]}
        )
        assert reply["result"]
    finally:
        await again.stop()
    running.assert_clean()
