from __future__ import annotations

import sqlite3
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agentls.domain.errors import TaskInputError
from agentls.domain.results import (
    Finding,
    LineRange,
    ProposedEdit,
    StepRecord,
    TaskKind,
    TaskResult,
    WorkflowResult,
)
from agentls.orchestration.apply import ApplyError, apply_result, undo
from agentls.orchestration.history import History


def result(
    run_id: str, edits: list[ProposedEdit], originals: dict[str, str | None]
) -> WorkflowResult:
    return WorkflowResult(
        run_id=run_id,
        workflow="w",
        status="ok",
        stop_reason="completed",
        edits=edits,
        originals=originals,
        summary="w: ok",
    )


def test_runs_are_found_by_unambiguous_prefix(tmp_path: Path) -> None:
    history = History(tmp_path)
    for run_id in ("abc111", "abc222", "xyz_%1"):
        history.record_run(result(run_id, [], {}), "f.py", LineRange(start=1, end=2), "do it")
    assert history.run("abc1").run_id == "abc111"
    assert history.run("xyz_%").selection == LineRange(start=1, end=2)
    with pytest.raises(TaskInputError, match="several runs"):
        history.run("abc")
    with pytest.raises(TaskInputError, match="no run"):
        history.run("nothing")
    with pytest.raises(TaskInputError, match="no run"):
        history.run("x%")  # like-wildcards are taken literally


def reviewed(run_id: str, count: int) -> WorkflowResult:
    findings = [
        Finding(path=f"pkg/m{n}.py", line=n + 1, message="`os` imported but unused", code="F401")
        for n in range(count)
    ]
    return result(run_id, [], {}).model_copy(update={"findings": findings})


def stored(history: History, run_id: str) -> object:
    with sqlite3.connect(history.path) as db:
        [(raw,)] = db.execute("select result from turns where run_id = ?", (run_id,))
    return raw


def test_a_turn_is_stored_compressed_and_reads_back_the_same(tmp_path: Path) -> None:
    history = History(tmp_path)
    run = reviewed("r1", 500)
    history.record_run(run, "pkg/m0.py", None, None)
    raw = stored(history, "r1")
    assert isinstance(raw, bytes) and len(raw) * 10 < len(run.model_dump_json())
    [(_, back)] = history.turns("r1")
    assert back == run


def with_its_step(run: WorkflowResult, findings: list[Finding]) -> WorkflowResult:
    """``run`` with one review step, by ruff, that found ``findings``."""
    found = TaskResult(agent="ruff", task=TaskKind.REVIEW, findings=findings)
    step = StepRecord(
        step="review", agent="ruff", task=TaskKind.REVIEW, iteration=1, status="ok", result=found
    )
    return run.model_copy(update={"steps": [step]})


@pytest.mark.parametrize("same", [True, False], ids=["the run's findings", "others"])
def test_a_steps_findings_that_are_the_runs_are_stored_once(tmp_path: Path, same: bool) -> None:
    history = History(tmp_path)
    run = reviewed("r1", 40)
    run = with_its_step(run, list(run.findings) if same else run.findings[:3])
    history.record_run(run, "pkg/m0.py", None, None)
    raw = stored(history, "r1")
    assert isinstance(raw, bytes)
    stored_json = zlib.decompress(raw).decode()
    assert stored_json.count("pkg/m1.py") == (1 if same else 2)  # m1 is among the step's 3
    assert history.turns("r1") == [(None, run)]


def test_an_older_agentls_still_records_its_turns_in_a_history_this_one_opened(
    tmp_path: Path,
) -> None:
    history = History(tmp_path)
    history.record_run(reviewed("r1", 3), "pkg/m0.py", None, None)
    with sqlite3.connect(history.path) as db:  # as it did: the seven columns, in their order
        db.execute("insert into turns values ('r1', 1, 'again', 'ok', 's', '{}', 0)")


def test_a_turn_an_older_agentls_stored_as_text_still_reads(tmp_path: Path) -> None:
    history = History(tmp_path)
    run = reviewed("r1", 3)
    history.record_run(run, "pkg/m0.py", None, None)
    with sqlite3.connect(history.path) as db:
        db.execute("update turns set result = ?", (run.model_dump_json(),))
    assert isinstance(stored(history, "r1"), str)
    assert history.turns("r1") == [(None, run)]


@pytest.mark.parametrize(
    "damage",
    [
        lambda raw: raw[: len(raw) // 2],  # cut short (a full disk, a crash)
        lambda raw: zlib.compress(b'{"run_id": 1}'),  # not a result
        lambda raw: "{not json",
    ],
    ids=["cut short", "not a result", "text that is not JSON"],
)
def test_a_damaged_turn_is_one_line_of_error(
    tmp_path: Path, damage: Callable[[Any], object]
) -> None:
    history = History(tmp_path)
    history.record_run(reviewed("r1", 3), "pkg/m0.py", None, None)
    with sqlite3.connect(history.path) as db:
        db.execute("update turns set result = ?", (damage(stored(history, "r1")),))
    with pytest.raises(TaskInputError, match=r"^run r1 is damaged in this workspace's history"):
        history.turns("r1")
    assert history.run("r1").run_id == "r1"  # the rest of the history is still there


@pytest.mark.parametrize("steps", ["7", "review"])
def test_a_damaged_list_of_steps_is_one_line_of_error(tmp_path: Path, steps: str) -> None:
    history = History(tmp_path)
    run = reviewed("r1", 3)
    history.record_run(with_its_step(run, list(run.findings)), "pkg/m0.py", None, None)
    with sqlite3.connect(history.path) as db:
        db.execute("update shared_findings set steps = ?", (steps,))
    with pytest.raises(TaskInputError, match=r"^run r1 is damaged in this workspace's history"):
        history.turns("r1")


def test_history_lives_outside_the_workspace(tmp_path: Path) -> None:
    history = History(tmp_path / "ws")
    assert not str(history.path).startswith(str(tmp_path / "ws"))


def test_apply_backs_up_writes_atomically_and_undo_restores(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("one\ntwo\n")
    (tmp_path / "a.py").chmod(0o755)
    history = History(tmp_path)
    run = result(
        "r1",
        [
            ProposedEdit(path="a.py", range=LineRange(start=2, end=2), new_text="TWO\n"),
            ProposedEdit(path="pkg/new.py", kind="create", new_text="new\n"),
        ],
        {"a.py": "one\ntwo\n", "pkg/new.py": None},
    )
    history.record_run(run, "a.py", None, None)
    outcome = apply_result(tmp_path, history, run)
    assert sorted(outcome.written) == ["a.py", "pkg/new.py"]
    assert (tmp_path / "a.py").read_text() == "one\nTWO\n"
    assert (tmp_path / "a.py").stat().st_mode & 0o777 == 0o755
    assert not list(tmp_path.glob("*.agentls-*"))
    assert sorted(undo(tmp_path, history, "r1").restored) == ["a.py", "pkg/new.py"]
    assert (tmp_path / "a.py").read_text() == "one\ntwo\n"
    assert not (tmp_path / "pkg" / "new.py").exists()
    with pytest.raises(ApplyError, match="nothing applied"):
        undo(tmp_path, history, "r1")


def test_apply_writes_nothing_when_any_file_changed(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("a\n")
    (tmp_path / "b.py").write_text("b changed by the user\n")
    history = History(tmp_path)
    run = result(
        "r2",
        [ProposedEdit(path="a.py", new_text="A\n"), ProposedEdit(path="b.py", new_text="B\n")],
        {"a.py": "a\n", "b.py": "b\n"},
    )
    with pytest.raises(ApplyError, match=r"b\.py changed since run r2"):
        apply_result(tmp_path, history, run)
    assert (tmp_path / "a.py").read_text() == "a\n"


def test_undo_refuses_files_edited_after_apply(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("a\n")
    history = History(tmp_path)
    run = result("r3", [ProposedEdit(path="a.py", new_text="A\n")], {"a.py": "a\n"})
    history.record_run(run, "a.py", None, None)
    apply_result(tmp_path, history, run)
    (tmp_path / "a.py").write_text("A and more typing\n")
    with pytest.raises(
        ApplyError, match=r"a\.py: line 1 changed since agentls wrote it; nothing was undone"
    ):
        undo(tmp_path, history, "r3")
    assert undo(tmp_path, history, "r3", force=True).restored == ["a.py"]
    assert (tmp_path / "a.py").read_text() == "a\n"
