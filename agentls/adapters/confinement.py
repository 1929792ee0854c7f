"""How an agent process is contained: bubblewrap's argv for a confinement (``os``), whether
bubblewrap can run here, and the places an agent keeps its own state. The policy (what each
step may write, and detecting an escape) is ``orchestration.containment``'s."""

from __future__ import annotations

import functools
import os
import platform
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from agentls.adapters.runner import MissingBinaryError
from agentls.log import get_logger

log = get_logger("agentls.containment")

Mode = Literal["os", "detect", "off"]

INSTALL_HINT = "install bubblewrap (apt-get install bubblewrap, dnf install bubblewrap)"
USERNS_HINT = (
    "allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1; on Ubuntu "
    "24.04 also kernel.apparmor_restrict_unprivileged_userns=0), or run agentls where a "
    "container allows them"
)
_DOCKER_SOCKETS = ("/run/docker.sock", "/var/run/docker.sock")


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
        if _is_socket(socket) and not any(within(socket, h) for h in hidden):
            layers.append((socket, ["--ro-bind", "/dev/null", socket]))
    shown: list[str | Path] = [home, *confinement.visible, *files]  # home stays readable
    if "/" in program:
        shown += [Path(program).parent, _installation(program, hidden)]
    for path in dict.fromkeys(os.path.realpath(p) for p in shown):
        if path not in hidden and any(within(path, h) for h in hidden) and os.path.exists(path):
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
        if os.path.lexists(inside) and within(real, root):
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
        or within(home, real)
        or any(within(real, p) or within(p, real) for p in protect)
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
        if within(real, folder) and real != folder:
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


def _home(env: Mapping[str, str]) -> Path:
    return Path(env.get("HOME") or Path.home())


def within(path: str, folder: str) -> bool:
    """Whether ``path`` is ``folder`` or inside it (both absolute, as strings)."""
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _is_socket(path: str) -> bool:
    try:
        return stat.S_ISSOCK(os.stat(path).st_mode)
    except OSError:
        return False
