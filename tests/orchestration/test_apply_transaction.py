"""``apply_result`` and ``undo`` as transactions: a fault part-way changes nothing."""

from __future__ import annotations

import errno
import json
import os
import sqlite3
from pathlib import Path

import pytest

from agentls.domain.results import LineRange, ProposedEdit, WorkflowResult
from agentls.orchestration import journal
from agentls.orchestration.apply import ApplyError, apply_result, undo
from agentls.orchestration.history import History
from tests.orchestration.test_history_and_apply import result

CRLF = b"one\r\ntwo\r\n"
BOM = b"\xef\xbb\xbfalpha\nbeta\n"
LATIN1 = "# -*- coding: latin-1 -*-\nname = 'café'\n".encode("latin-1")


def make_result(run_id: str, edits: list[ProposedEdit], workspace: Path) -> WorkflowResult:
    """A run's result whose originals are the files as they are now."""
    from agentls.domain import textfile

    return result(run_id, edits, {e.path: textfile.read_text(workspace / e.path) for e in edits})


def second_line(path: str, text: str) -> ProposedEdit:
    return ProposedEdit(path=path, range=LineRange(start=2, end=2), new_text=text)


def leftovers(workspace: Path) -> list[str]:
    return sorted(str(p.relative_to(workspace)) for p in workspace.rglob("*.agentls-*"))


def fail_on(monkeypatch: pytest.MonkeyPatch, target: Path, error: BaseException) -> list[Path]:
    """``os.replace`` onto ``target`` raises ``error``; returns the targets replaced before."""
    real = os.replace
    replaced: list[Path] = []

    def replace(src: str | Path, dst: str | Path) -> None:
        if Path(dst) == target:
            raise error
        real(src, dst)
        replaced.append(Path(dst))

    monkeypatch.setattr(os, "replace", replace)
    return replaced


@pytest.fixture
def three(tmp_path: Path) -> tuple[Path, History, WorkflowResult]:
    """a.py (CRLF), b.py (with a BOM) and legacy.py (latin-1), each with an edit."""
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "a.py").write_bytes(CRLF)
    (ws / "b.py").write_bytes(BOM)
    (ws / "legacy.py").write_bytes(LATIN1)
    (ws / "a.py").chmod(0o750)
    history = History(ws)
    run = make_result(
        "r1",
        [second_line("a.py", "TWO\n"), second_line("b.py", "BETA\n"),
         second_line("legacy.py", "name = 'déjà'\n")],
        ws,
    )  # fmt: skip
    history.record_run(run, "a.py", None, None)
    return ws, history, run


def test_apply_keeps_each_files_format_and_mode_and_undo_restores_the_exact_bytes(
    three: tuple[Path, History, WorkflowResult],
) -> None:
    ws, history, run = three
    outcome = apply_result(ws, history, run)
    assert outcome.written == ["a.py", "b.py", "legacy.py"]
    assert (ws / "a.py").read_bytes() == b"one\r\nTWO\r\n"
    assert (ws / "b.py").read_bytes() == b"\xef\xbb\xbfalpha\nBETA\n"
    assert (ws / "legacy.py").read_bytes() == "# -*- coding: latin-1 -*-\nname = 'déjà'\n".encode(
        "latin-1"
    )
    assert (ws / "a.py").stat().st_mode & 0o777 == 0o750
    assert not journal.journal_path(history.folder).exists()
    assert leftovers(ws) == []
    assert sorted(undo(ws, history, "r1").restored) == ["a.py", "b.py", "legacy.py"]
    assert [(ws / n).read_bytes() for n in ("a.py", "b.py", "legacy.py")] == [CRLF, BOM, LATIN1]
    assert (ws / "a.py").stat().st_mode & 0o777 == 0o750


def test_a_write_failing_on_the_second_of_three_files_puts_the_first_back(
    three: tuple[Path, History, WorkflowResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    ws, history, run = three
    seen_journal: list[dict[str, object]] = []
    backups: list[bytes] = []
    real = os.replace

    def replace(src: str | Path, dst: str | Path) -> None:
        if Path(dst).parent == ws and not seen_journal:  # the first write in the workspace
            path = journal.journal_path(history.folder)
            seen_journal.append(json.loads(path.read_bytes()))
            files = seen_journal[0]["files"]
            assert isinstance(files, list)
            backups.extend(Path(f["backup"]).read_bytes() for f in files)
        if Path(dst) == ws / "b.py":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(ApplyError) as raised:
        apply_result(ws, history, run)
    monkeypatch.undo()
    assert str(raised.value) == (
        "could not write b.py (No space left on device); nothing was changed: "
        "the 1 file already written was restored"
    )
    # Before the first write: the journal listed every file, its backup held the exact bytes.
    (written,) = seen_journal
    files = written["files"]
    assert isinstance(files, list) and [f["path"] for f in files] == ["a.py", "b.py", "legacy.py"]
    assert written["phase"] == "write"
    assert backups == [CRLF, BOM, LATIN1]
    # After: every file as it was, nothing left behind, nothing recorded.
    assert [(ws / n).read_bytes() for n in ("a.py", "b.py", "legacy.py")] == [CRLF, BOM, LATIN1]
    assert (ws / "a.py").stat().st_mode & 0o777 == 0o750
    assert leftovers(ws) == []
    assert not journal.journal_path(history.folder).exists()
    assert not (history.folder / "backups" / "r1").exists()
    assert history.applied("r1") == []
    assert apply_result(ws, history, run).written == ["a.py", "b.py", "legacy.py"]  # retry works


def test_a_rollback_deletes_the_files_it_created_and_brings_back_the_deleted_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "gone.py").write_bytes(b"old\r\n")
    (ws / "gone.py").chmod(0o640)
    (ws / "last.py").write_text("x\n")
    history = History(ws)
    run = make_result(
        "r2",
        [ProposedEdit(path="pkg/sub/new.py", kind="create", new_text="new\n"),
         ProposedEdit(path="gone.py", kind="delete"),
         ProposedEdit(path="last.py", new_text="y\n")],
        ws,
    )  # fmt: skip
    fail_on(monkeypatch, ws / "last.py", OSError(errno.EIO, os.strerror(errno.EIO)))
    expected = (
        r"could not write last\.py \(Input/output error\); "
        "nothing was changed: the 2 files already written were restored"
    )
    with pytest.raises(ApplyError, match=expected):
        apply_result(ws, history, run)
    assert not (ws / "pkg").exists()  # the folders it made are gone too
    assert (ws / "gone.py").read_bytes() == b"old\r\n"
    assert (ws / "gone.py").stat().st_mode & 0o777 == 0o640
    assert (ws / "last.py").read_text() == "x\n"
    assert leftovers(ws) == []


def test_an_interrupt_part_way_rolls_back_and_is_raised_again(
    three: tuple[Path, History, WorkflowResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    ws, history, run = three
    fail_on(monkeypatch, ws / "legacy.py", KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        apply_result(ws, history, run)
    assert [(ws / n).read_bytes() for n in ("a.py", "b.py", "legacy.py")] == [CRLF, BOM, LATIN1]
    assert leftovers(ws) == [] and not journal.journal_path(history.folder).exists()


def test_a_history_that_cannot_record_the_apply_rolls_it_back(
    three: tuple[Path, History, WorkflowResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    ws, history, run = three

    def full(*_: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(history, "record_applied", full)
    expected = (
        r"could not record the apply in the history \(database "
        r"or disk is full\); nothing was changed: the 3 files already written"
    )
    with pytest.raises(ApplyError, match=expected):
        apply_result(ws, history, run)
    assert [(ws / n).read_bytes() for n in ("a.py", "b.py", "legacy.py")] == [CRLF, BOM, LATIN1]


def test_read_only_files_are_refused_not_overwritten(
    three: tuple[Path, History, WorkflowResult],
) -> None:
    ws, history, run = three
    (ws / "b.py").chmod(0o444)  # root may write it anyway: the mode is what counts
    with pytest.raises(ApplyError) as raised:
        apply_result(ws, history, run)
    assert str(raised.value) == (
        "b.py is read-only (mode 0444); nothing was written. "
        "Make it writable (chmod u+w b.py) to let agentls change it"
    )
    assert [(ws / n).read_bytes() for n in ("a.py", "b.py", "legacy.py")] == [CRLF, BOM, LATIN1]
    assert not journal.journal_path(history.folder).exists()


def test_text_the_files_encoding_cannot_hold_is_refused_before_anything_is_written(
    three: tuple[Path, History, WorkflowResult],
) -> None:
    ws, history, run = three
    run.edits[2] = second_line("legacy.py", "price = '€'\n")
    expected = (
        r"legacy\.py: the new text has '€', which iso-8859-1 "
        "cannot encode; nothing was written"
    )
    with pytest.raises(ApplyError, match=expected):
        apply_result(ws, history, run)
    assert (ws / "a.py").read_bytes() == CRLF


def test_new_files_get_the_umasks_mode(tmp_path: Path) -> None:
    history = History(tmp_path)
    run = make_result("r3", [ProposedEdit(path="n.py", kind="create", new_text="n\n")], tmp_path)
    previous = os.umask(0o022)
    try:
        apply_result(tmp_path, history, run)
    finally:
        os.umask(previous)
    assert (tmp_path / "n.py").stat().st_mode & 0o777 == 0o644


def test_an_undo_failing_part_way_leaves_the_applied_files_and_can_be_done_again(
    three: tuple[Path, History, WorkflowResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    ws, history, run = three
    apply_result(ws, history, run)
    applied = [(ws / n).read_bytes() for n in ("a.py", "b.py", "legacy.py")]
    fail_on(monkeypatch, ws / "a.py", OSError(errno.EACCES, os.strerror(errno.EACCES)))
    expected = (
        r"could not write a\.py \(Permission denied\); "
        "nothing was changed: the 2 files already written were restored"
    )
    with pytest.raises(ApplyError, match=expected):
        undo(ws, history, "r1")
    monkeypatch.undo()
    assert [(ws / n).read_bytes() for n in ("a.py", "b.py", "legacy.py")] == applied
    assert leftovers(ws) == []
    undo(ws, history, "r1")
    assert [(ws / n).read_bytes() for n in ("a.py", "b.py", "legacy.py")] == [CRLF, BOM, LATIN1]


def test_undo_puts_back_the_state_before_the_first_of_several_applies(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_bytes(CRLF)
    history = History(tmp_path)
    first = make_result("r4", [second_line("a.py", "TWO\n")], tmp_path)
    history.record_run(first, "a.py", None, None)
    apply_result(tmp_path, history, first)
    follow = make_result(
        "r4", [second_line("a.py", "2\n"), ProposedEdit(path="n.py", kind="create",
                                                         new_text="n\n")], tmp_path
    )  # fmt: skip
    apply_result(tmp_path, history, follow, turn=1)
    assert (tmp_path / "a.py").read_bytes() == b"one\r\n2\r\n"
    assert sorted(undo(tmp_path, history, "r4").restored) == ["a.py", "n.py"]
    assert (tmp_path / "a.py").read_bytes() == CRLF and not (tmp_path / "n.py").exists()


def test_an_older_history_database_gains_the_new_columns(tmp_path: Path) -> None:
    history = History(tmp_path)
    with sqlite3.connect(history.path) as db:
        db.execute("drop table applied")
        db.execute(
            "create table applied (run_id text not null, turn integer not null, path text not "
            "null, backup text, written_sha256 text, applied real not null, undone real)"
        )
        db.execute("insert into applied values ('old', 0, 'a.py', null, '', 1.0, null)")
    db.close()
    again = History(tmp_path)
    assert [f.path for f in again.applied("old")] == ["a.py"]
    (tmp_path / "a.py").write_bytes(CRLF)
    run = make_result("new", [second_line("a.py", "TWO\n")], tmp_path)
    assert apply_result(tmp_path, again, run).written == ["a.py"]


def test_a_journal_whose_apply_is_still_running_elsewhere_is_left_alone(
    three: tuple[Path, History, WorkflowResult], capsys: pytest.CaptureFixture[str]
) -> None:
    ws, history, _ = three
    path = journal.journal_path(history.folder)
    path.write_text("{}")
    with journal.locked(history.folder):  # as the applying process holds it
        History(ws)
    assert path.read_text() == "{}" and capsys.readouterr().err == ""
    History(ws)  # nobody holds it any more: a leftover, unreadable, so set aside
    (line,) = capsys.readouterr().err.splitlines()
    assert line == f"agentls: an unreadable apply journal was set aside as {path}.unreadable"
    assert not path.exists()
