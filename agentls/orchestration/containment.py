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
import functools
import os
import platform
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from agentls.adapters.runner import MissingBinaryError
from agentls.log import get_logger
from agentls.orchestration.results import ErrorKind, TaskError, TaskResult

log = get_logger("agentls.containment")

Mode = Literal["os", "detect", "off"]

INSTALL_HINT = "install bubblewrap (apt-get install bubblewrap, dnf install bubblewrap)"
USERNS_HINT = (
    "allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1; on Ubuntu "
    "24.04 also kernel.apparmor_restrict_unprivileged_userns=0), or run agentls where a "
    "container allows them"
)
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
_DOCKER_SOCKETS = ("/run/docker.sock", "/var/run/docker.sock")
_SHOWN = 8


# -- where bubblewrap works --------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    """Whether bubblewrap can contain agents here, and if not why and what to do."""

    usable: bool
    reason: str
    """What was found: ``bubblewrap 0.8.0 (/usr/bin/bwrap)``, or why it cannot run."""
    hint: str = ""
    """How to make it usable; empty when it is."""
    binary: str | None = None


@functools.cache
def probe() -> Probe:
    """Run bubblewrap once with the options agents get (cached for the process)."""
    if sys.platform != "linux":
        return Probe(False, f"bubblewrap is Linux only (this is {platform.system()})")
    binary = shutil.which("bwrap")
    if binary is None:
        return Probe(False, "bwrap is not installed", INSTALL_HINT)
    argv = [binary, *_BASE, "--tmpfs", "/tmp", "--", "true"]
    try:
        done = subprocess.run(argv, capture_output=True, timeout=20, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as error:
        return Probe(False, f"bwrap could not run: {error}", INSTALL_HINT, binary)
    if done.returncode != 0:
        lines = done.stderr.decode(errors="replace").strip().splitlines()
        why = lines[-1] if lines else f"exit code {done.returncode}"
        return Probe(False, f"bwrap cannot make a sandbox here: {why}", USERNS_HINT, binary)
    version = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False)
    name = version.stdout.strip() or "bubblewrap"
    return Probe(True, f"{name} ({binary})", "", binary)


_BASE = (
    "--die-with-parent",
    "--unshare-pid",
    "--ro-bind",
    "/",
    "/",
    "--dev",
    "/dev",
    "--proc",
    "/proc",
)
_said: set[str] = set()


def _say_once(message: str) -> None:
    if message not in _said:
        _said.add(message)
        log.warning(message)


def choose(requested: Mode) -> tuple[Mode, str | None]:
    """The mode in force for ``requested``, and why it differs (``os`` where bubblewrap
    cannot run becomes ``detect``)."""
    if requested != "os":
        return requested, None
    found = probe()
    if found.usable:
        return "os", None
    note = f"no OS sandbox for agentic steps ({found.reason}); detecting changes outside instead"
    _say_once(f"{note}: to fix, {found.hint}" if found.hint else note)
    return "detect", note


def read_only(requested: Mode, workspace: Path) -> Confinement | None:
    """How the agent of a step that may not write runs (a review, an explain, a text-mode
    implement): where its ``sandbox`` setting is os and bubblewrap runs, in bubblewrap in the
    workspace, which it can read but not write, like everything but its own state. Its CLI's
    read-only flags are the tool's rules: a CLI whose own sandbox cannot start here runs its
    shell unconfined. Else None: then those flags are all there is."""
    if requested != "os" or not probe().usable:
        return None
    workspace = workspace.resolve()
    real = sorted({p for p in git_dirs(workspace) if p is not None})
    return Confinement(mode="os", root=workspace, protect=(workspace, *real), writable=False)


# -- what an agent may write ------------------------------------------------------------


@dataclass(frozen=True)
class StatePath:
    """A folder (or file) where an agent CLI keeps its own state: logins, sessions, logs."""

    home: str | None
    """Relative to the agent's home folder; None: only where ``env`` is set."""
    env: str | None = None
    """A variable that, when set for the agent, gives the place instead (joined with
    ``suffix``): ``CODEX_HOME``, ``XDG_CONFIG_HOME``."""
    suffix: str = ""
    file: bool = False

    def locate(self, env: Mapping[str, str]) -> Path | None:
        value = env.get(self.env) if self.env else None
        if value:
            return Path(value).expanduser() / self.suffix if self.suffix else Path(value)
        if self.home is None:
            return None
        return _home(env) / self.home


@dataclass(frozen=True)
class Writable:
    path: Path
    file: bool = False


def state_locations(
    state: Sequence[StatePath], extra: Sequence[str], env: Mapping[str, str]
) -> list[Writable]:
    """The agent's state paths and its ``sandbox_paths`` (``~`` is its home), as places."""
    found = [Writable(p, s.file) for s in state if (p := s.locate(env)) is not None]
    for raw in extra:
        path = _home(env) / raw[2:] if raw == "~" or raw.startswith("~/") else Path(raw)
        if path.is_absolute():
            found.append(Writable(path))
    return found


@dataclass(frozen=True)
class Confinement:
    """How the agent process of one agentic step runs; carried by its ``TaskRequest``."""

    mode: Literal["os", "detect"]
    root: Path
    """The sandbox folder: the agent's working folder, writable."""
    protect: tuple[Path, ...] = ()
    """Never made writable, whatever a state path says: the workspace and its git folders."""
    visible: tuple[Path, ...] = ()
    """Kept readable where the private temp folder would hide them (the worktree's git)."""
    read_only: tuple[Path, ...] = ()
    """Inside ``root`` but read-only: the sandbox's git metadata, which agentls reads later."""
    tmpdir: Path | None = None
    """``detect``: the agent's private ``TMPDIR``."""
    writable: bool = True
    """Whether the agent may write ``root`` (an agentic step's sandbox), or only read it (the
    workspace, for a step that may not write: see ``read_only``)."""

    def apply(
        self,
        argv: Sequence[str],
        env: Mapping[str, str],
        state: Sequence[StatePath] = (),
        extra: Sequence[str] = (),
        files: Iterable[Path] = (),
    ) -> tuple[list[str], dict[str, str]]:
        """The process to start instead of ``argv`` with ``env``; ``files``: what agentls
        wrote for this run (a prompt file), kept readable."""
        env = dict(env)
        if self.mode == "detect":
            if self.tmpdir is not None:
                env["TMPDIR"] = str(self.tmpdir)
            return list(argv), env
        return bwrap_argv(self, argv, env, state_locations(state, extra, env), files), env


def bwrap_argv(
    confinement: Confinement,
    argv: Sequence[str],
    env: Mapping[str, str],
    writable: Sequence[Writable],
    files: Iterable[Path] = (),
) -> list[str]:
    found = probe()
    if not found.usable or found.binary is None:  # choose() said os, so this is a race
        raise MissingBinaryError("bwrap", f"cannot contain the agent: {found.reason}")
    program = _program(argv[0], env)
    home = os.path.realpath(_home(env))
    args = [found.binary, *_BASE]
    layers: list[tuple[str, list[str]]] = []  # hidden and shown again, parents first
    hidden: list[str] = []
    temps = {os.path.realpath(t) for t in ("/tmp", env.get("TMPDIR"), tempfile.gettempdir()) if t}
    runtime = os.path.realpath(env.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}")
    for folder in sorted({*temps, runtime}, key=len):
        if folder not in ("/", home) and os.path.isdir(folder):
            hidden.append(folder)
            layers.append((folder, ["--tmpfs", folder]))
    for socket in sorted({os.path.realpath(s) for s in _DOCKER_SOCKETS}):
        if _is_socket(socket) and not any(_within(socket, h) for h in hidden):
            layers.append((socket, ["--ro-bind", "/dev/null", socket]))
    shown: list[str | Path] = [home, *confinement.visible, *files]  # home stays readable
    if "/" in program:
        shown += [Path(program).parent, _installation(program, hidden)]
    for path in dict.fromkeys(os.path.realpath(p) for p in shown):
        if path not in hidden and any(_within(path, h) for h in hidden) and os.path.exists(path):
            layers.append((path, ["--ro-bind", path, path]))
    for _, layer in sorted(layers, key=lambda item: item[0].rstrip("/").count("/")):
        args += layer
    root = os.path.realpath(confinement.root)
    args += ["--bind" if confinement.writable else "--ro-bind", root, root]
    protect = [os.path.realpath(p) for p in confinement.protect]
    for place in writable:
        allowed = _allowed(place, home, protect)
        if allowed is not None:
            args += ["--bind-try", allowed, allowed]
    for inside in confinement.read_only:
        real = os.path.realpath(inside)
        if os.path.lexists(inside) and _within(real, root):
            args += ["--ro-bind", real, real]
    return [*args, "--chdir", root, "--", program, *argv[1:]]


def _allowed(place: Writable, home: str, protect: Sequence[str]) -> str | None:
    """The real path to bind writable, created when missing; None when it must not be (the
    root, the home folder or above it, the workspace or its git folders, inside or around)."""
    path = place.path
    try:
        if not path.exists():
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            if place.file:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w") as handle:  # a JSON state file must parse
                    handle.write("{}" if path.suffix == ".json" else "")
            else:
                path.mkdir(mode=0o700, exist_ok=True)
    except OSError as error:
        log.info("agent state path not available", path=str(path), error=str(error))
        return None
    real = os.path.realpath(path)
    if (
        real == "/"
        or _within(home, real)
        or any(_within(real, p) or _within(p, real) for p in protect)
    ):
        _say_once(
            f"{path} is not made writable for contained agents: it is the root or holds your "
            "home folder, or it overlaps the workspace or its git folders"
        )
        return None
    return real


def _installation(program: str, hidden: Sequence[str]) -> str:
    """What stays readable of a program the private temp folders would hide: its whole
    folder below the temp folder (a checkout or an npm prefix there: its libraries beside
    it), else the folder it really is in."""
    real = os.path.realpath(program)
    for folder in hidden:
        if _within(real, folder) and real != folder:
            first = real[len(folder.rstrip("/")) + 1 :].split("/")[0]
            return os.path.join(folder, first)
    return os.path.dirname(real)


def _program(program: str, env: Mapping[str, str]) -> str:
    """The program's path as the runner would find it, so a missing one is reported as
    missing (not as bubblewrap's failure)."""
    if "/" in program:
        return program
    found = shutil.which(program, path=env.get("PATH", os.defpath))
    if found is None:
        raise MissingBinaryError(program, "not found on PATH")
    return found


# -- what detection compares ------------------------------------------------------------

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


def git_dirs(folder: Path) -> tuple[Path | None, Path | None]:
    """``folder``'s own git folder and the common one (they differ for a worktree), read from
    the files themselves: no git command runs on what an agent may have written."""
    dot = folder / ".git"
    if dot.is_dir() and not dot.is_symlink():
        return dot, dot
    try:
        line = dot.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None, None
    if not line.startswith("gitdir:"):
        return None, None
    own = (folder / line.removeprefix("gitdir:").strip()).resolve()
    try:
        common = (own / (own / "commondir").read_text(encoding="utf-8").strip()).resolve()
    except (OSError, UnicodeDecodeError):
        common = own
    return own, common


def _git_scopes(git_dir: Path, entries: Sequence[str] = _GIT_ENTRIES) -> list[_Scope]:
    return [_Scope(str(git_dir / name), skip_names=_GIT_CHURN) for name in entries]


def _scopes(workspace: Path, root: Path, skip: Sequence[Path]) -> list[_Scope]:
    from agentls.orchestration.config_loader import user_config_path
    from agentls.state import state_dir

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
    return "~" + path[len(home) :] if _within(path, home) and home != "/" else path


def _home(env: Mapping[str, str]) -> Path:
    return Path(env.get("HOME") or Path.home())


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _is_socket(path: str) -> bool:
    try:
        return stat.S_ISSOCK(os.stat(path).st_mode)
    except OSError:
        return False
