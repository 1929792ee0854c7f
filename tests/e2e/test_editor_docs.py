"""The editor configurations in docs/editors.md that no editor here can run: they parse, and
they start `agentls serve`."""

from __future__ import annotations

import json
import tomllib

from tests.e2e.workspace import docs_snippet

SERVE = ["/path/to/.venv/bin/agentls", "serve"]


def test_the_helix_configuration_is_valid_toml_for_agentls() -> None:
    config = tomllib.loads(docs_snippet("Helix (`languages.toml`)", "toml"))
    server = config["language-server"]["agentls"]
    assert [server["command"], *server["args"]] == SERVE
    assert any("agentls" in language["language-servers"] for language in config["language"])


def test_the_zed_configuration_is_valid_json_for_agentls() -> None:
    config = json.loads(docs_snippet("Zed (`settings.json`)", "json"))
    binary = config["lsp"]["agentls"]["binary"]
    assert [binary["path"], *binary["arguments"]] == SERVE
    assert "agentls" in config["languages"]["Python"]["language_servers"]


def test_the_sublime_configuration_is_valid_json_for_agentls() -> None:
    config = json.loads(docs_snippet("Sublime Text (LSP package, `LSP.sublime-settings`)", "json"))
    client = config["clients"]["agentls"]
    assert client["command"] == SERVE and client["enabled"] is True
