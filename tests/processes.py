"""Checks on processes the tests started (Linux /proc)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path


def alive(pid: int) -> bool:
    """Running or sleeping; a zombie waiting for its reaper holds nothing and counts as gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2] not in "ZX"


def wait_for_pids(path: Path, count: int, timeout_s: float = 10.0) -> list[int]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.exists():
            pids = [int(p) for p in path.read_text().split()]
            if len(pids) >= count:
                return pids
        time.sleep(0.02)
    raise AssertionError(f"{path} did not list {count} pids in time")


def wait_until(condition: Callable[[], bool], what: str, timeout_s: float = 20.0) -> None:
    """Wait for ``condition`` (never asserts on time itself: the deadline only ends a wait)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout_s} s")
        time.sleep(0.02)


def marked(marker: str) -> list[int]:
    """Living processes with ``marker`` in their command line."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if marker in cmdline and alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def with_environment(name: str, value: str) -> list[int]:
    """Living processes whose environment sets ``name`` to ``value``: an agent and what it
    started, found by the host's pids even when it ran in a PID namespace (bubblewrap), where
    the pids it reports itself are not the host's."""
    wanted = f"{name}={value}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environment = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if wanted in environment and alive(int(entry.name)):
            found.append(int(entry.name))
    return found


# A program an agent runs: it leaves a daemon (double fork, setsid, SIGTERM ignored) whose pid
# goes to argv[1], then lingers argv[2] seconds (a slow tool call) and exits.
DAEMONIZE = """
import os, signal, sys, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        with open(sys.argv[1] + ".tmp", "w") as handle:
            handle.write(str(os.getpid()))
        os.rename(sys.argv[1] + ".tmp", sys.argv[1])
        time.sleep(300)
    os._exit(0)
os.wait()
time.sleep(float(sys.argv[2]))
"""


def daemonizing_command(folder: Path, linger_s: float = 0.0) -> tuple[list[str], Path]:
    """An argv that leaves a daemon behind (its command line holds ``folder``), and the file
    that will hold the daemon's pid."""
    script = folder / "daemonize.py"
    script.write_text(DAEMONIZE)
    pid_file = folder / "daemon.pid"
    return [sys.executable, str(script), str(pid_file), str(linger_s)], pid_file
