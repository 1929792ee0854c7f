from __future__ import annotations

from pathlib import Path

from agentls.orchestration.config_loader import load_config
from agentls.orchestration.edits import apply_edit
from agentls.orchestration.results import ErrorKind, LineRange, ProposedEdit, Severity, TaskKind
from agentls.orchestration.tasks import TaskSpec, run_task

CODE = """import os
import sys


def f(x, acc=[]):
    if x == None:
        return undefined_name
    return sys.argv
"""


def review(workspace: Path, selection: LineRange | None = None, text: str | None = None) -> object:
    import asyncio

    (workspace / "mod.py").write_text(CODE)
    (workspace / "ruff.toml").write_text('[lint]\nselect = ["E", "F"]\n')  # the workspace's own
    spec = TaskSpec(
        agent="ruff",
        task=TaskKind.REVIEW,
        workspace=workspace,
        path="mod.py",
        selection=selection,
        file_text=text,
    )
    return asyncio.run(run_task(load_config(workspace), spec))


def test_ruff_findings_with_fixes_as_suggestions(workspace: Path) -> None:
    result = review(workspace)
    assert result.ok, result.error
    by_code = {f.code: f for f in result.findings}
    assert by_code["F821"].severity is Severity.ERROR and by_code["F821"].line == 7
    unused = by_code["F401"]
    assert (unused.path, unused.line, unused.end_line) == ("mod.py", 1, 1)
    assert unused.suggestion == ""  # the fix deletes the line
    comparison = by_code["E711"]
    assert comparison.suggestion == "    if x is None:\n"
    fixed = apply_edit(
        CODE,
        ProposedEdit(
            path="mod.py",
            range=LineRange(start=comparison.line, end=comparison.last_line),
            new_text=comparison.suggestion,
        ),
    )
    assert "if x is None:" in fixed and fixed.count("\n") == CODE.count("\n")
    assert all(f.agent == "ruff" for f in result.findings)


def test_selection_keeps_only_findings_inside_it(workspace: Path) -> None:
    result = review(workspace, LineRange(start=6, end=7))
    assert sorted(f.code for f in result.findings) == ["E711", "F821"]


def test_reviews_the_buffer_text_not_the_file_on_disk(workspace: Path) -> None:
    result = review(workspace, text="x = 1\n")
    assert result.ok and result.findings == []


def test_ruff_only_reviews(workspace: Path) -> None:
    import asyncio

    spec = TaskSpec(agent="ruff", task=TaskKind.IMPLEMENT, workspace=workspace, path="calc.py")
    result = asyncio.run(run_task(load_config(workspace), spec))
    assert result.error is not None and result.error.kind is ErrorKind.UNSUPPORTED
    assert "supports: review" in result.error.message
