"""Runs one agent so that nothing it starts outlives it (Linux).

The runner starts it as ``python -I -S supervisor.py GRACE PARENT PROGRAM ARGV...``. It makes
itself a child subreaper, so every orphan of the agent's tree re-parents to it, also one that
double-forked or called ``setsid`` to leave the process group; it asks the kernel for SIGHUP
when agentls (``PARENT``) dies, even by SIGKILL; and it starts ``PROGRAM`` with ``ARGV`` in its
process group (the one agentls signals), with its stdin, stdout, stderr, working folder and
environment.

When the agent exits, or on SIGTERM, SIGINT or SIGHUP, every descendant still running gets
SIGTERM, and SIGKILL after ``GRACE`` seconds (at once on SIGUSR1), until none is left. Then it
exits as the agent did: the same exit code, or killed by the same signal.

Standard library only, and cheap to import: it starts before every agent. ``-S`` leaves
agentls off ``sys.path``, so nothing of agentls is imported here.
"""

from __future__ import annotations

import ctypes
import os
import sys
import time

TYPE_CHECKING = False  # typing itself is slow to import

if TYPE_CHECKING:
    import signal as _signal
    from typing import NoReturn
else:  # ``signal`` itself imports enum: milliseconds at every agent's start
    import _signal

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
SIGCHLD = _signal.SIGCHLD
SIGHUP = _signal.SIGHUP
SIGINT = _signal.SIGINT
SIGKILL = _signal.SIGKILL
SIGTERM = _signal.SIGTERM
SIGUSR1 = _signal.SIGUSR1
WAITED = {SIGCHLD, SIGHUP, SIGINT, SIGTERM, SIGUSR1}
STOPPING = {SIGHUP, SIGINT, SIGTERM}
SWEEP_S = 0.05
"""How often what is left is killed again while it dies (it may fork meanwhile)."""


def descendants(root: int) -> list[int]:
    """Every living process below ``root``, from /proc (parents before their children)."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        # pid (comm) state ppid ...; comm may hold spaces and parentheses
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) > 1 and fields[0] not in (b"Z", b"X"):
            children.setdefault(int(fields[1]), []).append(int(name))
    found: list[int] = []
    queue = [root]
    while queue:
        for child in children.get(queue.pop(), ()):
            found.append(child)
            queue.append(child)
    return found


def signal_all(signum: int, skip_group: bool = False) -> None:
    """``signum`` to every descendant; ``skip_group``: not to those in this process's group
    (the runner signalled the group itself)."""
    group = os.getpgrp()
    for pid in descendants(os.getpid()):
        try:
            if not (skip_group and os.getpgid(pid) == group):
                os.kill(pid, signum)
        except OSError:  # gone meanwhile
            continue


def exit_as(status: int) -> NoReturn:
    """End this process the way the agent ended."""
    if not os.WIFSIGNALED(status):
        os._exit(os.WEXITSTATUS(status))
    signum = os.WTERMSIG(status)
    import resource

    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core file of the supervisor
        if signum != SIGKILL:
            _signal.signal(signum, _signal.SIG_DFL)
    except (OSError, ValueError):
        pass
    _signal.pthread_sigmask(_signal.SIG_UNBLOCK, {signum})
    os.kill(os.getpid(), signum)
    os._exit(128 + signum)  # a signal that does not end a process by default


def supervise(grace_s: float, parent: int, program: str, argv: list[str]) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    libc.prctl(PR_SET_PDEATHSIG, SIGHUP, 0, 0, 0)
    _signal.pthread_sigmask(_signal.SIG_BLOCK, WAITED)
    if os.getppid() != parent:  # agentls died before the request was made
        os._exit(128 + SIGHUP)
    try:
        agent = os.posix_spawn(
            program,
            argv,
            os.environ,
            setsigmask=(),
            setsigdef=(*WAITED, _signal.SIGPIPE, _signal.SIGXFSZ),
        )
    except OSError as error:
        os.write(2, f"agentls: cannot start {argv[0]}: {error.strerror}\n".encode())
        os._exit(127)
    # The agent holds the pipes; this process no longer needs them.
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    status: int | None = None
    kill_at: float | None = None
    killing = False
    while True:
        while True:
            try:
                pid, waited = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:  # nothing left below this process: done
                assert status is not None
                exit_as(status)
            if pid == 0:
                break
            if pid == agent:
                status = waited
        if status is not None and kill_at is None:  # the agent is done; so is the rest
            signal_all(SIGTERM)
            kill_at = time.monotonic() + grace_s
        if kill_at is not None and time.monotonic() >= kill_at:
            killing = True
        if killing:
            signal_all(SIGKILL)
            timeout: float | None = SWEEP_S
        else:
            timeout = None if kill_at is None else max(kill_at - time.monotonic(), 0.0)
        info = (
            _signal.sigwaitinfo(WAITED)
            if timeout is None
            else _signal.sigtimedwait(WAITED, timeout)
        )
        if info is None:
            continue
        if info.si_signo == SIGUSR1:
            killing = True
        elif info.si_signo in STOPPING and kill_at is None:
            # SIGTERM from agentls came to the whole group; the rest must hear it too
            signal_all(SIGTERM, skip_group=info.si_signo == SIGTERM and info.si_pid == parent)
            kill_at = time.monotonic() + grace_s


def main() -> None:
    grace, parent, program, *argv = sys.argv[1:]
    supervise(float(grace), int(parent), program, argv)


if __name__ == "__main__":
    main()
