"""The resident process: agentls loaded once, a forked child per terminal command.

Started by ``caller.start_resident`` in a session of its own. It loads what commands need,
listens on its socket, and for each caller of the same user forks a child that takes the
caller's standard streams, folder, environment and umask and runs the command as
``agentls.cli.main`` would; its consoles then look afresh at the caller's terminal and
environment (``common.consoles_anew``). The resident holds no thread, no event loop and no
open file of a command, so a fork is a clean copy; it exits after a while with no command
(``handoff.idle_seconds``).
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import importlib
import io
import os
import pkgutil
import signal
import socket
import struct
import sys
import tempfile
import threading
import traceback
from typing import Any, NoReturn

import agentls
from agentls.cli import handoff

NOT_LOADED = ("agentls.__main__", "agentls.cli", "agentls.server", "agentls.acp_agent")
"""The program itself, the CLI's modules but those of the commands handed here
(``command_modules``), and the language and ACP servers, which no command here runs."""
LIBRARIES = (
    "asyncio",
    "click",
    "importlib.resources.readers",
    "pwd",
    "rich.console",
    "rich.markdown",
    "rich.panel",
    "rich.syntax",
    "rich.table",
    "rich.text",
    "yaml",
)
"""Libraries the commands load when they first print or read."""
OPTIONAL_LIBRARIES = ("ruff.__main__",)
"""Where the bundled ruff is (``pip install agentls`` brings it; a checkout may lack it)."""


def main() -> None:
    path = sys.argv[1]
    serve(path, handoff.idle_seconds(os.environ))


def serve(path: str, idle_s: float) -> None:
    """Answer commands on ``path`` until none has come for ``idle_s``; returns at once where
    another resident already serves it."""
    with open(path + ".lock", "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return
        lock.truncate(0)
        lock.write(f"{os.getpid()}\n")  # who serves, while it does
        lock.flush()
        try:
            _listen(path, idle_s, lock.fileno())
        finally:
            lock.truncate(0)


def _listen(path: str, idle_s: float, lock: int) -> None:
    preload()
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)  # left by a resident that was killed
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(path)
        os.chmod(path, 0o600)  # its folder is this user's alone already
        listener.listen(64)
        listener.settimeout(idle_s)
        mine = os.stat(path).st_ino
        signal.signal(signal.SIGCHLD, lambda _signum, _frame: _reap())  # no zombies
        try:
            _accept(listener, lock)
        finally:
            with contextlib.suppress(OSError):
                if os.stat(path).st_ino == mine:
                    os.unlink(path)


def preload() -> None:
    """Load what the commands need, and parse the built-in configuration."""
    gc.disable()
    for module in LIBRARIES:
        importlib.import_module(module)
    for module in OPTIONAL_LIBRARIES:
        with contextlib.suppress(ImportError):
            importlib.import_module(module)
    for name in [*_modules(agentls.__path__, "agentls."), *command_modules()]:
        importlib.import_module(name)
    from agentls.adapters.registry import AdapterRegistry
    from agentls.adapters.ruff import bundled_version
    from agentls.orchestration.config_loader import parse_builtin

    parse_builtin()
    AdapterRegistry.default()  # the installed plugins: a change to them is a new resident
    bundled_version()
    gc.collect()
    gc.freeze()  # every child shares these pages; a collection there would copy them
    gc.enable()


def command_modules() -> list[str]:
    """The modules of the commands handed to the resident."""
    from agentls.cli.group import COMMANDS

    return sorted({COMMANDS[name][0].partition(":")[0] for name in handoff.HANDED})


def _modules(paths: list[str], prefix: str) -> list[str]:
    """The modules below ``paths``, but those of ``NOT_LOADED`` (whose packages are not
    imported to look into, as ``pkgutil.walk_packages`` would)."""
    names = []
    for found in pkgutil.iter_modules(paths, prefix):
        if found.name.startswith(NOT_LOADED):
            continue
        names.append(found.name)
        if found.ispkg:
            inside = [os.path.join(path, found.name.rpartition(".")[2]) for path in paths]
            names.extend(_modules(inside, found.name + "."))
    return names


def _accept(listener: socket.socket, lock: int) -> None:
    while True:
        try:
            connection, _ = listener.accept()
        except TimeoutError:
            return
        with connection:
            if not same_user(connection):
                continue
            try:
                forked = os.fork()
            except OSError:  # no room for another process now: the caller runs it itself
                continue
            if forked == 0:
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # its agents are its own
                os.close(lock)  # held by the resident alone: a successor may take it
                listener.close()
                child(connection)


def same_user(connection: socket.socket) -> bool:
    credentials = connection.getsockopt(
        socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")
    )
    _pid, uid, _gid = struct.unpack("3i", credentials)
    return bool(uid == os.getuid())


def _reap() -> None:
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def child(connection: socket.socket) -> NoReturn:
    """Become the caller's command, and tell it how it ended."""
    try:
        request, streams = receive(connection)
        become(request, streams)
        connection.sendall(handoff.STARTED)
    except (OSError, ValueError, KeyError, TypeError):
        os._exit(1)  # nothing was taken: the caller runs the command itself
    ended = threading.Event()
    threading.Thread(target=_signals, args=(connection, ended), daemon=True).start()
    status = run(request["argv"])
    ended.set()
    with contextlib.suppress(OSError):
        connection.sendall(handoff.ENDED + handoff.STATUS.pack(status))
    os._exit(status)


def receive(connection: socket.socket) -> tuple[dict[str, Any], list[int]]:
    """The caller's request and its three standard streams."""
    fds_size = socket.CMSG_SPACE(3 * struct.calcsize("i"))
    data, ancillary, _flags, _address = connection.recvmsg(1 << 16, fds_size)
    streams: list[int] = []
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            streams.extend(struct.unpack(f"{len(payload) // 4}i", payload[: len(payload) // 4 * 4]))
    if len(streams) != 3 or len(data) < handoff.LENGTH.size:
        raise ValueError("a request without its three standard streams")
    (size,) = handoff.LENGTH.unpack(data[: handoff.LENGTH.size])
    if size > handoff.MAX_REQUEST:
        raise ValueError("a request too large")
    body = data[handoff.LENGTH.size :]
    while len(body) < size:
        chunk = connection.recv(size - len(body))
        if not chunk:
            raise ValueError("a request cut short")
        body += chunk
    return handoff.decode_request(body), streams


def become(request: dict[str, Any], streams: list[int]) -> None:
    """Take the caller's streams, folder, environment and umask."""
    for target, fd in enumerate(streams):
        os.dup2(fd, target)
        if fd > 2:
            os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    os.umask(int(request["umask"]))
    tempfile.tempdir = None  # found again, from the caller's TMPDIR, where first asked
    encodings = request["encodings"]
    sys.stdin = _text(0, "r", encodings[0])
    sys.stdout = _text(1, "w", encodings[1])
    sys.stderr = _text(2, "w", encodings[2], errors="backslashreplace")
    sys.argv = ["agentls", *request["argv"]]
    from agentls.cli.common import consoles_anew

    consoles_anew()


def _text(fd: int, mode: str, encoding: str, errors: str = "strict") -> io.TextIOWrapper:
    interactive = os.isatty(fd)
    raw = io.FileIO(fd, mode, closefd=False)
    buffered = io.BufferedReader(raw) if mode == "r" else io.BufferedWriter(raw)
    return io.TextIOWrapper(
        buffered,
        encoding=encoding,
        errors=errors,
        line_buffering=interactive or fd == 2,
        write_through=fd == 2,
    )


def run(arguments: list[str]) -> int:
    """``agentls.cli.run_here(arguments)``, and the status a process would exit with."""
    from agentls.cli import run_here

    status: object = 0
    try:
        run_here(arguments)
    except SystemExit as exit:
        status = exit.code
    except KeyboardInterrupt:
        status = 130
    except BaseException:  # what an uncaught exception would have printed
        traceback.print_exc()
        status = 1
    if status is None:
        status = 0
    elif not isinstance(status, int):
        print(status, file=sys.stderr)
        status = 1
    with contextlib.suppress(Exception):
        import atexit

        atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    return status & 0xFF


def _signals(connection: socket.socket, ended: threading.Event) -> None:
    """Deliver here what the caller was sent; the caller gone is a hang-up."""
    allowed = {int(signum) for signum in handoff.FORWARDED}
    while True:
        try:
            data = connection.recv(1)
        except OSError:
            data = b""
        if ended.is_set():
            return
        if not data:
            os.kill(os.getpid(), handoff.FORWARDED[2])
            return
        if data[0] in allowed:
            os.kill(os.getpid(), data[0])
