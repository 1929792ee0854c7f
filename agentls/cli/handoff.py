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

This module holds the rule (``wanted``) and the protocol, and is all that ``--help`` loads of
it; the caller's side (``caller.hand_off``) loads only for a command that is handed off.
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # signal's C module (see caller: no stub)
import os
import struct

TYPE_CHECKING = False  # typing itself would cost this module a third of its start-up
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

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

FORWARDED: tuple[int, int, int] = (_signal.SIGINT, _signal.SIGTERM, _signal.SIGHUP)
STARTED = b"\x01"
"""The child has taken the command: from here it runs there, whatever happens."""
ENDED = b"\x02"
"""Followed by the exit status, 4 bytes."""
LENGTH = struct.Struct("!I")
STATUS = struct.Struct("!i")
MAX_REQUEST = 4 * 1024 * 1024
MAX_SOCKET_PATH = 108
"""What Linux takes as a Unix socket's path (``sun_path``), its final NUL included."""


def encode_request(
    arguments: list[str], cwd: str, environ: Mapping[bytes, bytes], umask: int, encodings: list[str]
) -> bytes:
    """The command as the resident reads it (``decode_request``): NUL-separated fields, as
    none of them can hold a NUL (the kernel's own rule for arguments and environment)."""
    fields = [cwd, str(umask), *encodings, str(len(arguments)), *arguments]
    return b"\0".join([*map(os.fsencode, fields), *(b"%s=%s" % item for item in environ.items())])


def decode_request(body: bytes) -> dict[str, Any]:
    """``argv``, ``cwd``, ``env``, ``umask`` and ``encodings`` of an ``encode_request``;
    ValueError where it is not one."""
    fields = [os.fsdecode(field) for field in body.split(b"\0")]
    if len(fields) < 6:
        raise ValueError("a request without its fields")
    cwd, umask, *encodings = fields[:5]
    count = int(fields[5])
    if not 0 <= count <= len(fields) - 6:
        raise ValueError("a request with fewer arguments than it says")
    arguments, variables = fields[6 : 6 + count], fields[6 + count :]
    if not all("=" in variable for variable in variables):
        raise ValueError("a request with an environment variable without a value")
    return {
        "argv": arguments,
        "cwd": cwd,
        "env": dict(variable.split("=", 1) for variable in variables),
        "umask": int(umask),
        "encodings": encodings,
    }


def wanted(arguments: list[str], environ: Mapping[str, str]) -> bool:
    switch = environ.get(SWITCH, "").strip().lower()
    if switch in ("0", "off", "no", "false") or environ.get("CI"):
        return False
    command = next((a for a in arguments if not a.startswith("-")), None)
    if command not in HANDED:
        return False
    import _socket

    return hasattr(_socket, "SO_PEERCRED")  # else no way to know who connects (not Linux)


def idle_seconds(environ: Mapping[str, str]) -> float:
    try:
        seconds = float(environ.get(IDLE, ""))
    except ValueError:
        return IDLE_S
    return seconds if seconds > 0 else IDLE_S
