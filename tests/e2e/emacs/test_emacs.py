"""The Emacs configuration of docs/editors.md, in real Emacs with its own LSP client (eglot),
against the real server and the fake CLIs. Each test body types keys as a person would
(M-x eglot-code-actions, the menu, C-/) and keeps what Emacs showed; the assertions are here.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import SAMPLE
from tests.e2e.emacs.harness import Emacs, find_emacs
from tests.e2e.workspace import FINDINGS, FIX, NEW_MEAN, OLD_MEAN, docs_snippet, fenced

pytestmark = pytest.mark.skipif(
    find_emacs() is None, reason="no Emacs with eglot: `make emacs` installs them from Debian"
)


def documented_init(emacs: Emacs) -> str:
    init = docs_snippet("Emacs (eglot)", "elisp")
    assert "/path/to/.venv/bin/agentls" in init
    return init.replace("/path/to/.venv/bin/agentls", str(emacs.launcher))


def test_review_findings_are_flymake_diagnostics_and_the_quick_fix_applies(emacs: Emacs) -> None:
    emacs.scenario("gemini", fenced(json.dumps(FINDINGS)))
    outcome = emacs.run(
        documented_init(emacs),
        """
(T-open "calc.py")
(T-select 5 6)
(T-code-action "agentls: review the selection with gemini")
(T-wait (lambda () (T-shown "review (gemini): ok")) "the review ends")
(T-wait (lambda () (T-diagnostics)) "Flymake shows the finding")
(T-put "diagnostics" (vconcat (T-diagnostics)))
(T-type "C-SPC C-SPC M-g g 6 RET")
(T-code-action "agentls: apply gemini's suggestion for empty-mean")
(T-wait (lambda () (string-search "max(len(values), 1)" (T-text))) "the fix")
(T-put "text" (T-text))
(T-wait (lambda () (null (T-diagnostics))) "the fixed finding goes")
""",
    )
    [review] = emacs.calls("gemini")
    assert "return sum(values) / len(values)" in review["prompt"]
    [diagnostic] = outcome.result["diagnostics"]
    assert diagnostic == {
        "line": 6,
        "type": "eglot-error",
        "text": "agentls [empty-mean]: ZeroDivisionError on an empty list (gemini)",
    }
    assert outcome.result["text"] == SAMPLE.replace("    return sum(values) / len(values)\n", FIX)
    started = outcome.shown("agentls: review with gemini: started (run ")
    ended = outcome.shown("agentls: review (gemini): ok, 1 iteration, 1 finding, 0 files changed")
    assert len(started) == 1 and len(ended) == 1
    assert outcome.questions == [], "a quick fix is applied without asking"


def test_a_proposed_change_is_accepted_with_a_code_action_and_undone_in_one_step(
    emacs: Emacs,
) -> None:
    """Review mode, the default: the run proposes, the code action on the change accepts it."""
    emacs.workflow("one", {"agent": "codex", "task": "implement"})
    emacs.scenario("codex", fenced(NEW_MEAN, "python"))
    outcome = emacs.run(
        documented_init(emacs),
        """
(T-open "calc.py")
(T-select 5 6)
(T-code-action "agentls: run one on the selection (codex)")
(T-wait (lambda () (T-shown "review them")) "the run's end")
(T-put "proposed" (T-text))
(T-wait (lambda () (T-diagnostics)) "the proposed change as a diagnostic")
(T-put "diagnostics" (vconcat (T-diagnostics)))
(T-select 6 6)
(T-type "M-x eglot-code-actions RET" :text "agentls: accept this change (codex)" "RET" "y")
(T-wait (lambda () (string-search "if values else 0.0" (T-text))) "the accepted change")
(T-put "after" (T-text))
(T-type "C-/")
(T-put "undone" (T-text))
""",
    )
    assert outcome.result["proposed"] == SAMPLE, "nothing is applied before it is accepted"
    [diagnostic] = outcome.result["diagnostics"]
    assert diagnostic == {
        "line": 6,
        "type": "eglot-note",
        "text": "agentls proposal: codex proposes: implement (+1 -1 lines)",
    }
    assert outcome.result["after"] == SAMPLE.replace(OLD_MEAN, NEW_MEAN)
    assert outcome.result["undone"] == SAMPLE, "one C-/ undoes the accepted change"
    # eglot asks before it edits (its command waits for the answer): "y" was typed.
    assert outcome.questions == []
    assert outcome.shown("agentls: one: ok, 1 iteration, 0 findings, 1 file changed")


def test_agentls_cancel_stops_the_run_and_leaves_the_text_alone(emacs: Emacs) -> None:
    emacs.workflow("one", {"agent": "codex", "task": "implement"})
    emacs.scenario("codex", behavior="hang")
    outcome = emacs.run(
        documented_init(emacs),
        """
(T-open "calc.py")
(T-select 5 6)
(T-code-action "agentls: run one on the selection (codex)")
(T-wait (lambda () (T-fake-agents)) "codex starts")
(T-put "agents" (vconcat (T-fake-agents)))
(T-type "M-x agentls-cancel RET")
(T-wait (lambda () (T-shown "cancelled")) "the run ends")
(T-wait (lambda () (null (T-fake-agents))) "no agent is left" 10)
(T-put "text" (T-text))
""",
    )
    assert outcome.result["agents"], "the agent was running"
    assert outcome.shown("agentls: one: cancelled")
    assert outcome.result["text"] == SAMPLE
    assert emacs.agents_alive() == []
