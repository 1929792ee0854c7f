from __future__ import annotations

from pathlib import Path

import pytest

from agentls.domain.errors import TaskInputError
from agentls.domain.results import LineRange, ProposedEdit, WorkflowResult
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
