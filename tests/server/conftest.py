"""pytest-lsp fixtures: the real server over stdio, a client that behaves like an editor."""

from __future__ import annotations

import asyncio
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import pytest
import pytest_lsp
import yaml
from lsprotocol import types
from pygls.protocol import default_converter
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from tests.conftest import new_fakes_io, write_trusted
from tests.fakes.script import log_file, read_calls, script_agent, write_scenario

DATA = Path(__file__).parent.parent / "data"
CLIENTS = ["visual-studio-code", "neovim", "vscode-1.139"]


def capabilities(name: str) -> types.ClientCapabilities:
    """pytest-lsp's preset, or what a client really sent (vscode-1.139 and eglot-1.9, the
    Emacs 28 client, were captured from the editors at ``initialize``)."""
    captured = DATA / f"{name}-client-capabilities.json"
    if captured.exists():
        raw = json.loads(captured.read_text())
        return default_converter().structure(raw, types.ClientCapabilities)
    return client_capabilities(name)


@dataclass
class Editor:
    """The client side of a test: open documents, applied edits, shown messages."""

    client: LanguageClient
    workspace: Path
    documents: dict[str, tuple[int, str]] = field(default_factory=dict)
    edits: list[types.ApplyWorkspaceEditParams] = field(default_factory=list)
    edit_arrived: asyncio.Event = field(default_factory=asyncio.Event)
    refuse_edits: bool = False
    answer: str | None = "Apply"
    asked: list[types.ShowMessageRequestParams] = field(default_factory=list)
    lens_refreshes: int = 0
    fakes_io: Path = field(default_factory=new_fakes_io)

    def uri(self, name: str) -> str:
        return (self.workspace / name).as_uri()

    def open(self, name: str, text: str | None = None) -> str:
        uri = self.uri(name)
        text = (self.workspace / name).read_text() if text is None else text
        self.documents[uri] = (1, text)
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=uri, language_id="python", version=1, text=text
                )
            )
        )
        return uri

    def type(self, uri: str, text: str) -> None:
        """The user replaces the whole text (full sync)."""
        version = self.documents[uri][0] + 1
        self.documents[uri] = (version, text)
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
            )
        )

    def text(self, uri: str) -> str:
        return self.documents[uri][1]

    def apply(self, params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        """What an editor does: check versions, apply every edit, send didChange."""
        self.edits.append(params)
        self.edit_arrived.set()
        if self.refuse_edits:
            return types.ApplyWorkspaceEditResult(applied=False, failure_reason="user said no")
        changes = params.edit.document_changes or []
        for change in changes:
            if not isinstance(change, types.TextDocumentEdit):
                continue
            uri = change.text_document.uri
            version, _ = self.documents.get(uri, (0, ""))
            if change.text_document.version is not None and change.text_document.version != version:
                return types.ApplyWorkspaceEditResult(
                    applied=False, failure_reason=f"version {version} is not the edit's"
                )
        for change in changes:
            if isinstance(change, types.TextDocumentEdit):
                uri = change.text_document.uri
                if uri in self.documents:
                    self.type(uri, apply_text_edits(self.documents[uri][1], change.edits))
        for uri, text_edits in (params.edit.changes or {}).items():
            if uri in self.documents:
                self.type(uri, apply_text_edits(self.documents[uri][1], text_edits))
        return types.ApplyWorkspaceEditResult(applied=True)

    async def wait_edit(self, timeout: float = 30) -> types.ApplyWorkspaceEditParams:
        await asyncio.wait_for(self.edit_arrived.wait(), timeout)
        self.edit_arrived.clear()
        return self.edits[-1]

    async def command(self, name: str, **arguments: Any) -> Any:
        return await self.client.workspace_execute_command_async(
            types.ExecuteCommandParams(command=name, arguments=[arguments])
        )

    async def finished(self, run_id: str, timeout: float = 30) -> list[Any]:
        """The progress reports of a run, once its progress has ended."""
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            for token, reports in self.client.progress_reports.items():
                if (
                    run_id in str(token)
                    and reports
                    and isinstance(reports[-1], types.WorkDoneProgressEnd)
                ):
                    return list(reports)
            await asyncio.sleep(0.05)
        raise AssertionError(f"run {run_id} did not finish in {timeout} s")

    def scenario(self, agent: str, *replies: str, behavior: str = "ok", **fields: Any) -> Path:
        """Script ``agent``'s fake in the workspace configuration (read when a file opens)."""
        path = write_scenario(self.fakes_io, agent, behavior, replies, **fields)
        config_file = self.workspace / ".agentls.yaml"
        config = yaml.safe_load(config_file.read_text())
        script_agent(config, agent, path, log_file(self.fakes_io, agent))
        write_trusted(config_file, yaml.safe_dump(config))
        return path

    def calls(self, agent: str) -> list[dict[str, Any]]:
        return read_calls(log_file(self.fakes_io, agent))


# What the tests of the server share: an implementer's new mean(), a reviewer's finding on its
# division (with a fix), the lines of mean(); an agent's reply with code; code actions asked.
NEW_MEAN = "def mean(values):\n    return sum(values) / len(values) if values else 0.0\n"
FINDINGS = (
    '```json\n{"findings": [{"line": 6, "severity": "error", "message": "empty list",'
    ' "code": "zero-div", "suggestion": "    return sum(values) / max(len(values), 1)\\n"}]}\n```'
)
MEAN_RANGE = types.Range(
    start=types.Position(line=4, character=0), end=types.Position(line=6, character=0)
)


def code(text: str) -> str:
    return f"Here:\n```python\n{text}```\n"


async def code_actions(
    editor: Editor, uri: str, rng: types.Range = MEAN_RANGE, **context: object
) -> list[types.CodeAction]:
    result = await editor.client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=rng,
            context=types.CodeActionContext(**context),  # type: ignore[arg-type]
        )
    )
    return [a for a in result or [] if isinstance(a, types.CodeAction)]


async def apply_quick_fix(editor: Editor, uri: str, diagnostic: types.Diagnostic) -> None:
    """Choose the diagnostic's one quick fix, as an editor does (resolving its edit when the
    server defers it), and apply it."""
    actions = await code_actions(editor, uri, diagnostic.range, diagnostics=[diagnostic])
    [fix] = [a for a in actions if a.kind == types.CodeActionKind.QuickFix]
    if fix.edit is None:
        fix = await editor.client.code_action_resolve_async(fix)
    assert fix.edit is not None
    editor.apply(types.ApplyWorkspaceEditParams(edit=fix.edit))


def apply_text_edits(text: str, edits: Any) -> str:
    """As an editor applies them: only \\n, \\r\\n and \\r end a line (LSP's lines)."""
    lines = [line for line in re.split(r"(?<=\n)|(?<=\r)(?!\n)", text) if line]
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))

    def offset(position: types.Position) -> int:
        if position.line >= len(lines):
            return len(text)
        return offsets[position.line] + min(position.character, len(lines[position.line]))

    spans = sorted(
        ((offset(e.range.start), offset(e.range.end), e.new_text) for e in edits), reverse=True
    )
    for start, end, new_text in spans:
        text = text[:start] + new_text + text[end:]
    return text


@pytest.fixture(autouse=True)
def server_credentials(credentials: None) -> None:
    """Set before the server process starts, so the agents it runs see them."""


def _fix_code_action_structuring(client: LanguageClient) -> None:
    """lsprotocol reads any object with a "command" key as a Command, so a CodeAction that
    carries a command comes back mangled; editors tell them apart by the key's type."""
    converter = client.protocol._converter

    def structure(value: Any, _: type) -> types.Command | types.CodeAction:
        if isinstance(value.get("command"), str):
            return converter.structure(value, types.Command)
        return converter.structure(value, types.CodeAction)

    converter.register_structure_hook(Union[types.Command, types.CodeAction], structure)  # noqa: UP007


async def _initialize(
    lsp_client: LanguageClient,
    workspace: Path,
    capabilities_name: str,
    apply_mode: str | None = "apply",
) -> Editor:
    """``apply_mode`` None: no settings at all (the server's defaults)."""
    """An editor over ``lsp_client`` that answers as an editor does, initialized."""
    editor = Editor(lsp_client, workspace)
    lsp_client.editor = editor  # type: ignore[attr-defined]
    _fix_code_action_structuring(lsp_client)

    @lsp_client.feature(types.WORKSPACE_APPLY_EDIT)
    def apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        return editor.apply(params)

    @lsp_client.feature(types.WINDOW_SHOW_MESSAGE_REQUEST)
    def ask(params: types.ShowMessageRequestParams) -> types.MessageActionItem | None:
        editor.asked.append(params)
        return types.MessageActionItem(title=editor.answer) if editor.answer else None

    @lsp_client.feature(types.WORKSPACE_CODE_LENS_REFRESH)
    def refresh_lenses(params: None) -> None:
        editor.lens_refreshes += 1

    @lsp_client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def register(params: types.RegistrationParams) -> None:
        return None

    # Most tests are about what reaches the files: they apply at once. Review mode, the
    # default, has its own tests (test_review.py).
    settings = {} if apply_mode is None else {"applyMode": apply_mode}
    lsp_client.set_configuration(settings, section="agentls")
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=capabilities(capabilities_name),
            initialization_options=settings or None,
            root_uri=workspace.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=workspace.as_uri(), name="ws")],
        )
    )
    return editor


SERVER = ClientServerConfig(server_command=[sys.executable, "-m", "agentls", "serve"])


@pytest_lsp.fixture(params=CLIENTS, config=SERVER)
async def client(
    request: pytest.FixtureRequest, lsp_client: LanguageClient, workspace: Path
) -> Any:
    await _initialize(lsp_client, workspace, request.param)
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(params=CLIENTS, config=SERVER)
async def reviewing_client(
    request: pytest.FixtureRequest, lsp_client: LanguageClient, workspace: Path
) -> Any:
    """An editor that sets nothing: the server's default apply mode, review."""
    await _initialize(lsp_client, workspace, request.param, apply_mode=None)
    yield
    await lsp_client.shutdown_session()


@pytest.fixture
def reviewer(reviewing_client: LanguageClient) -> Editor:
    return reviewing_client.editor  # type: ignore[attr-defined,no-any-return]


@pytest_lsp.fixture(config=SERVER)
async def eglot(lsp_client: LanguageClient, workspace: Path) -> Any:
    """A client with the capabilities of Emacs 28's eglot 1.9: no work-done progress, no
    codeAction/resolve, versioned edits."""
    await _initialize(lsp_client, workspace, "eglot-1.9")
    yield
    await lsp_client.shutdown_session()


@pytest.fixture
def editor(client: LanguageClient) -> Editor:
    return client.editor  # type: ignore[attr-defined,no-any-return]
