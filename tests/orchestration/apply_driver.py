"""Test driver, run as a script: an apply that kills itself (SIGKILL) part-way.

``python apply_driver.py WORKSPACE MOMENT`` applies edits to a.py (CRLF), b.py and a new
new/c.py, and dies at MOMENT: ``after-first`` (the first file renamed into place),
``before-commit`` (every file written, the history not yet told) or ``after-commit`` (recorded,
its leftovers not yet removed); or, with ``undo-merged``, applies them, adds a line at the top
of a.py as a user would, and dies while undoing, just after the merged a.py is renamed into
place. The patches live here, never in agentls.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from agentls.domain import textfile
from agentls.domain.results import LineRange, ProposedEdit, WorkflowResult
from agentls.orchestration import history as history_module
from agentls.orchestration import journal
from agentls.orchestration.apply import apply_result, undo
from agentls.orchestration.history import History

RUN_ID = "killed0run01"


def die(*_: object, **__: object) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    workspace = Path(sys.argv[1]).resolve()
    moment = sys.argv[2]
    history = History(workspace)
    edits = [
        ProposedEdit(path="a.py", range=LineRange(start=2, end=2), new_text="TWO\n"),
        ProposedEdit(path="b.py", new_text="B\n"),
        ProposedEdit(path="new/c.py", kind="create", new_text="c\n"),
    ]
    result = WorkflowResult(
        run_id=RUN_ID,
        workflow="w",
        status="ok",
        stop_reason="completed",
        edits=edits,
        originals={e.path: textfile.read_text(workspace / e.path) for e in edits},
        summary="w: ok",
    )
    history.record_run(result, "a.py", None, None)
    if moment == "after-first":
        real = os.replace

        def replace(src: str | Path, dst: str | Path) -> None:
            real(src, dst)
            if Path(dst).resolve().is_relative_to(workspace):
                die()

        os.replace = replace  # type: ignore[assignment]
    elif moment == "before-commit":
        history_module.History.record_applied = die  # type: ignore[method-assign]
    elif moment == "after-commit":
        journal._clean_up = die  # type: ignore[assignment]
    elif moment == "undo-merged":
        apply_result(workspace, history, result)
        (workspace / "a.py").write_bytes(b"zero\r\n" + (workspace / "a.py").read_bytes())
        real_replace = os.replace

        def replace_then_die(src: str | Path, dst: str | Path) -> None:
            real_replace(src, dst)
            if Path(dst).resolve() == workspace / "a.py":
                die()

        os.replace = replace_then_die  # type: ignore[assignment]
        undo(workspace, history, RUN_ID)
        sys.exit("the undo finished: the driver did not kill it")
    apply_result(workspace, history, result)
    sys.exit("the apply finished: the driver did not kill it")


if __name__ == "__main__":
    main()
