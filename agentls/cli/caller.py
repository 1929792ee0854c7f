"""The caller's side of the hand-off (``handoff``): find the resident's socket in this user's
private folder, send the command with its standard streams, pass signals on, and return the
child's exit status; where none answers, start one for the next command."""

from __future__ import annotations

import array
import contextlib
import io
import json
import os
import signal
import socket
import stat
import sys
import zlib

from agentls.cli.handoff import (
    ENDED,
    FORWARDED,
    LENGTH,
    MAX_SOCKET_PATH,
    STARTED,
    STATUS,
    SWITCH,
)

TYPE_CHECKING = False  # typing itself would cost this module a third of its start-up
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from types import FrameType


def hand_off(arguments: list[str]) -> int | None:
    """The exit status of ``arguments`` (a command ``handoff.wanted``) run by the resident;
    None where it must run here (no resident yet: one is started for the next command)."""
    environ = os.environ
    if not _stdio_open():
        return None
    folder = private_folder(environ)
    if folder is None:
        return None
    path = os.path.join(folder, f"{key()}.sock")
    if len(path.encode()) >= MAX_SOCKET_PATH:
        return None
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        client.connect(path)
    except OSError:
        client.close()
        start_resident(path, environ)
        return None
    with client:
        return _converse(client, arguments)


def private_folder(environ: Mapping[str, str]) -> str | None:
    """The folder of the resident's socket, made if missing; None where it is not this user's
    alone (another user could then put their own socket in its place)."""
    runtime = environ.get("XDG_RUNTIME_DIR", "")
    if os.path.isabs(runtime):
        folder = os.path.join(runtime, "agentls")
    else:
        folder = os.path.join(environ.get("TMPDIR") or "/tmp", f"agentls-{os.getuid()}")
    try:
        os.mkdir(folder, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return None
    try:
        found = os.lstat(folder)
    except OSError:
        return None
    private = found.st_uid == os.getuid() and not found.st_mode & 0o077
    return folder if stat.S_ISDIR(found.st_mode) and private else None


def key(package: str = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))) -> str:
    """Which resident this command may use: one running this Python, this agentls (the files
    of ``package`` as they are now) and this import path. An upgrade or an edit means a new
    resident."""
    newest = 0
    for folder, subfolders, files in os.walk(package):
        subfolders[:] = [name for name in subfolders if name != "__pycache__"]
        for name in files:
            if name.endswith(".py"):
                newest = max(newest, os.stat(os.path.join(folder, name)).st_mtime_ns)
    installed = os.stat(os.path.dirname(package)).st_mtime_ns
    parts = [sys.executable, sys.version, package, str(newest), str(installed), *sys.path]
    return format(zlib.crc32("\0".join(parts).encode()), "08x")


def start_resident(path: str, environ: Mapping[str, str]) -> None:
    """Start the resident for ``path`` in the background, in a session of its own, with
    nothing of this terminal."""
    boot = "import sys; sys.path[:] = sys.argv[2:]; from agentls.cli.resident import main; main()"
    argv = [sys.executable, "-c", boot, path, *sys.path]
    null = os.open(os.devnull, os.O_RDWR)
    try:
        os.posix_spawn(
            sys.executable,
            argv,
            environ,
            file_actions=[(os.POSIX_SPAWN_DUP2, null, fd) for fd in (0, 1, 2)],
            setsid=True,
        )
    except (OSError, NotImplementedError):
        pass  # the command runs here all the same
    finally:
        os.close(null)


def _stdio_open() -> bool:
    """Whether this process's standard streams are its descriptors 0, 1 and 2, and open (a
    test's captured output is not: the command then runs here)."""
    try:
        for fd, stream in enumerate((sys.stdin, sys.stdout, sys.stderr)):
            if stream is None or stream.fileno() != fd:
                return False
            os.fstat(fd)
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return False
    return True


def _converse(client: socket.socket, arguments: list[str]) -> int | None:
    umask = os.umask(0o022)
    os.umask(umask)
    request = json.dumps(
        {
            "argv": arguments,
            "cwd": os.getcwd(),
            "env": dict(os.environ),
            "umask": umask,
            "encodings": [stream.encoding for stream in (sys.stdin, sys.stdout, sys.stderr)],
        }
    ).encode()
    message = LENGTH.pack(len(request)) + request
    forwarded: list[int] = []  # from here a Ctrl-C is the command's, wherever it runs
    previous = {signum: signal.signal(signum, _forward(client, forwarded)) for signum in FORWARDED}
    try:
        try:
            sent = client.sendmsg(
                [message], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", (0, 1, 2)))]
            )
            client.sendall(message[sent:])
            started = _read(client, 1) == STARTED
        except OSError:
            started = False
        if not started:  # the resident was leaving: nothing ran, so it runs here
            return 128 + forwarded[0] if forwarded else None
        answer = _read(client, 1 + STATUS.size)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if answer[:1] == ENDED and len(answer) == 1 + STATUS.size:
        (status,) = STATUS.unpack(answer[1:])
        return int(status)
    if forwarded:  # it died of what it was sent, as this process would have
        return 128 + forwarded[0]
    print(
        "agentls: the command's process ended without an exit status (killed?); "
        f"{SWITCH}=0 runs commands without the resident process",
        file=sys.stderr,
    )
    return 1


def _forward(
    client: socket.socket, forwarded: list[int]
) -> Callable[[int, FrameType | None], None]:
    def forward(signum: int, _frame: FrameType | None) -> None:
        forwarded.append(signum)
        with contextlib.suppress(OSError):  # the command has ended: nothing to stop
            client.send(bytes([signum]))

    return forward


def _read(client: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        try:
            chunk = client.recv(size - len(data))
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    return data
