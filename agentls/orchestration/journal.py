"""Writing several workspace files as one transaction: every change, or none of them.

``transact`` first writes a journal to the workspace's state folder (what changes, the bytes'
hashes before and after, the backups, the temporary names it will use), durably, before any file
is touched. Then it saves each file's original bytes as a backup (and, for an apply, a copy of
the new bytes next to the backups, for an undo to merge with), keeps a hard link to each
original next to it (so putting it back needs no disk space), and writes each file atomically:
a temporary file in the same folder, fsynced, renamed over the target, with the target's mode
and owner. The caller's ``commit`` then records the change (in the history); only after that is
the journal removed. Any failure before the commit rolls back what was already written.

A process killed half-way leaves its journal behind; ``recover`` (run under ``locked`` when the
history is next opened) finishes it: a change the history recorded is complete and only its
leftovers are removed, anything else is rolled back. Rolling back is decided by each file's
content, so it is safe to repeat: a file holding the new bytes gets its original back, a file
holding its original is left alone, and a file someone changed since is never overwritten.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import shutil
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from agentls.domain.errors import AgentlsError
from agentls.state import write_private

JOURNAL_NAME = "apply-journal.json"
LOCK_NAME = "apply.lock"
_TEMP_MARK = ".agentls-"
# Filesystems without hard links for these files: a rollback uses the backup copy instead.
_NO_HARD_LINKS = frozenset(
    {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK, errno.EXDEV, errno.ENOSYS}
)

Kind = Literal["apply", "undo"]


class ApplyError(AgentlsError):
    """Nothing was written (or what was written was put back): the message says why."""


@dataclass(frozen=True)
class Change:
    """One file of a transaction. ``before``/``after``: its bytes, None when it does not exist
    (before: the transaction creates it; after: it deletes it)."""

    path: str
    before: bytes | None
    after: bytes | None
    mode: int | None = None
    """The permission bits ``after`` is written with (the file's own); None: a new file, whose
    mode the umask decides."""
    owner: tuple[int, int] | None = None


@dataclass
class JournalFile:
    path: str
    before: str | None
    """sha256 of the original bytes; None: the file did not exist."""
    after: str | None
    mode: int | None
    owner: tuple[int, int] | None
    backup: str | None
    """Where the original bytes are saved (absolute), None when there were none."""
    temp: str
    """The temporary file's name, in the target's folder."""
    keep: str | None
    """The name of the hard link that keeps the original, in the target's folder."""


@dataclass
class Journal:
    id: str
    kind: Kind
    run_id: str
    turn: int
    workspace: str
    backups: str
    phase: str
    created: float
    files: list[JournalFile] = field(default_factory=list)
    dirs: list[str] = field(default_factory=list)
    """Folders the transaction creates, outermost first."""

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=1).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Journal:
        raw: dict[str, Any] = json.loads(data)
        files = [
            JournalFile(**{**f, "owner": tuple(f["owner"]) if f.get("owner") else None})
            for f in raw.pop("files")
        ]
        return cls(**raw, files=files)

    def label(self) -> str:
        turn = f" (turn {self.turn})" if self.turn else ""
        return f"the {self.kind} of run {self.run_id}{turn}"


@dataclass
class Recovered:
    """What ``recover`` did with a journal an interrupted process left."""

    journal: Journal | None
    rolled_back: bool
    message: str


def journal_path(folder: Path) -> Path:
    return folder / JOURNAL_NAME


def written_copies(backups: Path | str) -> Path:
    """Where an apply keeps copies of what it wrote (each under its path), next to its backups,
    so an undo can tell the user's changes since from agentls's (``merge3``). The journal does
    not list them: its format stays what older versions recover."""
    backups = Path(backups)
    return backups.with_name(backups.name + ".written")


@contextlib.contextmanager
def locked(folder: Path, wait: bool = True) -> Iterator[bool]:
    """Hold the workspace's apply lock (yields False when ``wait`` is off and another process
    holds it: that process is applying, and its journal is not a leftover)."""
    descriptor = os.open(
        folder / LOCK_NAME, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600
    )
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            held = False
        else:
            held = True
        yield held
    finally:
        os.close(descriptor)  # releases the lock


def transact(
    workspace: Path,
    folder: Path,
    kind: Kind,
    run_id: str,
    turn: int,
    changes: Sequence[Change],
    commit: Callable[[Journal], None],
    committed: Callable[[Journal], bool],
) -> Journal:
    """Make ``changes`` in ``workspace`` (paths relative to it, already checked), all or none;
    ``commit`` records them, ``committed`` says whether it did (for a commit interrupted half-
    way). Call it under ``locked(folder)``. Raises ``ApplyError``."""
    txn = uuid.uuid4().hex[:12]
    label = f"{turn}-{txn}" if kind == "apply" else f"undo-{txn}"
    backups = folder / "backups" / run_id / label
    copies = written_copies(backups) if kind == "apply" else None
    journal = Journal(
        id=txn,
        kind=kind,
        run_id=run_id,
        turn=turn,
        workspace=str(workspace),
        backups=str(backups),
        phase="backup",
        created=time.time(),
    )
    for change in changes:
        name = PurePosixPath(change.path).name
        journal.files.append(
            JournalFile(
                path=change.path,
                before=_sha256(change.before),
                after=_sha256(change.after),
                mode=change.mode,
                owner=change.owner,
                backup=str(backups / change.path) if change.before is not None else None,
                temp=f".{name}{_TEMP_MARK}{txn}",
                keep=f".{name}{_TEMP_MARK}{txn}-orig" if change.before is not None else None,
            )
        )
        if change.after is not None:
            for parent in reversed(PurePosixPath(change.path).parents[:-1]):
                if not (workspace / parent).exists() and str(parent) not in journal.dirs:
                    journal.dirs.append(str(parent))
    try:
        _step(f"save the apply journal in {folder}", _save, journal, folder)
        for change, file in zip(changes, journal.files, strict=True):
            if change.before is not None and file.backup is not None:
                _step(f"back up {file.path} to {backups}", write_private, Path(file.backup),
                      change.before)  # fmt: skip
            if copies is not None and change.after is not None:
                _step(f"keep a copy of {file.path}'s new text in {copies}", write_private,
                      copies / file.path, change.after)  # fmt: skip
        for file in journal.files:
            if file.keep is not None:
                target = workspace / file.path
                _step(f"write {file.path}", _keep, target, target.parent / file.keep)
        journal.phase = "write"
        _step(f"save the apply journal in {folder}", _save, journal, folder)
        for directory in journal.dirs:
            _step(f"create the folder {directory}", (workspace / directory).mkdir)
        for change, file in zip(changes, journal.files, strict=True):
            target = workspace / file.path
            if change.after is None:
                _step(f"delete {file.path}", _delete, target)
            else:
                _step(f"write {file.path}", _write_file, target, target.parent / file.temp,
                      change.after, change.mode, change.owner)  # fmt: skip
        journal.phase = "commit"
        _step(f"record the {kind} in the history", commit, journal)
    except BaseException as error:
        if journal.phase == "commit" and _committed(committed, journal):
            if _clean_up(workspace, journal):
                _discard(journal, folder, keep_backups=kind == "apply")
            if isinstance(error, _StepFailed):
                return journal
            raise
        report = _roll_back(workspace, journal)
        if report.clean:
            _discard(journal, folder, keep_backups=bool(report.left))
        if not isinstance(error, _StepFailed):
            raise
        raise ApplyError(f"could not {error.what} ({error.reason}); {report.sentence()}") from None
    if _clean_up(workspace, journal):
        _discard(journal, folder, keep_backups=kind == "apply")
    return journal


def recover(folder: Path, committed: Callable[[Journal], bool]) -> Recovered | None:
    """Complete or roll back the transaction a killed process left in ``folder`` (call it under
    ``locked(folder)``); None when there is none."""
    path = journal_path(folder)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        journal = Journal.from_json(data)
    except (ValueError, TypeError, KeyError):
        aside = path.with_name(path.name + ".unreadable")
        try:
            os.replace(path, aside)
        except OSError as error:
            return Recovered(None, False, f"the apply journal {path} is unreadable and could "
                             f"not be set aside ({error.strerror}); remove it")  # fmt: skip
        return Recovered(None, False, f"an unreadable apply journal was set aside as {aside}")
    workspace = Path(journal.workspace)
    if _committed(committed, journal):
        done = f"{journal.label()} was interrupted after it was recorded; "
        if not _clean_up(workspace, journal):
            return Recovered(journal, False, done + "its temporary files are removed next time")
        _discard(journal, folder, keep_backups=journal.kind == "apply")
        return Recovered(journal, False, done + "it is complete; its temporary files were removed")
    report = _roll_back(workspace, journal)
    if report.clean:
        _discard(journal, folder, keep_backups=bool(report.left))
    return Recovered(journal, True, f"{journal.label()} was interrupted; {report.recovered()}")


def _committed(committed: Callable[[Journal], bool], journal: Journal) -> bool:
    try:
        return committed(journal)
    except (OSError, sqlite3.Error):
        return False


class _StepFailed(Exception):
    def __init__(self, what: str, reason: str) -> None:
        super().__init__(what)
        self.what = what
        self.reason = reason


def _step(what: str, action: Callable[..., object], *args: Any) -> None:
    try:
        action(*args)
    except OSError as error:
        raise _StepFailed(what, error.strerror or str(error)) from error
    except sqlite3.Error as error:
        raise _StepFailed(what, str(error)) from error


@dataclass
class _Rollback:
    restored: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    stuck: list[tuple[str, str]] = field(default_factory=list)
    """Temporary files that could not be removed (the next start tries again)."""
    temps: int = 0
    backups: str = ""

    @property
    def clean(self) -> bool:
        return not self.failed and not self.stuck

    def _details(self) -> list[str]:
        details = [
            f"{path} was changed by someone else since, so it was left as it is (its original "
            f"is under {self.backups})"
            for path in self.left
        ]
        details += [
            f"{path} could not be restored ({reason}); its original is under {self.backups}, "
            "and the next agentls command in this workspace tries again"
            for path, reason in self.failed
        ]
        details += [
            f"the temporary file {path} could not be removed ({reason}); the next agentls "
            "command in this workspace tries again"
            for path, reason in self.stuck
        ]
        return details

    def sentence(self) -> str:
        """The end of an error message: what the rollback did."""
        changed = self.left or self.failed
        head = "some files could not be put back" if changed else "nothing was changed"
        if self.restored:
            count = len(self.restored)
            head += (
                f": the {count} file{'s' if count > 1 else ''} already written "
                f"{'were' if count > 1 else 'was'} restored"
            )
        return "; ".join([head, *self._details()])

    def recovered(self) -> str:
        """What recovering a journal did, as the end of one line."""
        parts = [f"restored {', '.join(self.restored)}"] if self.restored else []
        if self.temps:
            parts.append(f"removed {self.temps} temporary file{'s' if self.temps > 1 else ''}")
        done = "rolled back: " + ", ".join(parts) if parts else "no file had been changed yet"
        return "; ".join([done, *self._details()])


def _roll_back(workspace: Path, journal: Journal) -> _Rollback:
    """Every file back to its original bytes, decided by its content; leftovers removed."""
    report = _Rollback(backups=journal.backups)
    for file in reversed(journal.files):
        target = workspace / file.path
        temp = target.parent / file.temp
        keep = target.parent / file.keep if file.keep else None
        try:
            current = _sha256(_read(target))
            if current == file.before:
                pass  # never written, or already put back
            elif current == file.after:
                if file.before is None:
                    target.unlink()
                elif keep is not None and os.path.lexists(keep):
                    os.replace(keep, target)
                elif file.backup is not None:
                    _write_file(target, temp, Path(file.backup).read_bytes(), file.mode, file.owner)
                _fsync_dir(target.parent)
                report.restored.append(file.path)
            else:
                report.left.append(file.path)
        except OSError as error:
            report.failed.append((file.path, error.strerror or str(error)))
            continue
        for leftover in (temp, keep):
            try:
                report.temps += _remove(leftover) if leftover is not None else 0
            except OSError as error:
                report.stuck.append((str(leftover), error.strerror or str(error)))
    report.restored.reverse()
    for directory in reversed(journal.dirs):
        with contextlib.suppress(OSError):
            (workspace / directory).rmdir()  # only when empty: never what someone put there
    return report


def _clean_up(workspace: Path, journal: Journal) -> bool:
    """After a commit: the hard links to the originals and any temporary file removed."""
    clean = True
    for file in journal.files:
        folder = (workspace / file.path).parent
        for name in (file.temp, file.keep):
            if name is None:
                continue
            try:
                _remove(folder / name)
            except OSError:
                clean = False
    return clean


def _discard(journal: Journal, folder: Path, keep_backups: bool) -> None:
    """The journal removed (durably), and the transaction's backups unless they are needed."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(journal_path(folder))
    with contextlib.suppress(OSError):
        _fsync_dir(folder)
    if not keep_backups:
        shutil.rmtree(journal.backups, ignore_errors=True)
        shutil.rmtree(written_copies(journal.backups), ignore_errors=True)
        with contextlib.suppress(OSError):
            Path(journal.backups).parent.rmdir()


def _save(journal: Journal, folder: Path) -> None:
    write_private(journal_path(folder), journal.to_json())
    _fsync_dir(folder)


def _keep(target: Path, keep: Path) -> None:
    try:
        os.link(target, keep, follow_symlinks=False)
    except OSError as error:
        if error.errno not in _NO_HARD_LINKS:
            raise


def _delete(target: Path) -> None:
    target.unlink()
    _fsync_dir(target.parent)


def _write_file(
    target: Path, temp: Path, data: bytes, mode: int | None, owner: tuple[int, int] | None
) -> None:
    """``target`` replaced by ``data`` atomically, through ``temp`` in the same folder."""
    _remove(temp)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    descriptor = os.open(
        temp, flags | getattr(os, "O_NOFOLLOW", 0), 0o666 if mode is None else 0o600
    )
    try:
        with os.fdopen(descriptor, "wb") as stream:
            if owner is not None and owner != (os.geteuid(), os.getegid()):
                with contextlib.suppress(PermissionError):
                    os.fchown(stream.fileno(), *owner)
            if mode is not None:
                os.fchmod(stream.fileno(), mode)
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    _fsync_dir(target.parent)


def _fsync_dir(folder: Path) -> None:
    """Make a rename or removal in ``folder`` durable (where the filesystem can)."""
    descriptor = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(descriptor)
    except OSError as error:
        if error.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
            raise
    finally:
        os.close(descriptor)


def _remove(path: Path) -> int:
    """1 when ``path`` was there and is now removed, 0 when it was not there."""
    if not os.path.lexists(path):  # unlink says EROFS, not ENOENT, on a read-only mount
        return 0
    try:
        os.unlink(path)
    except FileNotFoundError:
        return 0
    return 1


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _sha256(data: bytes | None) -> str | None:
    return None if data is None else hashlib.sha256(data).hexdigest()
