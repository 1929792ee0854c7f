"""Workspace containment: every path an agent names must stay inside the workspace."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from agentls.errors import UnsafePathError


def workspace_relative(workspace: Path, candidate: str | Path) -> str:
    """``candidate`` as a posix path relative to ``workspace``, or ``UnsafePathError``.

    Refuses absolute paths outside the workspace, ``..`` escapes, symlinks that resolve out of
    it, and anything under ``.git``.
    """
    root = workspace.resolve()
    raw = Path(candidate)
    if not str(candidate).strip():
        raise UnsafePathError("an empty path was given")
    full = (raw if raw.is_absolute() else root / raw).resolve()
    try:
        relative = full.relative_to(root)
    except ValueError:
        raise UnsafePathError(
            f"{candidate} is outside the workspace {root}; agentls only touches files inside it"
        ) from None
    parts = PurePosixPath(relative.as_posix()).parts
    if not parts:
        raise UnsafePathError(f"{candidate} is the workspace folder itself, not a file")
    if ".git" in parts:
        raise UnsafePathError(f"{candidate} is inside .git; agentls never changes git's own files")
    return relative.as_posix()
