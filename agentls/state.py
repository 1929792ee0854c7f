"""The user's state folder and the files in it: private to the user (folders 0700, files 0600).

Everything agentls keeps between runs (history, cache, reports, backups, the audit log and its
key, the trust store, the network token) lives under ``$XDG_STATE_HOME/agentls`` and is made
with these helpers, so no file is ever readable by another user, not even for a moment.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from agentls.domain.locations import state_dir

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def private_dir(path: Path) -> Path:
    """``path`` and its missing parents created 0700; ``path`` is tightened to 0700, and so is
    every folder between it and the state folder (which older versions made 0755)."""
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    root = state_dir()
    folder = path
    while True:
        os.chmod(folder, PRIVATE_DIR)
        if folder == root or root not in folder.parents:
            break
        folder = folder.parent
    return path


def private_file(path: Path) -> Path:
    """``path`` exists and is 0600 (created empty when missing), in a 0700 folder."""
    private_dir(path.parent)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_FILE)
    try:
        os.fchmod(descriptor, PRIVATE_FILE)
    finally:
        os.close(descriptor)
    return path


def append_private(path: Path, data: bytes) -> None:
    """Append ``data`` to ``path`` (made 0600 when missing) and wait until it is on disk."""
    private_dir(path.parent)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_FILE)
    try:
        os.fchmod(descriptor, PRIVATE_FILE)
        with os.fdopen(descriptor, "ab", closefd=False) as stream:
            stream.write(data)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_private(path: Path, data: bytes) -> None:
    """Replace ``path`` atomically with ``data``, 0600 from the first byte."""
    private_dir(path.parent)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
