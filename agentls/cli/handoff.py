"""Hand a terminal command to the resident process, so that it starts in milliseconds.

A Python start-up that imports the configuration's models, the orchestration and the
adapters costs a terminal command about 300 ms before its work. The resident process
(``agentls.cli.resident``) pays that once: it loads them, listens on a Unix socket, and forks
a child for each command. This side, the command as typed, imports almost nothing: it sends
its arguments, working folder, environment and umask with its standard input, output and
error (the descriptors themselves), forwards Ctrl-C, SIGTERM and SIGHUP, and exits with the
child's status. The child is therefore the command, on the same terminal, as if run here.

Where no resident answers, the command runs here as before and starts one for the next
command. ``AGENTLS_RESIDENT=0`` turns this off; ``AGENTLS_RESIDENT_IDLE=SECONDS`` is how long
the resident waits for a command before it exits (default 600). It is off where ``CI`` is set: a
CI job runs once.

Only the same user reaches the resident: the socket lives in a folder only they can enter,
and the resident checks the caller's user id (``SO_PEERCRED``) before it forks.
"""

from __future__ import annotations

import array
import contextlib
import io
import json
import os
import signal
import socket
import stat
import struct
import sys
import zlib

TYPE_CHECKING = False  # typing itself would cost this module a third of its start-up
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from types import FrameType

SWITCH = "AGENTLS_RESIDENT"
IDLE = "AGENTLS_RESIDENT_IDLE"
IDLE_S = 600.0
HANDED = frozenset(
    {
        "agents",
        "apply",
        "audit",
        "ci",
        "config",
        "doctor",
        "exec",
        "followup",
        "history",
        "run",
        "trust",
        "undo",
        "workflows",
    }
)
"""The commands the resident runs. ``serve`` and ``acp`` speak a protocol on stdio for as long
as a client is attached and ``shell`` is a conversation; a start-up saved is nothing to them."""

FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
STARTED = b"\x01"
"""The child has taken the command: from here it runs there, whatever happens."""
ENDED = b"\x02"
"""Followed by the exit status, 4 bytes."""
LENGTH = struct.Struct("!I")
STATUS = struct.Struct("!i")
MAX_REQUEST = 4 * 1024 * 1024
MAX_SOCKET_PATH = 108
"""What Linux takes as a Unix socket's path (``sun_path``), its final NUL included."""


def hand_off(arguments: list[str]) -> int | None:
    """The exit status of ``arguments`` run by the resident; None where it must run here (no
    resident yet: one is started for the next command)."""
    environ = os.environ
    if not wanted(arguments, environ) or not _stdio_open():
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


def wanted(arguments: list[str], environ: Mapping[str, str]) -> bool:
    switch = environ.get(SWITCH, "").strip().lower()
    if switch in ("0", "off", "no", "false") or environ.get("CI"):
        return False
    if not hasattr(socket, "SO_PEERCRED"):  # no way to know who connects (not Linux)
        return False
    command = next((a for a in arguments if not a.startswith("-")), None)
    return command in HANDED


def idle_seconds(environ: Mapping[str, str]) -> float:
    try:
        seconds = float(environ.get(IDLE, ""))
    except ValueError:
        return IDLE_S
    return seconds if seconds > 0 else IDLE_S


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
