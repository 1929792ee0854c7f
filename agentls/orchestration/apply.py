"""Writing a run's proposed edits to disk, with backups, and undoing that: all files or none.

A file is written only if it still holds the text the run started from, and never when it is
read-only (no write bit for its owner). Its text is encoded back the way the file was: the same
encoding, byte order mark and line endings (``domain.textfile``). The files are written as one
transaction (``journal``): backups of the exact bytes first, then each file atomically with its
mode; a failure part-way puts every file already written back and says so in one line, and a
process killed part-way is rolled back the next time the history is opened.

``undo`` puts back each file as it was before the run's first apply, as one transaction too. A
file that still holds the bytes agentls wrote gets its backup back exactly. A file changed since
is merged (``domain.merge3``): agentls's change is undone and the user's kept, and the file keeps
the format it has now; where the user changed lines agentls changed, nothing is undone unless
``force`` (which restores the backups as they were). The merge needs the exact bytes agentls
wrote: the journal keeps a copy of them next to the backups. Replaying the recorded turn's
edits on the backup would mostly give them back, but only while redaction at record time and
the rules for applying and encoding edits stay exactly what they were at the apply.
Applies recorded before copies were kept undo only files that hold exactly what was written.
The history is a file someone could change: each path it names is checked again (inside the
workspace, not agentls's or git's own files) and each backup or copy must lie in agentls's
backups folder.
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
from agentls.domain.merge3 import describe, overlaps, undo_onto
from agentls.domain.paths import agent_path
from agentls.domain.results import WorkflowResult
from agentls.orchestration.history import AppliedFile, History
from agentls.orchestration.journal import (
    ApplyError,
    Change,
    Journal,
    transact,
    written_copies,
)

__all__ = ["ApplyError", "ApplyOutcome", "UndoOutcome", "apply_result", "undo"]


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
            copies = written_copies(journal.backups)
            files = [
                AppliedFile(f.path, Path(f.backup) if f.backup else None, f.after or "", f.mode,
                            copies / f.path if f.after is not None else None)
                for f in journal.files
            ]  # fmt: skip
            history.record_applied(result.run_id, turn, files, journal.id)

        transact(
            workspace, history.folder, "apply", result.run_id, turn, changes, commit,
            history.committed,
        )  # fmt: skip
    outcome = ApplyOutcome()
    for change in changes:
        (outcome.deleted if change.after is None else outcome.written).append(change.path)
    return outcome


@dataclass
class UndoOutcome:
    restored: list[str] = field(default_factory=list)
    """Every file undone."""
    merged: list[str] = field(default_factory=list)
    """Those of them changed since agentls wrote them, whose changes were kept."""


def undo(workspace: Path, history: History, run_id: str, force: bool = False) -> UndoOutcome:
    """Put back each file a run wrote as it was before the run's first apply. A file changed
    since keeps those changes (a 3-way merge) unless they touch lines agentls changed; then
    nothing is undone, unless ``force``: then its backup is restored as it was. Raises
    ``ApplyError`` (and then nothing was changed)."""
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
        backups = history.folder / "backups"
        outcome = UndoOutcome()
        changes: list[Change] = []
        for recorded, applied in by_path.items():
            path = _recorded_path(workspace, recorded)
            target = workspace / path
            current = _read_bytes(target, path)
            mode, owner = _writable(target, path, "nothing was undone")
            latest, first = applied[0], applied[-1]  # first: the state before the earliest apply
            before = _private_bytes(backups, first.backup, f"the backup of {path}")
            after = before
            if not force and _sha256(current) != latest.written_sha256:
                after = _merged(path, backups, latest, before, current, first.backup is None)
                outcome.merged.append(path)
            if current is None:
                mode = first.mode
            if current is not None or after is not None:
                changes.append(Change(path, current, after, mode, owner))
            outcome.restored.append(path)
        transact(
            workspace, history.folder, "undo", run_id, 0, changes,
            lambda _: history.mark_undone(run_id), history.committed,
        )  # fmt: skip
    return outcome


def _merged(
    path: str,
    backups: Path,
    latest: AppliedFile,
    before: bytes | None,
    current: bytes | None,
    created: bool,
) -> bytes:
    """``current`` with the change agentls made to ``path`` undone and the user's changes since
    kept; ``ApplyError`` when that cannot be done."""
    force = "(--force deletes it anyway)" if created else "(--force restores the backup anyway)"

    def refused(why: str) -> ApplyError:
        return ApplyError(f"{path}{why}; nothing was undone {force}")

    if created:
        raise refused(" was created by agentls and changed since")
    if current is None:
        raise refused(" was deleted since agentls wrote it")
    if not latest.written_sha256:
        raise refused(" was deleted by agentls and created again since")
    written = _private_bytes(
        backups, latest.written_copy, f"the copy of what agentls wrote to {path}"
    )
    if written is None or _sha256(written) != latest.written_sha256:
        # Applied before agentls kept copies: only the exact bytes it wrote can be undone.
        raise refused(" changed after agentls wrote it")
    try:
        old, new, now = (textfile.decode(data, path) for data in (written, before or b"", current))
        text = undo_onto(old.text, new.text, now.text)
        if text is None:
            lines = describe(overlaps(old.text, new.text, now.text))
            them = "them" if lines.startswith("lines") else "it"
            raise refused(f": {lines} changed since agentls wrote {them}")
        return now.encode(text)
    except textfile.TextFileError as error:  # the user made it binary, or not its encoding
        raise ApplyError(f"{error}; nothing was undone {force}") from None


def _recorded_path(workspace: Path, path: str) -> str:
    """``path`` as the history records it, checked again: the history is a file, which
    someone may have changed to point an undo outside the workspace."""
    try:
        return agent_path(workspace, path)
    except UnsafePathError as error:
        raise ApplyError(f"the history names a file agentls may not change ({error}); "
                         "nothing was undone") from None  # fmt: skip


def _private_bytes(backups: Path, copy: Path | None, what: str) -> bytes | None:
    """The bytes of a backup or copy agentls made (None: ``copy`` is None); refused when the
    history points anywhere but into agentls's ``backups`` folder."""
    if copy is None:
        return None
    if not copy.resolve().is_relative_to(backups.resolve()):
        raise ApplyError(f"{what} ({copy}) is not in agentls's backups folder {backups}; "
                         "nothing was undone")  # fmt: skip
    try:
        return copy.read_bytes()
    except OSError as error:
        raise ApplyError(
            f"{what} ({copy}) cannot be read ({error.strerror}); nothing was undone"
        ) from None


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
