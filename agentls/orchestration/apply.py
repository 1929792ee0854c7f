"""Writing a run's proposed edits to disk, with backups, and undoing that: all files or none.

A file is written only if it still holds the text the run started from, and never when it is
read-only (no write bit for its owner). Its text is encoded back the way the file was: the same
encoding, byte order mark and line endings (``domain.textfile``). The files are written as one
transaction (``journal``): backups of the exact bytes first, then each file atomically with its
mode; a failure part-way puts every file already written back and says so in one line, and a
process killed part-way is rolled back the next time the history is opened. The history records
what was written, so ``undo`` restores exactly those bytes (as one transaction too).
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from agentls.domain import textfile
from agentls.domain.edits import by_file, file_after
from agentls.domain.errors import UnsafePathError
from agentls.domain.paths import agent_path
from agentls.domain.results import WorkflowResult
from agentls.orchestration.history import AppliedFile, History
from agentls.orchestration.journal import ApplyError, Change, Journal, transact

__all__ = ["ApplyError", "ApplyOutcome", "apply_result", "undo"]


@dataclass
class ApplyOutcome:
    written: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


def apply_result(
    workspace: Path,
    history: History,
    result: WorkflowResult,
    turn: int = 0,
    protected: Sequence[str] = (),
) -> ApplyOutcome:
    """``protected``: the user's ``settings.protected_paths``; .git and .agentls.yaml are
    refused whatever it holds. Raises ``ApplyError`` (and then nothing was changed)."""
    workspace = workspace.resolve()
    with history.transaction():
        changes = _plan(workspace, result, protected)  # every check first: all files or none

        def commit(journal: Journal) -> None:
            files = [
                AppliedFile(f.path, Path(f.backup) if f.backup else None, f.after or "", f.mode)
                for f in journal.files
            ]
            history.record_applied(result.run_id, turn, files, journal.id)

        transact(
            workspace, history.folder, "apply", result.run_id, turn, changes, commit,
            history.committed,
        )  # fmt: skip
    outcome = ApplyOutcome()
    for change in changes:
        (outcome.deleted if change.after is None else outcome.written).append(change.path)
    return outcome


def undo(workspace: Path, history: History, run_id: str, force: bool = False) -> list[str]:
    """Restore the exact bytes of the files a run wrote; refuses files changed since, unless
    ``force``. Raises ``ApplyError`` (and then nothing was changed)."""
    workspace = workspace.resolve()
    with history.transaction():
        files = history.applied(run_id)
        if not files:
            rolled_back = history.rolled_back(run_id)
            if rolled_back is not None:
                raise ApplyError(f"run {run_id} has nothing applied to undo: {rolled_back}")
            raise ApplyError(f"run {run_id} has nothing applied to undo")
        by_path: dict[str, list[AppliedFile]] = {}
        for file in files:  # the most recent first: a follow-up's apply, then the run's
            by_path.setdefault(file.path, []).append(file)
        changes: list[Change] = []
        for path, applied in by_path.items():
            target = workspace / path
            current = _read_bytes(target, path)
            if not force and _sha256(current) != applied[0].written_sha256:
                raise ApplyError(
                    f"{path} changed after agentls wrote it; nothing was undone "
                    "(use --force to restore the backup anyway)"
                )
            mode, owner = _writable(target, path, "nothing was undone")
            first = applied[-1]  # the state before the earliest apply
            after = None
            if first.backup is not None:
                try:
                    after = first.backup.read_bytes()
                except OSError as error:
                    raise ApplyError(
                        f"the backup of {path} ({first.backup}) cannot be read "
                        f"({error.strerror}); nothing was undone"
                    ) from None
            if current is None:
                mode = first.mode
            if current is not None or after is not None:
                changes.append(Change(path, current, after, mode, owner))
        transact(
            workspace, history.folder, "undo", run_id, 0, changes,
            lambda _: history.mark_undone(run_id), history.committed,
        )  # fmt: skip
    return list(by_path)


def _plan(workspace: Path, result: WorkflowResult, protected: Sequence[str]) -> list[Change]:
    checked = [
        e.model_copy(update={"path": _allowed(workspace, e.path, protected)}) for e in result.edits
    ]
    changes: list[Change] = []
    for path, edits in by_file(checked).items():
        target = workspace / path
        before = _read_bytes(target, path)
        try:
            current = None if before is None else textfile.decode(before, path)
        except textfile.TextFileError as error:
            raise ApplyError(f"{error}; nothing was written") from None
        if (current.text if current else None) != result.originals.get(path):
            raise ApplyError(
                f"{path} changed since run {result.run_id} started; nothing was written. "
                "Run the workflow again on the current text."
            )
        mode, owner = _writable(target, path, "nothing was written")
        after: bytes | None = None
        text = file_after(current.text if current else None, edits)
        if text is not None:
            try:
                after = (current or textfile.new_file(path)).encode(text)
            except textfile.TextFileError as error:
                raise ApplyError(f"{error}; nothing was written") from None
        if before is not None or after is not None:
            changes.append(Change(path, before, after, mode, owner))
    return changes


def _allowed(workspace: Path, path: str, protected: Sequence[str]) -> str:
    """The backstop: the workflow already left such edits out, so one here means the result
    did not come from it (an edited history): write nothing."""
    try:
        return agent_path(workspace, path, protected)
    except UnsafePathError as error:
        raise ApplyError(f"{error}; nothing was written") from None


def _read_bytes(path: Path, name: str) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise ApplyError(f"could not read {name} ({error.strerror}); nothing was changed") from None


def _writable(
    target: Path, name: str, consequence: str
) -> tuple[int | None, tuple[int, int] | None]:
    """The mode and owner to write ``target`` with (None for a new file); refuses a file
    without its owner's write bit (checked on the mode, as root may write anything)."""
    try:
        info = os.stat(target)
    except FileNotFoundError:
        return None, None
    if not stat.S_ISREG(info.st_mode):
        raise ApplyError(f"{name} is not a regular file; {consequence}")
    if not info.st_mode & stat.S_IWUSR:
        raise ApplyError(
            f"{name} is read-only (mode {stat.S_IMODE(info.st_mode):04o}); {consequence}. "
            f"Make it writable (chmod u+w {name}) to let agentls change it"
        )
    return stat.S_IMODE(info.st_mode), (info.st_uid, info.st_gid)


def _sha256(data: bytes | None) -> str:
    return "" if data is None else hashlib.sha256(data).hexdigest()
