"""Run real Emacs (batch) with its own LSP client, eglot, against the real server and the fakes.

Emacs and eglot come from Debian (``make emacs`` installs them: Emacs 28 needs the
``elpa-eglot`` package, from Emacs 29 on eglot is built in). ``AGENTLS_TEST_EMACS`` names
another Emacs. Each session is ``emacs -q --batch -l session.el`` in the workspace: the
configuration under test is loaded, a test body in Emacs Lisp types keys as a person would,
and session.el writes what happened to a JSON file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.e2e.workspace import EditorWorkspace

SESSION = Path(__file__).parent / "session.el"


def find_emacs() -> Path | None:
    """An Emacs that can load eglot: $AGENTLS_TEST_EMACS, else ``emacs`` on PATH."""
    named = os.environ.get("AGENTLS_TEST_EMACS") or shutil.which("emacs")
    if not named:
        return None
    check = [named, "-q", "--batch", "--eval", "(require 'eglot)"]
    done = subprocess.run(check, capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    return Path(named) if done.returncode == 0 else None


class EmacsError(AssertionError):
    pass


@dataclass
class Outcome:
    result: dict[str, Any]
    messages: list[str]
    questions: list[str]

    def shown(self, part: str) -> list[str]:
        """The echo-area messages containing ``part``."""
        return [m for m in self.messages if part in m]


class Emacs(EditorWorkspace):
    """Batch Emacs sessions in one workspace, with the fakes and no user configuration."""

    editor_variables = ("EMACS", "INSIDE_EMACS")

    def __init__(self, emacs: Path, workspace: Path, scratch: Path) -> None:
        super().__init__(workspace, scratch)
        self.emacs = emacs
        self.runs = 0

    def run(self, init: str, body: str, timeout: float = 60) -> Outcome:
        """Load the configuration ``init``, then run ``body``; the outcome, or EmacsError."""
        self.runs += 1
        files = {}
        for name, text in (("init", init), ("body", body)):
            files[name] = self.scratch / f"{name}-{self.runs}.el"
            files[name].write_text(text)
        result_file = self.scratch / f"result-{self.runs}.json"
        env = {
            **self.env,
            "AGENTLS_INIT": str(files["init"]),
            "AGENTLS_BODY": str(files["body"]),
            "AGENTLS_RESULT": str(result_file),
        }
        command = [str(self.emacs), "-q", "--batch", "-l", str(SESSION)]
        outcome, output = self.session(command, env, result_file, timeout)
        if outcome is None:
            raise EmacsError(f"Emacs wrote no result\n{output}")
        if outcome.get("ok") is not True:
            raise EmacsError(f"{outcome.get('error')}\n--- output:\n{output[-6000:]}")
        return Outcome(
            result=outcome.get("result") or {},
            messages=list(outcome.get("messages") or []),
            questions=list(outcome.get("questions") or []),
        )
