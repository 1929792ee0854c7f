"""Writing a run's proposed edits to disk, with backups, and undoing that.

A file is written only if it still holds the text the run started from; each write is atomic
(a temporary file renamed over the original) and preceded by a backup under the workspace's
state directory. The history records what was written, so ``undo`` restores exactly that.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from agentls.errors import AgentlsError, UnsafePathError
from agentls.orchestration.edits import apply_edits
from agentls.orchestration.history import AppliedFile, History
from agentls.orchestration.paths import agent_path
from agentls.orchestration.results import ProposedEdit, WorkflowResult
from agentls.state import write_private


class ApplyError(AgentlsError):
    """Nothing was written: a file changed since the run started, or a path is unsafe."""


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
    refused whatever it holds."""
    workspace = workspace.resolve()
    plans = _plan(workspace, result, protected)  # every check first: all files or none
    backups = history.folder / "backups" / result.run_id / str(turn)
    applied: list[AppliedFile] = []
    outcome = ApplyOutcome()
    for path, after in plans.items():
        target = workspace / path
        backup: Path | None = None
        if target.exists():
            backup = backups / path
            write_private(backup, target.read_bytes())
        if after is None:
            target.unlink()
            outcome.deleted.append(path)
        else:
            _write_atomic(target, after)
            outcome.written.append(path)
        applied.append(AppliedFile(path, backup, _sha256(after)))
    history.record_applied(result.run_id, turn, applied)
    return outcome


def undo(workspace: Path, history: History, run_id: str, force: bool = False) -> list[str]:
    """Restore the files a run wrote; refuses files changed since, unless ``force``."""
    workspace = workspace.resolve()
    files = history.applied(run_id)
    if not files:
        raise ApplyError(f"run {run_id} has nothing applied to undo")
    for file in files:
        current = _read(workspace / file.path)
        if not force and _sha256(current) != file.written_sha256:
            raise ApplyError(
                f"{file.path} changed after agentls wrote it; nothing was undone "
                "(use --force to restore the backup anyway)"
            )
    restored = []
    for file in files:
        target = workspace / file.path
        if file.backup is None:
            target.unlink(missing_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            _write_atomic(target, file.backup.read_text(encoding="utf-8"))
        restored.append(file.path)
    history.mark_undone(run_id)
    return restored


def _plan(
    workspace: Path, result: WorkflowResult, protected: Sequence[str]
) -> dict[str, str | None]:
    by_path: dict[str, list[ProposedEdit]] = {}
    for edit in result.edits:
        by_path.setdefault(_allowed(workspace, edit.path, protected), []).append(edit)
    plans: dict[str, str | None] = {}
    for path, edits in by_path.items():
        current = _read(workspace / path)
        original = result.originals.get(path)
        if current != original:
            raise ApplyError(
                f"{path} changed since run {result.run_id} started; nothing was written. "
                "Run the workflow again on the current text."
            )
        if any(e.kind == "delete" for e in edits):
            plans[path] = None
        else:
            plans[path] = apply_edits(current or "", edits)
    return plans


def _allowed(workspace: Path, path: str, protected: Sequence[str]) -> str:
    """The backstop: the workflow already left such edits out, so one here means the result
    did not come from it (an edited history): write nothing."""
    try:
        return agent_path(workspace, path, protected)
    except UnsafePathError as error:
        raise ApplyError(f"{error}; nothing was written") from None


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def _write_atomic(target: Path, text: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    mode = target.stat().st_mode & 0o7777 if target.exists() else None
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.agentls-")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
        if mode is not None:
            os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _sha256(text: str | None) -> str:
    return "" if text is None else hashlib.sha256(text.encode("utf-8")).hexdigest()
