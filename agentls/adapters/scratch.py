"""Each agent process's own temp folder.

Agent CLIs write into the temp folder: Gemini CLI leaves a world-readable
``gemini-client-error-*.json`` with the prompt (the user's code) there on every API error.
So every agent process gets a private one (0700, ``TMPDIR``, ``TMP`` and ``TEMP``), removed
when the process ends. It holds a lock while in use, so that what a killed agentls left behind
is pruned (``orchestration.leftovers``) and a folder in use never is.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # not POSIX: no lock, so a leftover is never pruned
    fcntl = None  # type: ignore[assignment]

PREFIX = "agentls-tmp-"
"""Every agent's temp folder is named so (in the temp folder)."""
LOCK = "agentls.lock"
"""In a folder of agentls's in the temp folder: held (flock) while the folder is in use."""
TEMP_VARIABLES = ("TMPDIR", "TMP", "TEMP")


def hold(folder: Path) -> int | None:
    """Create and hold ``folder``'s lock: the descriptor, to close when the folder goes."""
    if fcntl is None:
        return None
    descriptor = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return descriptor


@contextlib.contextmanager
def private_tmpdir() -> Iterator[Path]:
    """A new 0700 folder for one agent process, removed afterwards whatever happens."""
    folder = Path(tempfile.mkdtemp(prefix=PREFIX))
    lock = hold(folder)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        if lock is not None:
            os.close(lock)


def temp_env(folder: Path) -> dict[str, str]:
    return dict.fromkeys(TEMP_VARIABLES, str(folder))
