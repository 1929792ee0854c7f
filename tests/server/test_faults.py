"""What happens to documents while agents run: closed, deleted, many requests at once; and
what happens to a server sent bad frames, or requests before initialize or after shutdown."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest
from lsprotocol import types

from agentls.server.transport import BadFrame, FrameReader
from tests.adapters.test_agent_adapters import fake_processes
from tests.server.conftest import NEW_MEAN, Editor, code, code_actions
from tests.server.test_transports import LIST_WORKFLOWS, Stream, frame, initialize_params

LINES = {"start": 5, "end": 6}


async def start_implement(editor: Editor, uri: str) -> str:
    answer = await editor.command(
        "agentls.runTask", uri=uri, range=LINES, agent="codex", task="implement"
    )
    return str(answer["runId"])


def close(editor: Editor, uri: str) -> None:
    editor.client.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    editor.documents.pop(uri, None)


async def test_a_document_closed_during_a_run_gets_the_edit_on_its_file(editor: Editor) -> None:
    editor.scenario("codex", code(NEW_MEAN), delay_s=1.0)
    uri = editor.open("calc.py")
    run_id = await start_implement(editor, uri)
    await asyncio.sleep(0.3)
    close(editor, uri)
    params = await editor.wait_edit()
    await editor.finished(run_id)
    if params.edit.document_changes:
        [change] = params.edit.document_changes
        assert isinstance(change, types.TextDocumentEdit)
        assert change.text_document.version is None  # the file, not a buffer
    else:
        assert params.edit.changes and uri in params.edit.changes


async def test_an_edit_made_for_text_the_user_discarded_is_not_applied(editor: Editor) -> None:
    editor.scenario("codex", code(NEW_MEAN), delay_s=1.0)
    unsaved = (editor.workspace / "calc.py").read_text().replace("len(values)", "len(values) + 0")
    uri = editor.open("calc.py", unsaved)
    run_id = await start_implement(editor, uri)
    await asyncio.sleep(0.3)
    close(editor, uri)  # the editor threw the unsaved text away; the disk differs from the run's
    reports = await editor.finished(run_id)
    assert editor.edits == []
    assert "not applied" in (reports[-1].message or "")


async def test_a_file_deleted_during_a_run(editor: Editor) -> None:
    editor.scenario("codex", code(NEW_MEAN), delay_s=1.0)
    uri = editor.open("calc.py")
    run_id = await start_implement(editor, uri)
    await asyncio.sleep(0.3)
    close(editor, uri)
    (editor.workspace / "calc.py").unlink()
    reports = await editor.finished(run_id)
    assert editor.edits == [] and "not applied" in (reports[-1].message or "")
    assert not (editor.workspace / "calc.py").exists()
    assert await editor.command("agentls.listWorkflows", uri=editor.uri("calc.py"))


async def test_fifty_code_actions_and_eight_runs_at_once(editor: Editor) -> None:
    editor.scenario("gemini", '{"findings": []}', delay_s=0.3)
    editor.scenario("codex", behavior="hang")
    uri = editor.open("calc.py")
    quick = [
        editor.command("agentls.runTask", uri=uri, task="review", agent="gemini") for _ in range(4)
    ]
    hanging = [editor.command("agentls.runWorkflow", uri=uri, workflow="default") for _ in range(4)]
    listings = [code_actions(editor, uri, diagnostics=[]) for _ in range(50)]
    answers = await asyncio.gather(*quick, *hanging, *listings)
    runs = [a["runId"] for a in answers[:8]]
    assert all(isinstance(listing, list) and listing for listing in answers[8:])
    for run_id in runs[4:]:
        await editor.command("agentls.cancel", runId=run_id)
    for run_id in runs:
        await editor.finished(run_id)
    assert fake_processes("codex") == [] and fake_processes("gemini") == []


# -- the wire: bad frames, requests out of order (stdio; the same reader serves TCP) ---------


class StdioServer:
    """``agentls serve`` on stdio, its stderr kept in a file."""

    def __init__(self, process: asyncio.subprocess.Process, log: Path) -> None:
        assert process.stdin is not None and process.stdout is not None
        self.process = process
        self.log = log
        self.stream = Stream(process.stdout, process.stdin)  # type: ignore[arg-type]

    @classmethod
    async def start(cls, tmp_path: Path) -> StdioServer:
        log = tmp_path / "stderr.log"
        with log.open("wb") as stderr:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "agentls",
                "serve",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=stderr,
            )
        return cls(process, log)

    async def initialize(self, root: Path) -> None:
        reply = await self.stream.request("initialize", initialize_params(root))
        assert "result" in reply, reply
        self.stream.notify("initialized", {})

    async def stop(self) -> int:
        try:
            if self.process.stdin and not self.process.stdin.is_closing():
                self.process.stdin.close()
            return await asyncio.wait_for(self.process.wait(), 30)
        finally:
            if self.process.returncode is None:
                self.process.kill()

    def stderr(self) -> str:
        return self.log.read_text()


def body(message: dict[str, object]) -> bytes:
    return json.dumps({"jsonrpc": "2.0", **message}).encode()


LISTING = {"id": 99, "method": "workspace/executeCommand", "params": LIST_WORKFLOWS}
BAD_FRAMES = {
    "invalid length": b"Content-Length: abc\r\n\r\n" + body(LISTING),
    "negative length": b"Content-Length: -5\r\n\r\n" + body(LISTING),
    "huge length": b"Content-Length: 99999999999\r\n\r\n" + body(LISTING),
    "length too short": b"Content-Length: 10\r\n\r\n" + body(LISTING),
    "not JSON": b"Content-Length: 9\r\n\r\nnot json!",
    "no length": b"Content-Type: application/json\r\n\r\n" + body(LISTING),
    "junk": b"\x00\xffgarbage",
}


@pytest.mark.parametrize("bad", list(BAD_FRAMES), ids=list(BAD_FRAMES))
async def test_after_a_bad_frame_the_next_ten_requests_are_answered(
    workspace: Path, tmp_path: Path, bad: str
) -> None:
    server = await StdioServer.start(tmp_path)
    try:
        await server.initialize(workspace)
        server.stream.send_raw(BAD_FRAMES[bad])
        for _ in range(10):
            reply = await server.stream.request("workspace/executeCommand", LIST_WORKFLOWS)
            assert reply["result"], reply
        assert (await server.stream.request("shutdown"))["result"] is None
        server.stream.notify("exit")
        assert await server.stop() == 0
    finally:
        await server.stop()
    stderr = server.stderr()
    assert "Traceback" not in stderr
    assert len([line for line in stderr.splitlines() if '"warning"' in line]) == 1, stderr


async def test_a_request_before_initialize_is_server_not_initialized(
    workspace: Path, tmp_path: Path
) -> None:
    server = await StdioServer.start(tmp_path)
    try:
        server.stream.notify("textDocument/didOpen", {"textDocument": {"uri": "file:///x"}})
        reply = await server.stream.request("workspace/executeCommand", LIST_WORKFLOWS)
        assert reply["error"]["code"] == -32002, reply
        assert "Traceback" not in json.dumps(reply)
        await server.initialize(workspace)
        assert (await server.stream.request("workspace/executeCommand", LIST_WORKFLOWS))["result"]
    finally:
        await server.stop()
    assert "Traceback" not in server.stderr()


async def test_a_request_after_shutdown_is_invalid_request(workspace: Path, tmp_path: Path) -> None:
    server = await StdioServer.start(tmp_path)
    try:
        await server.initialize(workspace)
        assert (await server.stream.request("shutdown"))["result"] is None
        reply = await server.stream.request("workspace/executeCommand", LIST_WORKFLOWS)
        assert reply["error"]["code"] == -32600, reply
        server.stream.notify("exit")
        assert await server.stop() == 0
    finally:
        await server.stop()
    assert "Traceback" not in server.stderr()


async def test_mistyped_parameters_are_still_invalid_params(
    workspace: Path, tmp_path: Path
) -> None:
    server = await StdioServer.start(tmp_path)
    try:
        await server.initialize(workspace)
        reply = await server.stream.request("textDocument/codeAction", {"textDocument": 5})
        assert reply["error"]["code"] == -32602, reply
        server.stream.notify("textDocument/didOpen", {"textDocument": 5})  # ignored, one line
        assert (await server.stream.request("workspace/executeCommand", LIST_WORKFLOWS))["result"]
    finally:
        await server.stop()
    assert "Traceback" not in server.stderr()


def frames_of(reader: FrameReader, data: bytes, step: int) -> list[bytes | BadFrame]:
    out: list[bytes | BadFrame] = []
    for start in range(0, len(data), step):
        for item in reader.feed(data[start : start + step]):
            if isinstance(item, bytes) and not _is_json(item):
                reader.reject(item)
            else:
                out.append(item)
    return out


def _is_json(data: bytes) -> bool:
    try:
        json.loads(data)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("step", [1, 7, 1 << 20])
def test_the_frame_reader_resyncs_at_the_next_header(step: int) -> None:
    good = [frame({"jsonrpc": "2.0", "id": n, "method": "shutdown"}) for n in range(3)]
    data = good[0] + BAD_FRAMES["negative length"] + good[1] + BAD_FRAMES["junk"] + good[2]
    items = frames_of(FrameReader(), data, step)
    bodies = [json.loads(item)["id"] for item in items if isinstance(item, bytes)]
    assert bodies == [0, 1, 2]  # the bad frame's body is skipped up to the next header
    assert len([item for item in items if isinstance(item, BadFrame)]) == 2


def test_a_body_longer_than_its_length_said_gives_back_the_frames_inside() -> None:
    good = [frame({"jsonrpc": "2.0", "id": n, "method": "shutdown"}) for n in range(2)]
    bad = b"Content-Length: 60\r\n\r\n{oops"
    items = frames_of(FrameReader(), bad + good[0] + good[1] + b" " * 60, 1 << 20)
    bodies = [json.loads(item)["id"] for item in items if isinstance(item, bytes)]
    assert bodies == [0, 1]


def test_the_frame_reader_refuses_a_body_over_the_limit() -> None:
    reader = FrameReader(max_body=10)
    [item] = list(reader.feed(b"Content-Length: 11\r\n\r\n"))
    assert isinstance(item, BadFrame) and "over the limit" in item.reason
