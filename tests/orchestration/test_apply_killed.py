"""An apply killed part-way (SIGKILL, in a subprocess) is finished at the next start."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from agentls.domain.locations import workspace_state_dir
from agentls.orchestration.journal import JOURNAL_NAME
from tests.cli.test_cli import agentls

DRIVER = Path(__file__).with_name("apply_driver.py")
RUN_ID = "killed0run01"
ORIGINALS = {"a.py": b"one\r\ntwo\r\n", "b.py": b"b\n"}
APPLIED = {"a.py": b"one\r\nTWO\r\n", "b.py": b"B\n", "new/c.py": b"c\n"}


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    for name, data in ORIGINALS.items():
        (root / name).write_bytes(data)
    return root


def kill_during_apply(ws: Path, moment: str) -> dict[str, object]:
    """Run the driver until it kills itself; the journal it left."""
    done = subprocess.run(
        [sys.executable, str(DRIVER), str(ws), moment],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    journal_file = workspace_state_dir(ws) / JOURNAL_NAME
    assert journal_file.exists()
    loaded: dict[str, object] = json.loads(journal_file.read_bytes())
    return loaded


def sha(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def leftovers(ws: Path) -> list[str]:
    return sorted(str(p.relative_to(ws)) for p in ws.rglob("*") if ".agentls-" in p.name)


def files(ws: Path) -> dict[str, bytes]:
    return {str(p.relative_to(ws)): p.read_bytes() for p in ws.rglob("*") if p.is_file()}


def test_killed_after_the_first_file_the_next_start_rolls_back_and_undo_says_so(ws: Path) -> None:
    journal = kill_during_apply(ws, "after-first")
    entries = journal["files"]
    assert isinstance(entries, list)
    # Every file is whole: the new bytes the journal names, or the original ones.
    for entry in entries:
        assert sha(ws / entry["path"]) in (entry["before"], entry["after"])
    assert (ws / "a.py").read_bytes() == APPLIED["a.py"]
    assert (ws / "b.py").read_bytes() == ORIGINALS["b.py"] and not (ws / "new" / "c.py").exists()
    assert leftovers(ws)  # the hard links to the originals, until the next start

    listed = agentls("history", "--json", "--workspace", str(ws), cwd=ws)
    assert listed.returncode == 0, listed.stderr
    (line,) = listed.stderr.splitlines()
    assert line.startswith(
        f"agentls: the apply of run {RUN_ID} was interrupted; rolled back: restored a.py"
    )
    assert files(ws) == ORIGINALS and leftovers(ws) == [] and not (ws / "new").exists()
    assert not (workspace_state_dir(ws) / JOURNAL_NAME).exists()
    [run] = json.loads(listed.stdout)
    assert run["state"] == "apply interrupted"

    undone = agentls("undo", RUN_ID, "--workspace", str(ws), cwd=ws)
    assert undone.returncode == 2
    (line,) = undone.stderr.splitlines()
    assert f"run {RUN_ID} has nothing applied to undo: the apply of run {RUN_ID} was " in line
    assert "interrupted; rolled back" in line and "Traceback" not in undone.stderr
    assert files(ws) == ORIGINALS


def test_killed_before_the_history_recorded_it_every_written_file_is_rolled_back(
    ws: Path,
) -> None:
    kill_during_apply(ws, "before-commit")
    assert {n: (ws / n).read_bytes() for n in APPLIED} == APPLIED
    listed = agentls("history", "--workspace", str(ws), cwd=ws)
    assert "rolled back: restored a.py, b.py, new/c.py" in listed.stderr
    assert files(ws) == ORIGINALS and leftovers(ws) == [] and not (ws / "new").exists()
    assert not (workspace_state_dir(ws) / "backups" / RUN_ID).exists()  # nor the copies


def test_killed_after_the_history_recorded_it_the_apply_is_complete_and_undo_works(
    ws: Path,
) -> None:
    kill_during_apply(ws, "after-commit")
    undone = agentls("undo", RUN_ID, "--workspace", str(ws), cwd=ws)
    assert undone.returncode == 0, undone.stderr
    (line,) = undone.stderr.splitlines()
    assert line == (
        f"agentls: the apply of run {RUN_ID} was interrupted after it was recorded; "
        "it is complete; its temporary files were removed"
    )
    assert sorted(undone.stdout.split()) == sorted(
        ["restored", "new/c.py", "restored", "b.py", "restored", "a.py"]
    )
    assert {n: (ws / n).read_bytes() for n in ORIGINALS} == ORIGINALS
    assert not (ws / "new" / "c.py").exists() and leftovers(ws) == []


def test_a_file_edited_after_the_kill_is_never_overwritten_by_the_rollback(ws: Path) -> None:
    kill_during_apply(ws, "before-commit")
    (ws / "b.py").write_bytes(b"typed by the user after the crash\n")
    listed = agentls("history", "--workspace", str(ws), cwd=ws)
    (line,) = listed.stderr.splitlines()
    assert "restored a.py, new/c.py" in line
    assert "b.py was changed by someone else since, so it was left as it is" in line
    assert (ws / "a.py").read_bytes() == ORIGINALS["a.py"]
    assert (ws / "b.py").read_bytes() == b"typed by the user after the crash\n"
    assert leftovers(ws) == []


def test_an_undo_killed_after_writing_a_merged_file_is_rolled_back_and_can_be_done_again(
    ws: Path,
) -> None:
    kill_during_apply(ws, "undo-merged")
    assert (ws / "a.py").read_bytes() == b"zero\r\none\r\ntwo\r\n"  # merged, then killed
    listed = agentls("history", "--json", "--workspace", str(ws), cwd=ws)
    (line,) = listed.stderr.splitlines()
    assert line.startswith(f"agentls: the undo of run {RUN_ID} was interrupted; rolled back:")
    assert files(ws) == {"a.py": b"zero\r\none\r\nTWO\r\n"} | {
        name: APPLIED[name] for name in ("b.py", "new/c.py")
    }
    assert leftovers(ws) == []
    assert json.loads(listed.stdout)[0]["state"] == "applied"

    undone = agentls("undo", RUN_ID, "--workspace", str(ws), cwd=ws)
    assert undone.returncode == 0, undone.stderr
    assert "restored a.py (keeping your changes since)" in undone.stdout.splitlines()
    assert files(ws) == {"a.py": b"zero\r\none\r\ntwo\r\n", "b.py": ORIGINALS["b.py"]}
