from __future__ import annotations

from pathlib import Path

import pytest

from agentls.adapters.ruff import _finding
from agentls.domain.edits import apply_edit
from agentls.domain.errors import TaskDeclined
from agentls.domain.lines import LineIndex
from agentls.domain.results import (
    ErrorKind,
    LineRange,
    ProposedEdit,
    Severity,
    TaskKind,
    TaskResult,
)
from agentls.domain.textfile import BinaryFileError
from agentls.orchestration.config_loader import load_config
from agentls.orchestration.tasks import TaskSpec, make_adapter, run_task

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


def run_ruff(workspace: Path, name: str, data: bytes, text: str | None = None) -> TaskResult:
    import asyncio

    (workspace / name).write_bytes(data)
    (workspace / "ruff.toml").write_text('[lint]\nselect = ["E", "F"]\n')
    spec = TaskSpec(
        agent="ruff", task=TaskKind.REVIEW, workspace=workspace, path=name, file_text=text
    )
    return asyncio.run(run_task(load_config(workspace), spec))


def test_a_latin1_file_is_given_to_ruff_decoded_and_fixed_by_characters(workspace: Path) -> None:
    # ruff reads only UTF-8 (from disk this file is an io-error); it gets the decoded text,
    # and its columns count characters, so a fix after "é" on the same line lands right.
    source = "# coding: latin-1\nx = ['ééé']; import os\nif x == None: pass\n"
    result = run_ruff(workspace, "legacy.py", source.encode("latin-1"))
    assert result.ok, result.error
    by_code = {f.code: f for f in result.findings}
    assert "E902" not in by_code  # no "stream did not contain valid UTF-8"
    assert by_code["F401"].line == 2 and by_code["F401"].suggestion == "x = ['ééé']; \n"
    assert by_code["E711"].line == 3 and by_code["E711"].suggestion == "if x is None: pass\n"


@pytest.mark.parametrize(
    "item",
    [
        {"code": "invalid-syntax", "message": "Expected an expression"},  # ruff 0.12 and later
        {"code": None, "message": "SyntaxError: Expected an expression"},  # ruff 0.5 to 0.11
        {"code": "E999", "message": "SyntaxError: invalid syntax"},  # before 0.5
        {"code": "F821", "message": "Undefined name `x`"},
    ],
)
def test_syntax_errors_and_build_stoppers_are_errors(item: dict[str, object]) -> None:
    finding = _finding({**item, "location": {"row": 1, "column": 1}}, "m.py", LineIndex("x(\n"))
    assert finding is not None and finding.severity is Severity.ERROR


def test_style_rules_are_warnings() -> None:
    item = {"code": "E711", "message": "Comparison to None", "location": {"row": 1, "column": 1}}
    finding = _finding(item, "m.py", LineIndex("x == None\n"))
    assert finding is not None and finding.severity is Severity.WARNING


@pytest.mark.parametrize("row", [0, -3])
def test_a_fix_before_the_first_line_is_no_suggestion(row: int) -> None:
    edit = {"content": "", "location": {"row": row, "column": 1}}
    item = {
        "code": "F401",
        "message": "`os` imported but unused",
        "location": {"row": 1, "column": 8},
        "fix": {"applicability": "safe", "edits": [{**edit, "end_location": edit["location"]}]},
    }
    finding = _finding(item, "m.py", LineIndex("import os\nx = 1\n"))
    assert finding is not None and finding.line == 1 and finding.suggestion is None


def test_ruffs_own_report_of_a_syntax_error_is_an_error_finding(workspace: Path) -> None:
    result = run_ruff(workspace, "broken.py", b"def f(:\n    pass\n")
    assert result.ok, result.error
    assert result.findings and {f.severity for f in result.findings} == {Severity.ERROR}
    assert result.findings[0].line == 1


@pytest.mark.parametrize(
    ("name", "declined"),
    [
        ("mod.py", False),
        ("stubs/mod.pyi", False),
        ("tool.pyw", False),
        ("LOUD.PY", False),
        ("notes.md", True),
        ("analysis.ipynb", True),  # ruff's rows there are cell-relative, not the file's lines
        ("Makefile", True),
    ],
)
def test_ruff_is_given_python_files_only(workspace: Path, name: str, declined: bool) -> None:
    adapter = make_adapter(load_config(workspace), "ruff")
    reason = adapter.declines(name)
    assert (reason is not None) is declined
    if reason is not None:
        assert reason == f"ruff reviews Python files; {name} is not one"


def test_a_declined_file_never_reaches_ruff(workspace: Path) -> None:
    with pytest.raises(TaskDeclined, match=r"notes\.md is not one"):
        run_ruff(workspace, "notes.md", b"import os\n")


def test_a_binary_buffer_is_refused(workspace: Path) -> None:
    with pytest.raises(BinaryFileError, match=r"mod\.py is not a text file"):
        run_ruff(workspace, "mod.py", b"x = 1\n", text="x = 1\n\0\0\0")
