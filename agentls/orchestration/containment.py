"""What the agent of an agentic step may write, and how that is enforced. The one rule.

An agentic step's agent edits files itself, in a throwaway copy of the workspace (``sandbox``).
Its tool's own permission rules are the tool's, not a boundary agentls relies on, so each agent
is contained as its ``sandbox`` setting says (and an agent that may not write at all runs in
the workspace under ``os`` with the workspace read-only too: ``read_only``):

``os``
    bubblewrap (Linux): the whole filesystem read-only, a private ``/dev``, ``/proc`` and pid
    namespace (everything the agent starts dies with it), a private ``/tmp`` and ``$TMPDIR``,
    the session's runtime folder (its bus, ssh and gpg agents) and Docker's socket hidden.
    Writable: the sandbox folder, except its git metadata, the agent's own state folders
    (``Adapter.state_paths``) and the agent's ``sandbox_paths``. The network is left alone.
    Where bubblewrap cannot run, ``detect`` is used instead, and the log says so once.
``detect``
    A stat of every place an escape matters, before and after the agent runs: the workspace
    (but mypy's, ruff's and pytest's caches), its real git metadata (config, hooks, HEAD,
    refs, packed-refs, info, modules, this sandbox's worktree entry), the sandbox's own git
    metadata, the sandbox's parent folder, new files straight in the temp folder, and the
    shell, ssh and git startup files of the home folder. The agent gets a private ``TMPDIR``.
    Any change fails the step and its edits are not taken.
``off``
    Nothing: the agent can write wherever you can.
"""

from __future__ import annotations

import asyncio
import os
import stat
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from agentls.adapters.confinement import (
    Confinement,
    Mode,
    choose,
    git_dirs,
    within,
)
from agentls.domain.locations import state_dir, user_config_path
from agentls.domain.results import ErrorKind, TaskError, TaskResult
from agentls.log import get_logger

log = get_logger("agentls.containment")

DATA_CACHES = frozenset({".mypy_cache", ".ruff_cache", ".pytest_cache"})
"""Workspace folders detection skips: tools rewrite them while you work, and nothing in them
runs (``__pycache__`` and ``node_modules`` are watched: their code runs)."""
_GIT_ENTRIES = (
    "config",
    "config.worktree",
    "HEAD",
    "packed-refs",
    "commondir",
    "gitdir",
    "hooks",
    "refs",
    "info",
    "modules",
)
_SHOWN = 8
_GIT_CHURN = frozenset({"objects", "logs", "index", "index.lock", "FETCH_HEAD", "ORIG_HEAD", "lfs"})
_HOME_STARTUP = (
    ".bashrc",
    ".bash_profile",
    ".bash_login",
    ".bash_logout",
    ".profile",
    ".zshrc",
    ".zshenv",
    ".zprofile",
    ".zlogin",
    ".gitconfig",
    ".ssh",
    ".config/git",
    ".config/fish",
    ".config/systemd/user",
    ".config/autostart",
    ".local/bin",
)

Key = tuple[object, ...]


@dataclass(frozen=True)
class _Scope:
    path: str
    tree: bool = True
    """A folder and everything below it; else only the regular files and links right in it,
    new or changed (the temp folder, where others come and go)."""
    skip_names: frozenset[str] = frozenset()
    skip_paths: frozenset[str] = frozenset()


@dataclass
class _Snapshot:
    strict: dict[str, Key] = field(default_factory=dict)
    loose: dict[str, Key] = field(default_factory=dict)

    def changed_since(self, before: _Snapshot) -> list[str]:
        changed = {p for p, key in self.strict.items() if before.strict.get(p) != key}
        changed |= set(before.strict) - set(self.strict)
        changed |= {p for p, key in self.loose.items() if before.loose.get(p) != key}
        return sorted(changed)


def _key(st: os.stat_result, path: str) -> Key:
    if stat.S_ISDIR(st.st_mode):  # its entries are compared themselves
        return ("dir", st.st_mode, st.st_ino)
    if stat.S_ISLNK(st.st_mode):
        try:
            target = os.readlink(path)
        except OSError:
            target = ""
        return ("link", target, st.st_ino, st.st_ctime_ns)
    return ("file", st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_mode, st.st_ino)


def _snapshot(scopes: Sequence[_Scope]) -> _Snapshot:
    snap = _Snapshot()
    for scope in scopes:
        try:
            st = os.lstat(scope.path)
        except OSError:
            continue
        if not scope.tree:
            _top(scope, snap.loose)
            continue
        snap.strict[scope.path] = _key(st, scope.path)
        if stat.S_ISDIR(st.st_mode):
            _walk(scope, snap.strict)
    return snap


def _walk(scope: _Scope, out: dict[str, Key]) -> None:
    stack = [scope.path]
    while stack:
        try:
            entries = os.scandir(stack.pop())
        except OSError:
            continue
        with entries:
            for entry in entries:
                if entry.name in scope.skip_names or entry.path in scope.skip_paths:
                    continue
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                out[entry.path] = _key(st, entry.path)
                if stat.S_ISDIR(st.st_mode):
                    stack.append(entry.path)


def _top(scope: _Scope, out: dict[str, Key]) -> None:
    try:
        entries = os.scandir(scope.path)
    except OSError:
        return
    with entries:
        for entry in entries:
            if any(entry.name.startswith(p) for p in scope.skip_names):
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode):
                out[entry.path] = _key(st, entry.path)


def _git_scopes(git_dir: Path, entries: Sequence[str] = _GIT_ENTRIES) -> list[_Scope]:
    return [_Scope(str(git_dir / name), skip_names=_GIT_CHURN) for name in entries]


def _scopes(workspace: Path, root: Path, skip: Sequence[Path]) -> list[_Scope]:

    root = root.resolve()
    parent = root.parent
    skipped = {str(p) for p in (*skip, parent, user_config_path().parent, state_dir())}
    scopes = [
        _Scope(
            str(workspace),
            skip_names=DATA_CACHES,
            skip_paths=frozenset({*skipped, str(workspace / ".git")}),
        ),
        _Scope(str(parent), skip_paths=frozenset({str(root), *skipped - {str(parent)}})),
        _Scope(
            str(Path(tempfile.gettempdir()).resolve()),
            tree=False,
            skip_names=frozenset({"agentls-sandbox-"}),
        ),
    ]
    own, common = git_dirs(workspace)
    if common is not None:
        scopes += _git_scopes(common)
    if own is not None and own != common:  # the workspace is a worktree itself
        scopes.append(_Scope(str(own), skip_names=_GIT_CHURN))
    box_own, _ = git_dirs(root)
    scopes.append(_Scope(str(root / ".git"), skip_names=_GIT_CHURN))  # file or folder
    if box_own is not None and box_own != root / ".git":  # this sandbox's worktree entry
        scopes.append(_Scope(str(box_own), skip_names=_GIT_CHURN))
    home = Path.home()
    scopes += [_Scope(str(home / name), skip_paths=frozenset(skipped)) for name in _HOME_STARTUP]
    return scopes


# -- one step -----------------------------------------------------------------------------


@dataclass
class Guard:
    """The containment of one agentic step, from before its agent starts to after it ends."""

    mode: Mode
    note: str | None = None
    """Why the mode in force is not the one asked for."""
    confinement: Confinement | None = None
    escaped: list[str] = field(default_factory=list)
    """Paths outside the sandbox detection saw changed."""
    _scopes: list[_Scope] = field(default_factory=list)
    _before: _Snapshot | None = None

    @classmethod
    async def start(
        cls, requested: Mode, workspace: Path, root: Path, state: Sequence[Path] = ()
    ) -> Guard:
        """For an agent that will work in ``root``, a sandbox of ``workspace``; ``state``: the
        agent's own folders, which detection leaves to it."""
        mode, note = await asyncio.to_thread(choose, requested)
        guard = cls(mode=mode, note=note)
        workspace = workspace.resolve()
        if mode == "os":
            own, common = git_dirs(root)
            real = {p for p in (*git_dirs(workspace), own, common) if p is not None}
            guard.confinement = Confinement(
                mode="os",
                root=root,
                protect=(workspace, *sorted(real)),
                visible=tuple(sorted(p for p in (own, common) if p is not None)),
                read_only=(root / ".git",),
            )
        elif mode == "detect":
            tmpdir: Path | None = root.parent / "agentls-tmp"
            try:
                tmpdir.mkdir(mode=0o700, exist_ok=True)  # type: ignore[union-attr]
            except OSError:
                tmpdir = None
            guard.confinement = Confinement(mode="detect", root=root, tmpdir=tmpdir)
            guard._scopes = _scopes(workspace, root, [*state, *([tmpdir] if tmpdir else [])])
            guard._before = await asyncio.to_thread(_snapshot, guard._scopes)
        return guard

    async def finish(self, result: TaskResult) -> TaskResult:
        """``result`` with the containment in force, failed when files outside the sandbox
        changed (whatever the agent said): its edits are then not taken."""
        result = result.model_copy(update={"containment": self.mode})
        if self._before is None:
            return result
        after = await asyncio.to_thread(_snapshot, self._scopes)
        self.escaped = after.changed_since(self._before)
        if not self.escaped:
            return result
        shown = ", ".join(_show(p) for p in self.escaped[:_SHOWN])
        more = len(self.escaped) - _SHOWN
        if more > 0:
            shown += f" and {more} more"
        message = (
            f"{result.agent} changed files outside its sandbox: {shown}; its edits were not "
            "taken. Check those files; if you changed them yourself during the run, run again"
        )
        return result.failed(TaskError(kind=ErrorKind.ESCAPED, message=message)).model_copy(
            update={"edits": []}
        )


def _show(path: str) -> str:
    home = str(Path.home())
    return "~" + path[len(home) :] if within(path, home) and home != "/" else path
