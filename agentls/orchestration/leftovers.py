"""What agentls processes that died (SIGKILL, power loss) left behind, and removing it:
sandbox folders and agents' temp folders that no live process holds, and their worktree
entries. Standard library only, so a server can prune as it starts without loading what runs
agents."""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from agentls.adapters import scratch
from agentls.log import get_logger

try:
    import fcntl
except ImportError:  # not POSIX: no locks, so leftovers are never pruned
    fcntl = None  # type: ignore[assignment]

log = get_logger("agentls.sandbox")

PREFIX = "agentls-sandbox-"
"""Every sandbox's temp folder is named so (in the temp folder)."""
LOCK = scratch.LOCK
"""In the temp folder: held (flock) while the sandbox lives."""
REPOSITORY = "agentls-repository"
"""In the temp folder of a worktree sandbox: the common git folder it is registered in."""
UNLOCKED_STALE_S = 24 * 3600.0
"""A sandbox folder without a lock file is a leftover once this old: a new one gets its lock
right after it is made, but an agentls from before locks may still be using its own."""


def prune_leftovers(workspaces: Iterable[Path] = ()) -> int:
    """Remove what agentls processes that died (SIGKILL, power loss) left behind: sandbox
    folders and agents' temp folders (``scratch``) whose lock nobody holds, with the sandboxes'
    worktree entries, and the entries in these
    workspaces' repositories of agentls worktrees that are gone. Never a live sandbox (another
    agentls holds its lock) nor a worktree agentls did not make. How many were removed."""
    removed = 0
    if fcntl is None:
        return removed
    temp = Path(tempfile.gettempdir())
    try:
        folders = [
            temp / name for name in os.listdir(temp) if name.startswith((PREFIX, scratch.PREFIX))
        ]
    except OSError:
        folders = []
    for folder in folders:
        removed += prune_folder(folder)
    for workspace in workspaces:
        common = _common_dir(workspace)
        if common is not None:
            removed += _prune_entries(common, None)
    if removed:
        log.info("removed leftover sandboxes", count=removed)
    return removed


def prune_leftovers_later(workspaces: Iterable[Path] = ()) -> threading.Thread:
    """``prune_leftovers`` in a background thread, so nothing waits for it."""

    def prune() -> None:
        try:
            prune_leftovers(list(workspaces))
        except Exception:  # a leftover stays until the next start
            log.exception("pruning leftover sandboxes failed")

    thread = threading.Thread(target=prune, name="agentls-prune", daemon=True)
    thread.start()
    return thread


def prune_folder(folder: Path) -> int:
    with _stale(folder) as stale:
        if not stale:
            return 0
        try:
            common = Path((folder / REPOSITORY).read_text(encoding="utf-8").strip())
        except (OSError, UnicodeDecodeError):
            common = None
        if common is not None and common.is_absolute():
            _prune_entries(common, folder)
        shutil.rmtree(folder, ignore_errors=True)
        return 1


@contextlib.contextmanager
def _stale(folder: Path) -> Iterator[bool]:
    """Whether ``folder`` is a sandbox folder of this user that no live process holds; it
    stays held (locked) for the block."""
    assert fcntl is not None
    try:
        info = folder.lstat()
    except OSError:
        yield False
        return
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        yield False
        return
    try:
        descriptor = os.open(folder / LOCK, os.O_RDWR | os.O_CLOEXEC | os.O_NOFOLLOW)
    except FileNotFoundError:
        yield time.time() - info.st_mtime > UNLOCKED_STALE_S
        return
    except OSError:
        yield False
        return
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # held: a live sandbox
            yield False
            return
        yield True
    finally:
        os.close(descriptor)


def _prune_entries(common: Path, folder: Path | None) -> int:
    """Remove the worktree entries of ``common`` that point into ``folder`` (a stale sandbox
    folder), or, without one, into any sandbox folder that is stale or gone."""
    try:
        entries = list((common / "worktrees").iterdir())
    except OSError:
        return 0
    removed = 0
    for entry in entries:
        try:
            link = Path((entry / "gitdir").read_text(encoding="utf-8").strip())
        except (OSError, UnicodeDecodeError):
            continue
        owner = link.parent.parent  # <temp>/agentls-sandbox-XXXX/<name>/.git
        if not link.is_absolute() or not owner.name.startswith(PREFIX):
            continue
        if folder is not None:
            if owner.resolve() != folder.resolve():
                continue
        elif owner.exists():
            with _stale(owner) as stale:
                if not stale:
                    continue
                shutil.rmtree(owner, ignore_errors=True)
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
            removed += 1
    return removed


def _common_dir(workspace: Path) -> Path | None:
    """The repository's git folder, read from ``.git`` itself (no git runs)."""
    dot = workspace / ".git"
    if dot.is_dir():
        return dot
    try:
        line = dot.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    if not line.startswith("gitdir:"):
        return None
    own = (workspace / line.removeprefix("gitdir:").strip()).resolve()
    try:
        return (own / (own / "commondir").read_text(encoding="utf-8").strip()).resolve()
    except (OSError, UnicodeDecodeError):
        return own
