"""An expected error (bad input from the client, an AgentlsError) answers the request with the
error (and, from an editor, a clear message; the server keeps serving) and is one warning line
in the server's log; only a bug logs its traceback."""

from __future__ import annotations

import json
import logging
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from lsprotocol.types import ResponseError
from pygls.exceptions import JsonRpcException

from agentls.domain.errors import TaskInputError
from agentls.server.language_server import AgentlsServer
from tests.server.conftest import Editor, code_actions
from tests.server.test_faults import StdioServer

INVALID_PARAMS = -32602


def command(name: str, **arguments: Any) -> dict[str, Any]:
    return {"command": name, "arguments": [arguments]}


async def test_expected_errors_are_answered_and_logged_in_one_line_each(
    workspace: Path, tmp_path: Path
) -> None:
    calc = workspace / "calc.py"
    server = await StdioServer.start(tmp_path)
    try:
        await server.initialize(workspace)
        uri = calc.as_uri()
        failing = {
            "agentls.runWorkflow": (
                command("agentls.runWorkflow", uri=uri, workflow="offline"),
                "is not open in the editor",
            ),
            "agentls.showRun": (command("agentls.showRun", runId="nothing"), "no run 'nothing'"),
            "agentls.noSuchCommand": (command("agentls.noSuchCommand"), "is not defined"),
            "agentls.followUp": (command("agentls.followUp", runId="x"), "message: Field"),
        }
        answers = {}
        for name, (params, _) in failing.items():
            answers[name] = await server.stream.request("workspace/executeCommand", params)
        document = {"uri": uri, "languageId": "python", "version": 1, "text": calc.read_text()}
        server.stream.notify("textDocument/didOpen", {"textDocument": document})
        unknown = await server.stream.request(
            "workspace/executeCommand", command("agentls.runWorkflow", uri=uri, workflow="nope")
        )
        outside = await server.stream.request(
            "workspace/executeCommand",
            command("agentls.runTask", uri=uri, task="review", range={"start": 9, "end": 40}),
        )
        assert (await server.stream.request("shutdown"))["result"] is None
        server.stream.notify("exit")
        assert await server.stop() == 0
    finally:
        await server.stop()

    for name, (_, expected) in failing.items():
        error = answers[name]["error"]
        assert error["code"] == INVALID_PARAMS and expected in error["message"], answers[name]
    assert unknown["error"]["code"] == INVALID_PARAMS
    assert "no workflow named 'nope'" in unknown["error"]["message"]
    assert "lines 9-40 are outside the document" in outside["error"]["message"]
    assert "Traceback" not in json.dumps([answers, unknown, outside])

    stderr = server.stderr()
    assert "Traceback" not in stderr
    warnings = [json.loads(line) for line in stderr.splitlines() if '"request failed"' in line]
    assert [w["method"] for w in warnings] == [
        *failing,
        "agentls.runWorkflow",
        "agentls.runTask",
    ], stderr
    assert all(w["level"] == "warning" for w in warnings)
    assert "no workflow named 'nope'" in warnings[-2]["error"]


def answered(error: BaseException) -> tuple[list[ResponseError], AgentlsServer]:
    """What the protocol sends for a request whose handler raised ``error``."""
    server = AgentlsServer()
    protocol = server.protocol
    sent: list[ResponseError] = []

    def send_response(msg_id: Any, result: Any = None, error: Any = None) -> None:
        sent.append(error)

    protocol._send_response = send_response  # type: ignore[method-assign]
    future: Future[Any] = Future()
    future.set_exception(error)
    protocol._send_handler_result(future, msg_id=7)
    return sent, server


def test_an_agentls_error_from_any_handler_is_invalid_params_without_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.DEBUG, logger="pygls"):
        [error], _ = answered(TaskInputError("no agent named 'x'; see agentls.listAgents"))
    assert (error.code, error.message) == (
        INVALID_PARAMS,
        "no agent named 'x'; see agentls.listAgents",
    )
    assert not [r for r in caplog.records if r.exc_info]


def test_a_bug_keeps_its_traceback_in_the_log(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="pygls"):
        [error], _ = answered(RuntimeError("a bug"))
    assert error.code == -32603  # InternalError
    [record] = [r for r in caplog.records if r.exc_info]
    assert record.exc_info is not None and isinstance(record.exc_info[1], RuntimeError)


async def test_bad_requests_get_clear_errors_and_the_server_keeps_serving(editor: Editor) -> None:
    uri = editor.open("calc.py")
    never = editor.uri("never_opened.py")
    (editor.workspace / "never_opened.py").write_text("x = 1\n")
    cases = [
        ("agentls.runWorkflow", {"uri": uri, "workflow": "nope"}, "no workflow named 'nope'"),
        ("agentls.runWorkflow", {"uri": never}, "is not open in the editor"),
        ("agentls.runTask", {"uri": uri, "task": "review", "range": {"start": 50, "end": 60}},
         "outside the document"),
        ("agentls.runTask", {"uri": uri, "task": "dance"}, "task"),
        ("agentls.cancel", {"runId": "nothing"}, "no run 'nothing'"),
    ]  # fmt: skip
    for command, arguments, expected in cases:
        with pytest.raises(JsonRpcException) as caught:
            await editor.command(command, **arguments)
        assert expected in str(caught.value), command
    with pytest.raises(JsonRpcException):
        await editor.client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="agentls.noSuchCommand", arguments=[])
        )
    assert any("no workflow named 'nope'" in m.message for m in editor.client.messages)
    assert await code_actions(editor, uri, diagnostics=[])  # still serving
