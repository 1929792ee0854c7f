"""Sandboxes for agents that edit files themselves.

The agent works in a throwaway copy of the workspace: a ``git worktree`` when the workspace is
a git repository (its uncommitted and untracked files copied over), else a copy that honours
the top-level ``.gitignore``. The editor's unsaved buffers and earlier steps' changes are laid
over it. The copy's git index records that starting point, so afterwards ``git status`` in the
sandbox says exactly what the agent changed; those changes become proposed edits. The user's
real files are never touched, and the sandbox is removed afterwards, also on cancel and crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from agentls.errors import AgentlsError, UnsafePathError
from agentls.log import get_logger
from agentls.orchestration.edits import diff_edits
from agentls.orchestration.paths import agent_path, refusal
from agentls.orchestration.results import ProposedEdit, RefusedPath

log = get_logger("agentls.sandbox")

ALWAYS_SKIPPED = {
    ".git",
    "node_modules",
    ".venv",
    "venv",
    "__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".tox",
}
_GIT_IDENTITY = ["-c", "user.name=agentls", "-c", "user.email=agentls@localhost"]


class SandboxError(AgentlsError):
    """The sandbox could not be made (git missing, disk full, ...)."""


@dataclass
class SandboxChanges:
    edits: list[ProposedEdit] = field(default_factory=list)
    refused: list[RefusedPath] = field(default_factory=list)
    """Changes that were not taken, and why (escapes, protected paths, links, binary files)."""


@dataclass
class Sandbox:
    root: Path
    workspace: Path
    kind: str
    """``worktree`` or ``copy``."""

    async def changes(self, protected: Sequence[str] = ()) -> SandboxChanges:
        """What the agent changed since the sandbox was made, as edits of workspace paths;
        ``protected``: the user's ``settings.protected_paths``."""
        out = await _git(self.root, "status", "--porcelain=v1", "-z", "--untracked-files=all")
        entries = [e for e in out.split("\0") if e]
        result = SandboxChanges()
        index = 0
        while index < len(entries):
            entry = entries[index]
            status, path = entry[:2], entry[3:]
            index += 1
            if status[0] == "R":  # renamed in the index: the next entry is the old name
                index += 1
            try:
                relative = agent_path(self.root, path, protected)
            except UnsafePathError as error:  # whatever the change, a deletion too
                result.refused.append(refusal(path, error))
                continue
            await self._collect(status, relative, result)
        return result

    async def _collect(self, status: str, path: str, result: SandboxChanges) -> None:
        """One ``git status`` entry. Only the working tree against the index counts (the
        second column, or untracked): the index holds the starting point, not HEAD."""
        if status != "??" and status[1] == " ":
            return
        target = self.root / path
        if target.is_symlink():
            reason = "the agent made a symbolic link; links are skipped"
            result.refused.append(RefusedPath(path=path, reason=reason))
            return
        if status[1] == "D":
            result.edits.append(ProposedEdit(path=path, kind="delete"))
            return
        try:
            after = target.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError):
            reason = "not a UTF-8 text file; binary changes are skipped"
            result.refused.append(RefusedPath(path=path, reason=reason))
            return
        if status == "??":
            result.edits.append(ProposedEdit(path=path, kind="create", new_text=after))
            return
        before = await _git(self.root, "show", f":{path}")
        result.edits.extend(diff_edits(path, before, after))


@asynccontextmanager
async def sandbox(workspace: Path, overlay: Mapping[str, str | None]) -> AsyncIterator[Sandbox]:
    """A sandbox of ``workspace`` with ``overlay`` (workspace path -> text, None = deleted)
    laid over it. Removed on exit, whatever happens."""
    workspace = workspace.resolve()
    parent = Path(tempfile.mkdtemp(prefix="agentls-sandbox-"))
    root = parent / workspace.name
    is_repo = (workspace / ".git").exists() and await _is_git_repo(workspace)
    box = Sandbox(root=root, workspace=workspace, kind="worktree" if is_repo else "copy")
    try:
        changed: list[str] | None = None
        if is_repo:
            try:
                changed = await _make_worktree(workspace, root)
            except SandboxError as error:  # e.g. a repository without a commit yet
                log.info("no worktree, copying instead", reason=str(error))
                box.kind = "copy"
                shutil.rmtree(root, ignore_errors=True)
        if box.kind == "copy":
            await asyncio.to_thread(_copy_tree, workspace, root)
            await _git(root, "init", "--quiet")
        await asyncio.to_thread(_lay_over, root, overlay)
        if changed is None:
            await _git(root, "add", "--all")
        else:  # the checkout's index already matches HEAD: record only what differs
            await _add_paths(root, [*changed, *overlay])
        yield box
    finally:
        await _remove(box, parent)


async def _is_git_repo(path: Path) -> bool:
    try:
        top = await _git(path, "rev-parse", "--show-toplevel")
    except SandboxError:
        return False
    return Path(top.strip()).resolve() == path


async def _make_worktree(workspace: Path, root: Path) -> list[str]:
    """A worktree of HEAD with the workspace's uncommitted changes; the paths they touch."""
    await _git(workspace, "worktree", "add", "--detach", "--quiet", str(root), "HEAD")
    dirty = await _git(workspace, "status", "--porcelain=v1", "-z", "--untracked-files=all")
    entries = [e for e in dirty.split("\0") if e]
    changed = []
    index = 0
    while index < len(entries):
        status, path = entries[index][:2], entries[index][3:]
        if status[0] == "R":  # the entry after a rename is its old name, gone now
            changed.append(entries[index + 1])
            (root / entries[index + 1]).unlink(missing_ok=True)
        index += 2 if status[0] == "R" else 1
        changed.append(path)
        source, target = workspace / path, root / path
        if not source.exists() and not source.is_symlink():
            target.unlink(missing_ok=True)
        elif source.is_file() and not source.is_symlink():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return changed


async def _add_paths(root: Path, paths: list[str]) -> None:
    """Record these paths (only) in the index: added or changed, or removed."""
    unique = list(dict.fromkeys(paths))
    present = [p for p in unique if (root / p).exists() or (root / p).is_symlink()]
    gone = [p for p in unique if p not in present]
    commands = [(["add", "--all"], present), (["rm", "--cached", "-q", "--ignore-unmatch"], gone)]
    for command, chosen in commands:
        if not chosen:
            continue
        listing = root.parent / "agentls-paths"
        listing.write_bytes(b"\0".join(p.encode() for p in chosen))
        pathspecs = ["--pathspec-from-file", str(listing), "--pathspec-file-nul"]
        await _git(root, "--literal-pathspecs", *command, *pathspecs)


def _copy_tree(workspace: Path, root: Path) -> None:
    patterns = _ignore_patterns(workspace)

    def ignore(folder: str, names: list[str]) -> set[str]:
        relative = Path(folder).relative_to(workspace)
        skipped = set()
        for name in names:
            path = (relative / name).as_posix()
            if name in ALWAYS_SKIPPED or any(
                fnmatch.fnmatch(name, p) or fnmatch.fnmatch(path, p) for p in patterns
            ):
                skipped.add(name)
        return skipped

    shutil.copytree(workspace, root, symlinks=True, ignore=ignore)


def _ignore_patterns(workspace: Path) -> list[str]:
    try:
        lines = (workspace / ".gitignore").read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    patterns = []
    for line in lines:
        line = line.strip()
        if line and not line.startswith(("#", "!")):
            patterns.append(line.strip("/"))
    return patterns


def _lay_over(root: Path, overlay: Mapping[str, str | None]) -> None:
    for path, text in overlay.items():
        target = root / path
        if text is None:
            target.unlink(missing_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


async def _remove(box: Sandbox, parent: Path) -> None:
    if box.kind == "worktree":
        try:
            await _git(box.workspace, "worktree", "remove", "--force", str(box.root))
        except SandboxError as error:
            log.warning("could not remove the worktree", path=str(box.root), error=str(error))
        with contextlib.suppress(SandboxError):
            await _git(box.workspace, "worktree", "prune")
    await asyncio.to_thread(shutil.rmtree, parent, True)


async def _git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0"}
    try:
        process = await asyncio.create_subprocess_exec(
            "git",
            *_GIT_IDENTITY,
            *args,
            cwd=cwd,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
        )
    except FileNotFoundError:
        raise SandboxError(
            "git is not on PATH; agentic steps need git for their sandbox: install git"
        ) from None
    stdout, stderr = await process.communicate()
    if process.returncode != 0:
        message = stderr.decode(errors="replace").strip().splitlines()
        raise SandboxError(f"git {args[0]} failed in {cwd}: {message[-1] if message else ''}")
    return stdout.decode("utf-8", errors="surrogateescape")
