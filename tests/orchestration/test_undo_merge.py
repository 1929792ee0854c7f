"""``undo`` of a file changed since the apply: a 3-way merge, still one transaction."""

from __future__ import annotations

import errno
import os
import sqlite3
import stat
from pathlib import Path

import pytest

from agentls.domain.results import LineRange, ProposedEdit, WorkflowResult
from agentls.orchestration.apply import ApplyError, apply_result, undo
from agentls.orchestration.history import History
from tests.orchestration.test_apply_transaction import fail_on, leftovers, make_result

TEN = "".join(f"line {n}\n" for n in range(1, 11))
FORCE = "(--force restores the backup anyway)"


def line(path: str, number: int, text: str) -> ProposedEdit:
    return ProposedEdit(path=path, range=LineRange(start=number, end=number), new_text=text)


def applied(ws: Path, edits: list[ProposedEdit], run_id: str = "r1") -> History:
    """``edits`` applied as run ``run_id`` (their files as they are now are the originals)."""
    history = History(ws)
    run = make_result(run_id, edits, ws)
    history.record_run(run, edits[0].path, None, None)
    apply_result(ws, history, run)
    return history


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    return root


def test_changes_made_since_elsewhere_in_a_crlf_file_with_a_bom_are_kept(ws: Path) -> None:
    bom = b"\xef\xbb\xbf"
    (ws / "a.py").write_bytes(bom + TEN.replace("\n", "\r\n").encode())
    history = applied(ws, [line("a.py", 5, "FIVE\n")])
    now = (ws / "a.py").read_bytes()
    assert now == bom + TEN.replace("line 5", "FIVE").replace("\n", "\r\n").encode()
    typed = now.replace(b"line 1\r\n", b"import os\r\nline 1\r\n").replace(b"line 9", b"nine")
    (ws / "a.py").write_bytes(typed)
    outcome = undo(ws, history, "r1")
    assert outcome.restored == outcome.merged == ["a.py"]
    expected = "import os\n" + TEN.replace("line 9", "nine")
    assert (ws / "a.py").read_bytes() == bom + expected.replace("\n", "\r\n").encode()
    assert leftovers(ws) == [] and history.applied("r1") == []


def test_the_line_endings_the_user_switched_to_since_are_kept(ws: Path) -> None:
    (ws / "a.py").write_bytes(TEN.replace("\n", "\r\n").encode())
    history = applied(ws, [line("a.py", 5, "FIVE\n")])
    (ws / "a.py").write_bytes(TEN.replace("line 5", "FIVE").encode())  # now LF
    undo(ws, history, "r1")
    assert (ws / "a.py").read_bytes() == TEN.encode()


def test_lines_changed_since_refuse_the_whole_undo_naming_file_and_lines(ws: Path) -> None:
    (ws / "a.py").write_text(TEN)
    (ws / "b.py").write_text(TEN)
    three = ProposedEdit(path="b.py", range=LineRange(start=3, end=5), new_text="3\n4\n5\n")
    history = applied(ws, [line("a.py", 2, "TWO\n"), three])
    (ws / "a.py").write_text(TEN.replace("line 2", "TWO").replace("line 8", "eight"))  # merges
    typed = TEN.replace("line 3\nline 4\nline 5\n", "3\nfour\n5!\n")
    (ws / "b.py").write_text(typed)
    with pytest.raises(ApplyError) as refused:
        undo(ws, history, "r1")
    assert str(refused.value) == (
        f"b.py: lines 4-5 changed since agentls wrote them; nothing was undone {FORCE}"
    )
    assert (ws / "b.py").read_text() == typed
    assert (ws / "a.py").read_text() == TEN.replace("line 2", "TWO").replace("line 8", "eight")
    assert sorted(f.path for f in history.applied("r1")) == ["a.py", "b.py"]
    # --force restores both backups as they were
    assert undo(ws, history, "r1", force=True).merged == []
    assert (ws / "a.py").read_text() == (ws / "b.py").read_text() == TEN


def test_a_file_the_run_created_is_deleted_only_when_unchanged(ws: Path) -> None:
    (ws / "a.py").write_text(TEN)
    history = applied(ws, [line("a.py", 2, "TWO\n"),
                           ProposedEdit(path="n.py", kind="create", new_text="n\n")])  # fmt: skip
    (ws / "n.py").write_text("n\nand more\n")
    with pytest.raises(ApplyError) as refused:
        undo(ws, history, "r1")
    assert str(refused.value) == (
        "n.py was created by agentls and changed since; nothing was undone "
        "(--force deletes it anyway)"
    )
    assert (ws / "a.py").read_text() == TEN.replace("line 2", "TWO")
    (ws / "n.py").write_text("n\n")
    undo(ws, history, "r1")
    assert not (ws / "n.py").exists() and (ws / "a.py").read_text() == TEN


def test_a_file_the_run_deleted_comes_back_only_where_nothing_is(ws: Path) -> None:
    (ws / "gone.py").write_text("old\n")
    (ws / "gone.py").chmod(0o640)
    history = applied(ws, [ProposedEdit(path="gone.py", kind="delete", new_text="")])
    (ws / "gone.py").write_text("new by the user\n")
    with pytest.raises(ApplyError, match=r"^gone\.py was deleted by agentls and created again"):
        undo(ws, history, "r1")
    assert (ws / "gone.py").read_text() == "new by the user\n"
    (ws / "gone.py").unlink()
    undo(ws, history, "r1")
    assert (ws / "gone.py").read_text() == "old\n"
    assert stat.S_IMODE((ws / "gone.py").stat().st_mode) == 0o640


def test_a_file_the_user_deleted_since_is_refused(ws: Path) -> None:
    (ws / "a.py").write_text(TEN)
    history = applied(ws, [line("a.py", 2, "TWO\n")])
    (ws / "a.py").unlink()
    with pytest.raises(ApplyError) as refused:
        undo(ws, history, "r1")
    assert (
        str(refused.value) == f"a.py was deleted since agentls wrote it; nothing was undone {FORCE}"
    )
    assert not (ws / "a.py").exists()


def test_a_follow_up_applied_on_top_is_undone_to_before_the_first_apply(ws: Path) -> None:
    (ws / "a.py").write_text(TEN)
    history = applied(ws, [line("a.py", 2, "TWO\n")], run_id="r4")
    follow = make_result("r4", [line("a.py", 6, "SIX\n")], ws)
    apply_result(ws, history, follow, turn=1)
    now = (ws / "a.py").read_text()
    (ws / "a.py").write_text(now.replace("line 10", "ten") + "appended\n")
    assert undo(ws, history, "r4").merged == ["a.py"]
    assert (ws / "a.py").read_text() == TEN.replace("line 10", "ten") + "appended\n"


def test_an_apply_recorded_before_copies_were_kept_undoes_exact_bytes_only(ws: Path) -> None:
    (ws / "a.py").write_text(TEN)
    history = applied(ws, [line("a.py", 2, "TWO\n")])
    with sqlite3.connect(history.path) as db:
        db.execute("update applied set written_copy = null")
    db.close()
    (ws / "a.py").write_text(TEN.replace("line 2", "TWO") + "more\n")
    with pytest.raises(ApplyError) as refused:
        undo(ws, history, "r1")
    assert str(refused.value) == f"a.py changed after agentls wrote it; nothing was undone {FORCE}"
    (ws / "a.py").write_text(TEN.replace("line 2", "TWO"))
    undo(ws, history, "r1")
    assert (ws / "a.py").read_text() == TEN


def test_a_copy_that_does_not_hold_what_was_written_is_not_merged_with(ws: Path) -> None:
    (ws / "a.py").write_text(TEN)
    history = applied(ws, [line("a.py", 2, "TWO\n")])
    (copy,) = (f.written_copy for f in history.applied("r1"))
    assert copy is not None and stat.S_IMODE(copy.stat().st_mode) == 0o600
    assert copy.read_text() == TEN.replace("line 2", "TWO")
    copy.write_text("line 1\nTWO\n")  # someone changed it: the merge would drop lines
    (ws / "a.py").write_text(TEN.replace("line 2", "TWO") + "more\n")
    with pytest.raises(ApplyError, match=r"a\.py changed after agentls wrote it"):
        undo(ws, history, "r1")


def test_a_failing_write_rolls_a_merged_undo_back(
    ws: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (ws / "a.py").write_text(TEN)
    (ws / "b.py").write_text(TEN)
    history = applied(ws, [line("a.py", 2, "TWO\n"), line("b.py", 2, "TWO\n")])
    typed = TEN.replace("line 2", "TWO") + "typed\n"
    (ws / "b.py").write_text(typed)  # undone first
    fail_on(monkeypatch, ws / "a.py", OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))
    with pytest.raises(ApplyError) as failed:
        undo(ws, history, "r1")
    monkeypatch.undo()
    assert str(failed.value) == (
        "could not write a.py (No space left on device); nothing was changed: "
        "the 1 file already written was restored"
    )
    assert (ws / "b.py").read_text() == typed  # the user's text, not the merge
    assert (ws / "a.py").read_text() == TEN.replace("line 2", "TWO")
    assert leftovers(ws) == [] and len(history.applied("r1")) == 2
    assert undo(ws, history, "r1").merged == ["b.py"]
    assert (ws / "b.py").read_text() == TEN + "typed\n"


def test_a_binary_file_now_is_refused_in_one_line(ws: Path) -> None:
    (ws / "a.py").write_text(TEN)
    history = applied(ws, [line("a.py", 2, "TWO\n")])
    (ws / "a.py").write_bytes(b"\0binary")
    with pytest.raises(ApplyError) as refused:
        undo(ws, history, "r1")
    assert str(refused.value) == (
        "a.py is not a text file (binary); agentls reviews and edits text; nothing was undone "
        + FORCE
    )


# -- a history changed by hand ----------------------------------------------------------------


def tamper(history: History, column: str, value: str) -> None:
    with sqlite3.connect(history.path) as db:
        db.execute(f"update applied set {column} = ?", (value,))
    db.close()


def test_a_history_pointing_outside_the_workspace_undoes_nothing(ws: Path, tmp_path: Path) -> None:
    (ws / "a.py").write_text(TEN)
    history = applied(ws, [line("a.py", 2, "TWO\n")])
    outside = tmp_path / "outside.py"
    outside.write_text("theirs\n")
    for path in ("../outside.py", str(outside), ".git/hooks/pre-commit"):
        tamper(history, "path", path)
        with pytest.raises(ApplyError, match="the history names a file agentls may not change"):
            undo(ws, history, "r1", force=True)
    assert outside.read_text() == "theirs\n"
    assert not (ws / ".git").exists()


def test_a_history_pointing_at_a_backup_outside_agentls_folder_undoes_nothing(
    ws: Path, tmp_path: Path
) -> None:
    (ws / "a.py").write_text(TEN)
    history = applied(ws, [line("a.py", 2, "TWO\n")])
    secret = tmp_path / "secret"
    secret.write_text("a private key\n")
    (ws / "a.py").write_text(TEN.replace("line 2", "TWO") + "more\n")
    for column in ("backup", "written_copy"):
        with sqlite3.connect(history.path) as db:
            (before,) = db.execute(f"select {column} from applied").fetchone()
        db.close()
        tamper(history, column, str(secret))
        with pytest.raises(ApplyError, match="is not in agentls's backups folder"):
            undo(ws, history, "r1")
        tamper(history, column, before)
    assert (ws / "a.py").read_text() == TEN.replace("line 2", "TWO") + "more\n"
    undo(ws, history, "r1")
    assert (ws / "a.py").read_text() == TEN + "more\n"


def test_the_copies_go_when_the_apply_rolls_back(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (ws / "a.py").write_text(TEN)
    history = History(ws)
    run: WorkflowResult = make_result("r9", [line("a.py", 2, "TWO\n")], ws)
    fail_on(monkeypatch, ws / "a.py", OSError(errno.EIO, os.strerror(errno.EIO)))
    with pytest.raises(ApplyError):
        apply_result(ws, history, run)
    assert not (history.folder / "backups" / "r9").exists()
