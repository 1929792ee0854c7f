"""The contract between the server and its editor integrations (docs/server.md): the command
ids, the progress token and ``Diagnostic.data`` are defined once in Python, and the VS Code
extension and the Neovim plugin agree with them; data a client sends back in another shape is
ignored, never a crash."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from lsprotocol import types

from agentls.server.capabilities import ANSWERED_LATER, Command
from agentls.server.progress import PROGRESS_TOKEN, progress_token
from tests.server.conftest import Editor

ROOT = Path(__file__).resolve().parents[2]
VSCODE = ROOT / "editors" / "vscode" / "src"
NVIM = ROOT / "editors" / "nvim" / "lua" / "agentls"

# How each integration sends a command to the server: `this.start("agentls.x", …)` and
# `this.server.execute<T>("agentls.x", …)` in TypeScript, `agentls.execute("agentls.x", …)` in Lua.
SENT_FROM_TYPESCRIPT = re.compile(r"""\b(?:start|execute)(?:<[^>(]*>)?\(\s*"(agentls\.\w+)\"""")
SENT_FROM_LUA = re.compile(r"""\bexecute\(\s*"(agentls\.\w+)\"""")


def sent(folder: Path, pattern: re.Pattern[str], suffix: str) -> set[str]:
    return {m for file in folder.rglob(f"*{suffix}") for m in pattern.findall(file.read_text())}


def test_the_editors_send_only_the_servers_commands_and_the_docs_name_them_all() -> None:
    typescript = sent(VSCODE, SENT_FROM_TYPESCRIPT, ".ts")
    lua = sent(NVIM, SENT_FROM_LUA, ".lua")
    assert {"agentls.runWorkflow", "agentls.listRuns"} <= typescript  # the patterns see them
    assert {"agentls.runWorkflow", "agentls.listRuns"} <= lua
    known = {command.value for command in Command}
    assert typescript - known == set()
    assert lua - known == set()
    documented = set(
        re.findall(r"^\| `(agentls\.\w+)` \|", (ROOT / "docs/server.md").read_text(), re.M)
    )
    assert documented == known


def _lua_pattern_as_regex(pattern: str) -> str:
    classes = {"%x": "[0-9A-Fa-f]", "%w": "[0-9A-Za-z]", "%a": "[A-Za-z]", "%d": "[0-9]"}
    out, index = "", 0
    while index < len(pattern):
        two = pattern[index : index + 2]
        if two in classes:
            out, index = out + classes[two], index + 2
        elif two.startswith("%"):
            out, index = out + re.escape(two[1]), index + 2
        else:
            out, index = out + pattern[index], index + 1
    return out


def test_the_editors_read_the_run_id_from_the_progress_token() -> None:
    [javascript] = re.findall(r"const TOKEN = /(.+)/;", (VSCODE / "runs.ts").read_text())
    [lua] = re.findall(r'M\.run_id\(token\)\n\s+return tostring\(token\):match\("(.+)"\)',
                       (NVIM / "progress.lua").read_text())  # fmt: skip
    for run_id in ("0123456789ab", "fedcba987654"):
        token = progress_token(run_id)
        match = PROGRESS_TOKEN.fullmatch(token)
        assert match is not None and match["run_id"] == run_id
        assert re.match(javascript, token)[1] == run_id  # type: ignore[index]
        assert re.match(_lua_pattern_as_regex(lua), token)[1] == run_id  # type: ignore[index]


async def test_data_in_another_shape_from_the_client_is_ignored(editor: Editor) -> None:
    """A client sends back what the server gave it; one that sends something else (changed,
    or another server's) gets no fix and no error."""
    uri = editor.open("calc.py")
    whole = types.Range(start=types.Position(line=0, character=0),
                        end=types.Position(line=1, character=0))  # fmt: skip
    strange = [
        {"line": "six", "endLine": 7, "runId": "r", "suggestion": "x\n"},
        {"runId": "r", "suggestion": "x\n"},
        ["not", "an", "object"],
        {"line": 9, "endLine": 2, "runId": "r", "suggestion": "x\n", "uri": uri},
    ]
    diagnostics = [
        types.Diagnostic(range=whole, message="m", source="agentls", data=data) for data in strange
    ]
    actions = await editor.client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=whole,
            context=types.CodeActionContext(diagnostics=diagnostics),
        )
    )
    kinds = [a.kind for a in actions or [] if isinstance(a, types.CodeAction)]
    assert types.CodeActionKind.QuickFix not in kinds
    for data in [*strange, {"uri": uri, "line": 1, "endLine": 1}]:
        action = types.CodeAction(title="agentls: apply", data=data)
        resolved = await editor.client.code_action_resolve_async(action)
        assert resolved.edit is None
    assert await editor.command("agentls.listRuns") == []  # still serving


def test_each_command_has_a_handler_and_those_answered_later_are_coroutines() -> None:
    from agentls.server.commands import HANDLERS

    assert set(HANDLERS) == set(Command)
    later = {
        command for command, handler in HANDLERS.items() if inspect.iscoroutinefunction(handler)
    }
    assert later == ANSWERED_LATER
