"""The caller's side of the hand-off (``handoff``): find the resident's socket in this user's
private folder, send the command with its standard streams, pass signals on, and return the
child's exit status; where none answers, start one for the next command.

It uses the C modules under ``socket`` and ``signal``: their Python layers import enum,
functools, collections and selectors, which would make this side's start-up about twice a
bare Python's (some 13 ms more)."""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # no stub
import _socket
import io
import os
import stat
import struct
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
    encode_request,
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
    client = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        client.connect(path)
    except OSError:
        client.close()
        start_resident(path, environ)
        return None
    try:
        return _converse(client, arguments)
    finally:
        client.close()


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
    of ``package`` as they are now) and this import path with what is installed in it (a
    package installed or removed changes its folder). An upgrade, an edit or a new plugin
    means a new resident."""
    newest = 0
    for folder, subfolders, files in os.walk(package):
        subfolders[:] = [name for name in subfolders if name != "__pycache__"]
        for name in files:
            if name.endswith(".py"):
                newest = max(newest, os.stat(os.path.join(folder, name)).st_mtime_ns)
    parts = [sys.executable, sys.version, package, str(newest)]
    for folder in [os.path.dirname(package), *sys.path]:
        try:
            changed = os.stat(folder or ".").st_mtime_ns
        except OSError:
            changed = 0
        parts += [folder, str(changed)]
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


def _converse(client: _socket.socket, arguments: list[str]) -> int | None:
    umask = os.umask(0o022)
    os.umask(umask)
    encodings = [stream.encoding for stream in (sys.stdin, sys.stdout, sys.stderr)]
    request = encode_request(arguments, os.getcwd(), os.environb, umask, encodings)
    message = LENGTH.pack(len(request)) + request
    forwarded: list[int] = []  # from here a Ctrl-C is the command's, wherever it runs
    forward = _forward(client, forwarded)
    previous = {signum: _signal.signal(signum, forward) for signum in FORWARDED}
    try:
        try:
            sent = client.sendmsg(
                [message], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, struct.pack("3i", 0, 1, 2))]
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
            _signal.signal(signum, handler)
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
    client: _socket.socket, forwarded: list[int]
) -> Callable[[int, FrameType | None], None]:
    def forward(signum: int, _frame: FrameType | None) -> None:
        forwarded.append(signum)
        try:
            client.send(bytes([signum]))
        except OSError:  # the command has ended: nothing to stop
            return

    return forward


def _read(client: _socket.socket, size: int) -> bytes:
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
