"""The editor's settings: camelCase or snake_case, a section or not, and bad values."""

from __future__ import annotations

import json
import re
from pathlib import Path

from agentls.server.settings import SECTION, EditorSettings, parse_settings


def test_empty_settings_from_neovim_are_the_defaults() -> None:
    for raw in (None, [], {}):
        settings, problem = parse_settings(raw)
        assert problem is None and settings.apply_mode == "apply"


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
    assert settings.apply_mode == "apply" and settings.max_context_bytes is None
    assert settings.default_workflow == "offline"


def test_settings_that_are_not_an_object_are_ignored_with_a_message() -> None:
    settings, problem = parse_settings(["applyMode"])
    assert problem == "agentls settings ignored: expected an object, got ['applyMode']"
    assert settings.apply_mode == "apply"


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
