"""The editor's settings: camelCase or snake_case, a section or not, and bad values; a change
applies at once, and each workspace folder has its own configuration."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

from lsprotocol import types

from agentls.server.settings import SECTION, EditorSettings, parse_settings
from tests.conftest import write_trusted
from tests.server.conftest import Editor


def test_empty_settings_from_neovim_are_the_defaults() -> None:
    for raw in (None, [], {}):
        settings, problem = parse_settings(raw)
        assert problem is None and settings.apply_mode == "review"


def test_settings_under_the_section_or_not_in_either_case() -> None:
    settings, problem = parse_settings({"agentls": {"applyMode": "preview"}})
    assert problem is None and settings.apply_mode == "preview"
    settings, problem = parse_settings({"default_workflow": "offline", "maxContextBytes": 4096})
    assert problem is None
    assert settings.overrides() == {
        "settings": {"default_workflow": "offline", "max_context_bytes": 4096}
    }


def test_a_bad_setting_is_ignored_and_named_and_the_others_apply() -> None:
    settings, problem = parse_settings(
        {"applyMode": "sometimes", "defaultWorkflow": "offline", "maxContextBytes": 10}
    )
    assert problem is not None
    assert problem.startswith("agentls settings applyMode, maxContextBytes ignored: ")
    assert "'apply', 'preview' or 'ask'" in problem and "greater than or equal to 1024" in problem
    assert settings.apply_mode == "review" and settings.max_context_bytes is None
    assert settings.default_workflow == "offline"


def test_settings_that_are_not_an_object_are_ignored_with_a_message() -> None:
    settings, problem = parse_settings(["applyMode"])
    assert problem == "agentls settings ignored: expected an object, got ['applyMode']"
    assert settings.apply_mode == "review"


def test_every_server_setting_is_contributed_by_the_vscode_extension_and_documented() -> None:
    """A setting added to the server must reach VS Code users and the docs too."""
    repo = Path(__file__).resolve().parents[2]
    package = json.loads((repo / "editors/vscode/package.json").read_text())
    contributed = package["contributes"]["configuration"]["properties"]
    names = [field.alias or name for name, field in EditorSettings.model_fields.items()]
    assert names, "EditorSettings has fields"
    settings_ts = (repo / "editors/vscode/src/settings.ts").read_text()
    keys = re.search(r"SERVER_SETTING_KEYS = \[(.*?)\]", settings_ts, re.S)
    assert keys is not None
    assert sorted(re.findall(r'"(\w+)"', keys.group(1))) == sorted(names)
    docs = (repo / "docs/server.md").read_text()
    for name in names:
        entry = contributed.get(f"{SECTION}.{name}")
        assert entry is not None, f"package.json contributes no agentls.{name}"
        assert entry.get("description") or entry.get("markdownDescription"), name
        assert f"| `{name}` |" in docs, f"docs/server.md does not list {name}"


def test_a_client_cannot_choose_what_an_agent_runs() -> None:
    settings, problem = parse_settings(
        {
            "agents": {
                "claude": {
                    "model": "opus",
                    "command": ["sh", "-c", "id"],
                    "env": ["AWS_SECRET_ACCESS_KEY"],
                    "setEnv": {"NODE_OPTIONS": "--require /tmp/x.js"},
                    "adapter": "command",
                    "options": {"output": "json"},
                    "extraArgs": ["--dangerously-skip-permissions"],
                },
                "evil": {"adapter": "command", "command": ["sh"]},
            },
            "command": ["sh"],
            "applyMode": "preview",
        }
    )
    assert problem is not None
    for key in ("command", "env", "setEnv", "adapter", "options", "extraArgs"):
        assert f"agents.claude.{key}" in problem
    assert "agents.evil.adapter" in problem and ", command ignored: " in problem
    assert problem.count("\n") == 0  # one warning line
    assert settings.apply_mode == "preview"
    assert settings.overrides() == {"agents": {"claude": {"model": "opus"}}}


def test_a_model_is_a_plain_value_never_a_flag() -> None:
    for model in ("--dangerously-skip-permissions", "-c", "a b", "", "x" * 200, "o\npus"):
        settings, problem = parse_settings({"agents": {"codex": {"model": model}}})
        assert problem is not None and "agents.codex.model" in problem, model
        assert settings.overrides() == {}
    settings, problem = parse_settings({"agents": {"codex": {"model": "gpt-5-codex"}}})
    assert problem is None and settings.overrides()["agents"]["codex"]["model"] == "gpt-5-codex"


def test_the_token_and_the_editors_own_keys_are_not_settings() -> None:
    settings, problem = parse_settings(
        {"token": "s3cret", "server": {"path": "agentls"}, "trace": {"server": "off"}}
    )
    assert problem is None and settings == EditorSettings()


async def test_configuration_changes_apply_at_once(editor: Editor) -> None:
    uri = editor.open("calc.py")
    editor.client.set_configuration({"defaultWorkflow": "offline"}, section="agentls")
    editor.client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings=None)  # the pull model: the server asks
    )

    async def default() -> list[str]:
        workflows = await editor.command("agentls.listWorkflows", uri=uri)
        return [w["name"] for w in workflows if w["default"]]

    for _ in range(200):  # the server asks for the settings, then applies them: no restart
        if await default() == ["offline"]:
            break
        await asyncio.sleep(0.05)
    assert await default() == ["offline"]
    run_id = (await editor.command("agentls.runWorkflow", uri=uri))["runId"]
    reports = await editor.finished(run_id)
    assert reports[0].title == "agentls: offline"


async def test_each_workspace_folder_has_its_own_configuration(editor: Editor) -> None:
    second = editor.workspace.parent / "second"
    second.mkdir()
    write_trusted(second / ".agentls.yaml", "settings:\n  default_workflow: offline\n")
    (second / "other.py").write_text("import os\n")
    editor.client.workspace_did_change_workspace_folders(
        types.DidChangeWorkspaceFoldersParams(
            event=types.WorkspaceFoldersChangeEvent(
                added=[types.WorkspaceFolder(uri=second.as_uri(), name="second")], removed=[]
            )
        )
    )
    first_uri = editor.open("calc.py")
    second_uri = second.joinpath("other.py").as_uri()
    editor.documents[second_uri] = (1, "import os\n")
    editor.client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=second_uri, language_id="python", version=1, text="import os\n"
            )
        )
    )
    first = await editor.command("agentls.listWorkflows", uri=first_uri)
    other = await editor.command("agentls.listWorkflows", uri=second_uri)
    assert [w["name"] for w in first if w["default"]] == ["default"]
    assert [w["name"] for w in other if w["default"]] == ["offline"]
    run_id = (await editor.command("agentls.runWorkflow", uri=second_uri))["runId"]
    await editor.finished(run_id)
    assert [d.code for d in editor.client.diagnostics[second_uri]] == ["F401"]
