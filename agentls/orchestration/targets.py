"""The files a run covers, from what the user pointed at: files, folders, globs, what changed.

A folder stands for the files under it as git sees them (tracked and untracked, without what
``.gitignore`` ignores); outside a git repository, for the files a sandbox copy would hold
(``sandbox.copy_ignores``) but hidden ones. A glob (``src/**/*.py``) is matched from the
current folder and honours the same ignores; a file named explicitly is always taken. "What
changed" is the working tree's diff against a revision, plus untracked files; deleted files
are left out. Every path is checked by ``workspace_relative``: nothing outside the workspace,
nothing in ``.git``; links that lead out of the workspace are skipped.
"""

from __future__ import annotations

import asyncio
import glob
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from agentls.domain.errors import TaskInputError, UnsafePathError
from agentls.domain.paths import WorkspacePaths
from agentls.orchestration.git import GitError, git, git_env
from agentls.orchestration.sandbox import copy_ignores

MAX_FILES = 5000
"""More files than this in one run is almost surely a mistake (a home folder, say)."""
_GLOB_CHARACTERS = frozenset("*?[")


async def expand(
    workspace: Path,
    given: Sequence[str],
    changed: str | None = None,
    cwd: Path | None = None,
    paths: WorkspacePaths | None = None,
) -> list[str]:
    """The workspace-relative files ``given`` (paths or globs, relative to ``cwd``) and, with
    ``changed``, the files changed since that revision stand for: in the order given, each once.
    ``TaskInputError`` says what to fix when a name matches nothing. ``paths``: the checker to
    check them with (a run's request can take it along, so each file is checked once)."""
    workspace = workspace.resolve()
    checked = paths if paths is not None and paths.root == workspace else WorkspacePaths(workspace)
    here = (cwd or Path.cwd()).resolve()
    found: list[str] = []
    for name in given:
        found.extend(await _expand_one(checked, here, name))
    if changed is not None:
        found.extend(await changed_files(workspace, changed, checked))
    files = list(dict.fromkeys(found))
    if not files:
        what = f"nothing changed against {changed}" if changed is not None else "no files given"
        raise TaskInputError(f"{what}; there is nothing to run on")
    if len(files) > MAX_FILES:
        raise TaskInputError(
            f"{len(files)} files is more than the {MAX_FILES} one run takes; point at a folder "
            "or glob inside the project"
        )
    return files


async def changed_files(
    workspace: Path, revision: str, paths: WorkspacePaths | None = None
) -> list[str]:
    """Files of ``workspace`` whose text differs from ``revision``, and untracked ones."""
    if not revision or revision.startswith("-"):
        raise TaskInputError(f"{revision!r} is not a revision; give a branch, tag or commit")
    if not await _in_git(workspace):
        raise TaskInputError(
            f"{workspace} is not in a git repository; what changed is the diff against a commit"
        )
    try:
        diff = await git(
            workspace, "diff", "--name-only", "-z", "--relative", "--no-renames",
            "--end-of-options", revision, "--",
            needed_for="--changed",
        )  # fmt: skip
    except GitError as error:
        raise TaskInputError(
            f"cannot diff against {revision!r} ({_reason(error)}); give a branch, tag or commit "
            "of this repository"
        ) from None
    untracked = await _git_files(workspace, tracked=False)
    names = [name for name in diff.split("\0") if name] + untracked
    return _existing(paths or WorkspacePaths(workspace), names)


async def _expand_one(checked: WorkspacePaths, here: Path, name: str) -> list[str]:
    workspace = checked.root
    path = Path(name) if Path(name).is_absolute() else here / name
    if path.is_dir():
        return await _folder_files(checked, path)
    if path.exists() or not _GLOB_CHARACTERS & set(name):
        if not path.exists():
            raise TaskInputError(f"{path} does not exist")
        return [checked.relative(path)]
    matches = sorted(glob.glob(name, root_dir=here, recursive=True))
    files = [m for m in matches if (here / m).is_file()]
    if not files:
        raise TaskInputError(f"{name} matches no file (from {here})")
    taken = _existing(checked, [str(here / m) for m in files])
    kept = await _not_ignored(workspace, taken)
    return [relative for relative in taken if relative in kept]


async def _folder_files(checked: WorkspacePaths, folder: Path) -> list[str]:
    workspace = checked.root
    if not folder.resolve().is_relative_to(workspace):
        raise TaskInputError(
            f"{folder} is outside the workspace {workspace}; give a folder inside it, or "
            "--workspace"
        )
    try:
        names = sorted(await _git_files(folder, tracked=True))
    except GitError:  # not in a git repository (or no git): the files a copy would hold
        return _existing(checked, await asyncio.to_thread(_walk, workspace, folder))
    return _existing(checked, [str(folder / name) for name in names])


def _walk(workspace: Path, folder: Path) -> list[str]:
    ignore = copy_ignores(workspace)
    files: list[str] = []
    for parent, folders, names in os.walk(folder):
        skipped = ignore(parent, folders + names)
        folders[:] = sorted(f for f in folders if f not in skipped and not f.startswith("."))
        files.extend(
            os.path.join(parent, n) for n in sorted(names) if n not in skipped and n[0] != "."
        )
    return files


async def _git_files(folder: Path, tracked: bool) -> list[str]:
    """Files under ``folder`` (relative to it) git lists: untracked ones not ignored, and with
    ``tracked`` the tracked ones too."""
    which = ["--cached", "--others"] if tracked else ["--others"]
    listing = await git(
        folder, "ls-files", "-z", *which, "--exclude-standard", "--", ".", needed_for="a folder"
    )
    return [name for name in listing.split("\0") if name]


async def _not_ignored(workspace: Path, relative: list[str]) -> set[str]:
    """Those of the workspace-relative ``relative`` that a folder of theirs would list."""
    if not relative:
        return set()
    if await _in_git(workspace):
        listing = await git(
            workspace, "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--",
            *relative, env=git_env(GIT_LITERAL_PATHSPECS="1"), needed_for="a glob",
        )  # fmt: skip
        return {name for name in listing.split("\0") if name}
    ignore = copy_ignores(workspace)
    return {name for name in relative if not _copy_ignored(ignore, workspace, name)}


def _copy_ignored(ignore: Callable[[str, list[str]], set[str]], workspace: Path, name: str) -> bool:
    """Whether a copy leaves ``name`` out, asked folder by folder as ``copytree`` would."""
    parts = Path(name).parts
    for depth, part in enumerate(parts):
        if part.startswith(".") or part in ignore(str(workspace.joinpath(*parts[:depth])), [part]):
            return True
    return False


def _existing(checked: WorkspacePaths, names: Iterable[str]) -> list[str]:
    """``names`` (absolute or relative to the workspace) that are files inside it, relative."""
    root = str(checked.root)
    files = []
    for name in names:
        path = os.path.join(root, name)  # an absolute name stays as it is
        if not os.path.isfile(path):
            continue
        try:
            files.append(checked.relative(path))
        except UnsafePathError:  # a link out of the workspace, or into .git
            continue
    return files


async def _in_git(workspace: Path) -> bool:
    try:
        inside = await git(workspace, "rev-parse", "--is-inside-work-tree", needed_for="a folder")
    except GitError:
        return False
    return inside.strip() == "true"


def _reason(error: GitError) -> str:
    return str(error).split(": ", 1)[-1].removeprefix("fatal: ")
