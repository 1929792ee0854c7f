"""Sandboxes for agents that edit files themselves.

The agent works in a throwaway copy of the workspace: a ``git worktree`` when the workspace is
a git repository (its uncommitted and untracked files copied over), else a copy that honours
the top-level ``.gitignore``. The editor's unsaved buffers and earlier steps' changes are laid
over it. The copy's git index records that starting point, so afterwards ``git status`` in the
sandbox says exactly what the agent changed; those changes become proposed edits. The user's
real files are never touched, and the sandbox is removed afterwards, also on cancel and crash.

agentls's own git is inert to what the agent writes: every call names the sandbox's git
folders explicitly (a copy's lives beside the sandbox, not in it), reads no system or global
configuration, runs no hooks, fsmonitor, pager or submodule, and gets a minimal environment.
The git metadata that could still change what git does (the ``.git`` link, config, commondir,
gitdir, info/attributes, hooks) is fingerprinted when the sandbox is made; if the agent changed
it, ``changes`` fails before any git runs.

Each sandbox's temp folder holds a lock for its lifetime; ``leftovers.prune_leftovers``
removes the folders (and worktree entries) of agentls processes that died without cleaning up.
"""

from __future__ import annotations

import asyncio
import fnmatch
import hashlib
import os
import re
import shutil
import stat
import tempfile
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from agentls.adapters import scratch
from agentls.domain import textfile
from agentls.domain.edits import diff_edits
from agentls.domain.errors import AgentlsError, UnsafePathError
from agentls.domain.paths import agent_path, refusal
from agentls.domain.results import ProposedEdit, RefusedPath
from agentls.log import get_logger
from agentls.orchestration.git import GitError, git, git_env
from agentls.orchestration.leftovers import PREFIX, REPOSITORY, prune_folder

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
COPY_GIT = "git"
"""In the temp folder of a copy: its git folder, outside the agent's working folder."""
_METADATA = ("config", "config.worktree", "commondir", "gitdir", "info/attributes", "hooks")
"""In a git folder: what could make git run something or read another folder."""
_COMMON_METADATA = ("config", "config.worktree", "info/attributes", "hooks")


class SandboxError(AgentlsError):
    """The sandbox could not be made (git missing, disk full, ...)."""


class SandboxTamperedError(SandboxError):
    """The agent changed the sandbox's git metadata: nothing it did is taken."""


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
    git_dir: Path | None = None
    """The sandbox's git folder: the worktree's entry in the repository (``.git/worktrees/
    NAME``), or the copy's own folder beside ``root``. Named to git explicitly, always."""
    common_dir: Path | None = None
    """The repository's git folder (a copy's is its own)."""
    fingerprint: dict[str, object] = field(default_factory=dict)
    """The git metadata as it was before the agent ran, by path."""

    def git_env(self) -> dict[str, str]:
        assert self.git_dir is not None and self.common_dir is not None
        return git_env(
            GIT_DIR=str(self.git_dir),
            GIT_COMMON_DIR=str(self.common_dir),
            GIT_WORK_TREE=str(self.root),
        )

    async def git(self, *args: str) -> str:
        return await _git(self.root, *args, env=self.git_env())

    def metadata_paths(self) -> list[Path]:
        """The files and folders whose change would make git do something else."""
        assert self.git_dir is not None and self.common_dir is not None
        paths = [self.root / ".git", *(self.git_dir / name for name in _METADATA)]
        if self.common_dir != self.git_dir:
            paths += [self.common_dir / name for name in _COMMON_METADATA]
        return paths

    def seal(self) -> None:
        """Fingerprint the git metadata (the agent has not run yet)."""
        self.fingerprint = {str(p): _fingerprint(p) for p in self.metadata_paths()}

    def check_metadata(self) -> None:
        """Raise ``SandboxTamperedError`` when the git metadata is not as it was sealed."""
        changed = [
            path for path, before in self.fingerprint.items() if _fingerprint(Path(path)) != before
        ]
        if changed:
            shown = ", ".join(self._show(Path(p)) for p in changed[:3])
            if len(changed) > 3:
                shown += f" and {len(changed) - 3} more"
            log.warning("the agent changed the sandbox's git metadata", paths=changed)
            raise SandboxTamperedError(
                f"the agent changed the sandbox's git metadata ({shown}): its changes were not "
                "taken"
            )

    def _show(self, path: Path) -> str:
        for base in (self.root, self.workspace):
            if path.is_relative_to(base):
                return path.relative_to(base).as_posix()
        return str(path)

    async def changes(self, protected: Sequence[str] = ()) -> SandboxChanges:
        """What the agent changed since the sandbox was made, as edits of workspace paths;
        ``protected``: the user's ``settings.protected_paths``. Raises
        ``SandboxTamperedError``, before any git runs, when the agent changed git metadata."""
        self.check_metadata()
        out = await self.git(
            "status", "--porcelain=v1", "-z", "--untracked-files=all", "--ignore-submodules=all"
        )
        entries = [e for e in out.split("\0") if e]
        result = SandboxChanges()
        index = 0
        while index < len(entries):
            entry = entries[index]
            status, path = entry[:2], entry[3:]
            index += 1
            if status[0] == "R":  # renamed in the index: the next entry is the old name
                index += 1
            if status != "??" and status[1] == " ":
                continue  # only in the index: the starting point, nothing the agent did
            try:
                relative = agent_path(self.root, path, protected)
            except UnsafePathError as error:  # whatever the change, a deletion too
                result.refused.append(refusal(path, error))
                continue
            await self._collect(status, relative, result)
        return result

    async def _collect(self, status: str, path: str, result: SandboxChanges) -> None:
        """One ``git status`` entry the agent changed: the working tree against the index
        (the second column, or untracked), since the index holds the starting point."""
        target = self.root / path
        if target.is_symlink():
            reason = "the agent made a symbolic link; links are skipped"
            result.refused.append(RefusedPath(path=path, reason=reason))
            return
        if status[1] == "D":
            result.edits.append(ProposedEdit(path=path, kind="delete"))
            return
        # Both sides as the working copy reads files (textfile): lines end in \n, the
        # file's own encoding decoded, so the edits fit the text the run started from.
        try:
            after = textfile.decode(target.read_bytes(), path).text
        except (OSError, textfile.TextFileError):
            reason = "not a text file agentls can edit; binary changes are skipped"
            result.refused.append(RefusedPath(path=path, reason=reason))
            return
        if status == "??":
            result.edits.append(ProposedEdit(path=path, kind="create", new_text=after))
            return
        blob = await self.git("cat-file", "blob", f":0:{path}")
        try:
            before = textfile.decode(blob.encode("utf-8", "surrogateescape"), path).text
        except textfile.TextFileError as error:
            result.refused.append(RefusedPath(path=path, reason=str(error)))
            return
        result.edits.extend(diff_edits(path, before, after))


@asynccontextmanager
async def sandbox(
    workspace: Path, overlay: Mapping[str, str | None], name: str | None = None
) -> AsyncIterator[Sandbox]:
    """A sandbox of ``workspace`` with ``overlay`` (workspace path -> text, None = deleted)
    laid over it. Removed on exit, whatever happens. ``name`` (a run's step) gives it the same
    folder every time (see ``_parent``)."""
    workspace = workspace.resolve()
    parent = await asyncio.to_thread(_parent, name)
    lock = scratch.hold(parent)
    root = parent / workspace.name
    is_repo = (workspace / ".git").exists() and await _is_git_repo(workspace)
    box = Sandbox(root=root, workspace=workspace, kind="worktree" if is_repo else "copy")
    try:
        changed: list[str] | None = None
        if is_repo:
            try:
                changed = await _make_worktree(box, parent)
            except SandboxError as error:  # e.g. a repository without a commit yet
                log.info("no worktree, copying instead", reason=str(error))
                await asyncio.to_thread(_remove_worktree, box)
                box.kind = "copy"
                shutil.rmtree(root, ignore_errors=True)
        if box.kind == "copy":
            await asyncio.to_thread(_copy_tree, workspace, root)
            box.git_dir = box.common_dir = parent / COPY_GIT
            await box.git("init", "--quiet", "--template=")
        await asyncio.to_thread(_lay_over, workspace, root, overlay)
        if changed is None:
            await box.git("add", "--all")
        else:  # the checkout's index already matches HEAD: record only what differs
            await _add_paths(box, [*changed, *overlay])
        box.seal()
        yield box
    finally:
        await _remove(box, parent, lock)


def _parent(name: str | None) -> Path:
    """The sandbox's temp folder, new and this process's own. With ``name``, the same path
    each time a run's step runs, so that a follow-up works in the folder where the agent's
    CLI keeps the step's session (Claude Code and Gemini CLI keep sessions per folder); a
    random one when that path is taken (the step runs now in another process, or someone
    else made it), and the session then starts afresh."""
    if name is not None:
        folder = Path(tempfile.gettempdir()).resolve() / f"{PREFIX}{_SAFE.sub('_', name)[:80]}"
        for _ in range(2):
            try:
                folder.mkdir(mode=0o700)
                return folder
            except FileExistsError:
                if not prune_folder(folder):  # only a leftover of ours is taken over
                    break
            except OSError:
                break
    return Path(tempfile.mkdtemp(prefix=PREFIX)).resolve()


_SAFE = re.compile(r"[^A-Za-z0-9_.-]")


def _fingerprint(path: Path, depth: int = 0) -> object:
    """What ``path`` is: absent, a link and its target, a file's sha256, a folder's entries."""
    try:
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode):
            return ("link", os.readlink(path))
        if stat.S_ISREG(info.st_mode):
            return ("file", hashlib.sha256(path.read_bytes()).hexdigest())
        if stat.S_ISDIR(info.st_mode) and depth < 4:
            entries = sorted(os.listdir(path))
            return ("dir", tuple((n, _fingerprint(path / n, depth + 1)) for n in entries))
        return ("other", stat.S_IFMT(info.st_mode))
    except FileNotFoundError:
        return None
    except OSError as error:
        return ("unreadable", error.errno)


async def _is_git_repo(path: Path) -> bool:
    try:
        top = await _git(path, "rev-parse", "--show-toplevel")
    except SandboxError:
        return False
    return Path(top.strip()).resolve() == path


async def _make_worktree(box: Sandbox, parent: Path) -> list[str]:
    """A worktree of HEAD with the workspace's uncommitted changes; the paths they touch."""
    workspace, root = box.workspace, box.root
    common = await _git(workspace, "rev-parse", "--path-format=absolute", "--git-common-dir")
    box.common_dir = Path(common.strip()).resolve()
    (parent / REPOSITORY).write_text(str(box.common_dir), encoding="utf-8")  # for pruning
    await _git(workspace, "worktree", "add", "--detach", "--quiet", str(root), "HEAD")
    # Asked once, now, before the agent could write root/.git; never read from it again.
    own = await _git(root, "rev-parse", "--absolute-git-dir", env=git_env())
    box.git_dir = Path(own.strip()).resolve()
    if box.git_dir.parent != box.common_dir / "worktrees":
        raise SandboxError(f"git put the worktree's metadata in {box.git_dir}, not in worktrees/")
    dirty = await _git(
        workspace,
        "status",
        "--porcelain=v1",
        "-z",
        "--untracked-files=all",
        "--ignore-submodules=all",
    )
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


async def _add_paths(box: Sandbox, paths: list[str]) -> None:
    """Record these paths (only) in the index: added or changed, or removed."""
    root = box.root
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
        await box.git("--literal-pathspecs", *command, *pathspecs)


def _copy_tree(workspace: Path, root: Path) -> None:
    shutil.copytree(workspace, root, symlinks=True, ignore=copy_ignores(workspace))


def copy_ignores(workspace: Path) -> Callable[[str, list[str]], set[str]]:
    """What a copy of ``workspace`` leaves out (``shutil.copytree``'s ``ignore``): the folders
    in ``ALWAYS_SKIPPED`` and what the top-level ``.gitignore`` names (for folders not in git)."""
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

    return ignore


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


def _lay_over(workspace: Path, root: Path, overlay: Mapping[str, str | None]) -> None:
    """The editor's buffers and earlier steps' changes, in each file's own format."""
    for path, text in overlay.items():
        target = root / path
        if text is None:
            target.unlink(missing_ok=True)
            continue
        try:
            kind = textfile.read(workspace / path, path) or textfile.new_file(path)
        except (OSError, textfile.TextFileError):
            kind = textfile.new_file(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(kind.encode(text))


async def _remove(box: Sandbox, parent: Path, lock: int | None) -> None:
    """Remove the sandbox and its worktree entry. No git runs: the agent may have changed
    what git would read. The lock goes last, so no pruner races this."""
    try:
        await asyncio.to_thread(_remove_worktree, box)
        await asyncio.to_thread(shutil.rmtree, parent, True)
    finally:
        if lock is not None:
            os.close(lock)


def _remove_worktree(box: Sandbox) -> None:
    """The worktree's entry in the repository (what ``git worktree prune`` removes)."""
    entry, common = box.git_dir, box.common_dir
    if box.kind != "worktree" or entry is None or common is None:
        return
    shutil.rmtree(box.root, ignore_errors=True)
    if entry.parent == common / "worktrees" and entry.is_dir() and not entry.is_symlink():
        try:
            shutil.rmtree(entry)
        except OSError as error:
            log.warning("could not remove the worktree", path=str(entry), error=str(error))


async def _git(cwd: Path, *args: str, env: Mapping[str, str] | None = None) -> str:
    try:
        return await git(cwd, *args, env=env, needed_for="an agentic step's sandbox")
    except GitError as error:
        raise SandboxError(str(error)) from None
