"""The one way agentls starts an agent process.

argv only (never a shell); the prompt on stdin or /dev/null; a process group of its own;
timeout and cancellation stop the whole group (SIGTERM, then SIGKILL); stdout streamed line by
line; output capped, keeping the tail; a minimal environment.

On Linux the agent runs under ``supervisor.py``, a subreaper that ends every process the agent
started, also those that left its process group or session, when the agent ends, when the run
stops it, and when agentls itself dies (SIGKILL included). Elsewhere the process group is all.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from agentls.log import get_logger
from agentls.redaction import redact_argv

log = get_logger("agentls.runner")

LineCallback = Callable[[str], None]


class Conversation(Protocol):
    """A protocol spoken with the process over its stdin and stdout (ACP), instead of a
    prompt written once."""

    async def talk(
        self,
        stdin: asyncio.StreamWriter,
        stdout: asyncio.StreamReader,
        on_line: LineCallback | None,
    ) -> None:
        """Until the agent's turn ends: when this returns the process is stopped."""

    async def cancel(self) -> None:
        """Ask the agent to stop its turn (the user cancelled); the process is stopped after
        this returns or after the grace, whichever comes first."""


BASE_ENV = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "LANG",
    "LANGUAGE",
    "TZ",
    "TMPDIR",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "XDG_CACHE_HOME",
    "XDG_STATE_HOME",
    "XDG_RUNTIME_DIR",
)
_READ_CHUNK = 64 * 1024
_MAX_CALLBACK_LINE = 16 * 1024
_STDERR_CAP = 256 * 1024
_AFTER_TURN_S = 0.1
"""How long an agent whose turn ended may take to exit by itself (its stdin closed) before
its group is stopped: one that exits at end of input does; claude-agent-acp does not."""
CONVERSATION_LINE = 64 * 1024 * 1024
"""The longest message a conversation reads (a whole file's text may be in one)."""
_POLL_S = 0.02
SUPERVISOR = Path(__file__).with_name("supervisor.py")
SUPERVISED = sys.platform.startswith("linux") and bool(sys.executable)
"""Whether agents run under the supervisor (it needs Linux's subreapers and /proc)."""
_SUPERVISOR_MARGIN_S = 5.0
"""How long the supervisor may take to end what is left before the group gets SIGKILL."""


class MissingBinaryError(Exception):
    def __init__(self, program: str, reason: str) -> None:
        super().__init__(f"{program}: {reason}")
        self.program = program
        self.reason = reason


@dataclass(frozen=True)
class ProcessSpec:
    argv: list[str]
    cwd: Path
    env: Mapping[str, str]
    stdin: str | None = None
    timeout_s: float = 600.0
    kill_grace_s: float = 2.0
    """SIGTERM to SIGKILL after a timeout or when the agent leaves processes behind."""
    cancel_grace_s: float = 0.05
    """SIGTERM to SIGKILL when the user cancels: they are waiting for it to stop."""
    max_output_bytes: int = 10 * 1024 * 1024
    supervised: bool = True
    """Under the supervisor (where it runs): False only for a tool that starts no process of
    its own (ruff), which its process group holds whole."""
    stop_when: Callable[[str], bool] | None = None
    """A line (stdout or stderr) after which the run cannot succeed (the CLI retrying a
    refused key, or past the task's retries):
    the process is stopped then, as after a timeout, and ``ProcessOutcome.stopped`` says so."""
    conversation: Conversation | None = None
    """Spoken with the process instead of writing ``stdin``; its stdout is the conversation's
    (kept, as any output, for the error report)."""


@dataclass
class ProcessOutcome:
    exit_code: int
    stdout: str
    stderr: str
    duration_s: float
    timed_out: bool = False
    stdout_truncated: bool = False
    lines: int = 0
    stopped: bool = False
    """Stopped early, because of a line ``ProcessSpec.stop_when`` recognised."""
    conversation: Conversation | None = None
    """``ProcessSpec.conversation``, which holds what was said."""


def minimal_env(
    allowed: Iterable[str], set_vars: Mapping[str, str] | None = None
) -> dict[str, str]:
    """PATH, HOME, locale and the named variables that are set; nothing else leaks through."""
    source = os.environ
    names = [*BASE_ENV, *(n for n in source if n.startswith("LC_")), *allowed]
    env = {name: source[name] for name in names if name in source}
    env.setdefault("PATH", os.defpath)
    env.update({"NO_COLOR": "1", "TERM": "dumb"})
    env.update(set_vars or {})
    return env


@dataclass
class _TailBuffer:
    """Keeps the last ``cap`` bytes written to it."""

    cap: int
    chunks: deque[bytes] = field(default_factory=deque)
    size: int = 0
    truncated: bool = False

    def add(self, chunk: bytes) -> None:
        self.chunks.append(chunk)
        self.size += len(chunk)
        while self.size - len(self.chunks[0]) >= self.cap:
            self.size -= len(self.chunks.popleft())
            self.truncated = True

    def text(self) -> str:
        data = b"".join(self.chunks)
        if len(data) > self.cap:
            data = data[-self.cap :]
            self.truncated = True
        return data.decode("utf-8", errors="replace")


class _LineSplitter:
    def __init__(self, on_line: LineCallback | None) -> None:
        self.on_line = on_line
        self.pending = bytearray()
        self.overlong = False
        self.unterminated = False
        """Counting only: the output so far does not end with a line break."""
        self.count = 0

    def feed(self, chunk: bytes) -> None:
        if self.on_line is None:  # nobody reads the lines: count them
            self.count += chunk.count(b"\n")
            if chunk:
                self.unterminated = not chunk.endswith(b"\n")
            return
        start = 0
        while (end := chunk.find(b"\n", start)) != -1:
            self._take(chunk[start:end])
            self._emit()
            start = end + 1
        self._take(chunk[start:])

    def close(self) -> None:
        if self.pending or self.overlong or self.unterminated:
            self._emit()

    def _take(self, piece: bytes) -> None:
        room = _MAX_CALLBACK_LINE - len(self.pending)
        if len(piece) > room:
            self.overlong = True
            piece = piece[: max(room, 0)]
        self.pending += piece

    def _emit(self) -> None:
        self.count += 1
        line = self.pending.decode("utf-8", errors="replace").rstrip("\r")
        self.pending.clear()
        self.overlong = False
        if self.on_line is not None:
            try:
                self.on_line(line)
            except Exception:  # a progress callback must never break the run
                log.exception("line callback failed")


async def run_process(spec: ProcessSpec, on_line: LineCallback | None = None) -> ProcessOutcome:
    """Run one agent process to completion, timeout or cancellation."""
    started = time.monotonic()
    log.debug("agent starting", argv=redact_argv(spec.argv), cwd=str(spec.cwd))
    loop = asyncio.get_running_loop()
    supervised = SUPERVISED and spec.supervised
    argv = supervised_argv(spec) if supervised else spec.argv
    # A cancel while the process starts must not reach asyncio's own clean-up: it would
    # SIGKILL the supervisor alone (orphaning the agent) and wait for the agent's pipes.
    spawn = asyncio.ensure_future(
        loop.subprocess_exec(
            lambda: _ExitAwareProtocol(loop),
            *argv,
            stdin=asyncio.subprocess.PIPE
            if spec.stdin is not None or spec.conversation is not None
            else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=spec.cwd,
            env=dict(spec.env),
            start_new_session=True,
        )
    )
    try:
        transport, protocol = await asyncio.shield(spawn)
    except asyncio.CancelledError:
        await _stop_starting(spawn, spec.cancel_grace_s, supervised)
        raise
    except FileNotFoundError:
        raise MissingBinaryError(spec.argv[0], "not found on PATH") from None
    except PermissionError:
        raise MissingBinaryError(spec.argv[0], "is not executable") from None
    except NotADirectoryError:
        raise MissingBinaryError(spec.argv[0], "is not a program") from None

    process = asyncio.subprocess.Process(transport, protocol, loop)
    exited = protocol.exited
    assert process.stdout is not None and process.stderr is not None
    stdout = _TailBuffer(spec.max_output_bytes)
    stderr = _TailBuffer(_STDERR_CAP)
    hopeless = loop.create_future()
    talking = spec.conversation
    splitter = _LineSplitter(_watching(None if talking else on_line, spec.stop_when, hopeless))
    watched = _watching(None, spec.stop_when, hopeless)
    errors = _LineSplitter(watched) if watched is not None else None
    heard = asyncio.StreamReader(limit=CONVERSATION_LINE) if talking else None
    readers = [
        asyncio.ensure_future(_pump(process.stdout, stdout, splitter, heard)),
        asyncio.ensure_future(_pump(process.stderr, stderr, errors)),
    ]
    if talking is not None and process.stdin is not None and heard is not None:
        writer = asyncio.ensure_future(talking.talk(process.stdin, heard, on_line))
    else:
        writer = asyncio.ensure_future(_feed_stdin(process, spec.stdin))
    timed_out = stopped = False
    try:
        ends = [asyncio.shield(exited), hopeless, *([writer] if talking else [])]
        await asyncio.wait(ends, timeout=spec.timeout_s, return_when=asyncio.FIRST_COMPLETED)
        if talking is not None and writer.done():  # the turn ended: the agent may go
            _close_stdin(process)
            await asyncio.wait([asyncio.shield(exited)], timeout=_AFTER_TURN_S)
        elif not exited.done():
            timed_out, stopped = not hopeless.done(), hopeless.done()
            await _stop_group(process.pid, exited, spec.kill_grace_s, supervised)
        # Whatever the agent left running in its group (background shells) goes with it.
        await _stop_group(process.pid, exited, spec.kill_grace_s, supervised)
        await _drain(readers, spec.kill_grace_s + 1.0)
        if talking is not None:  # it hears the end of the output and says what was left
            await asyncio.wait([writer], timeout=spec.kill_grace_s)
    except asyncio.CancelledError:
        if talking is not None and not writer.done():
            with contextlib.suppress(Exception):  # it may not answer: its group goes anyway
                await asyncio.wait_for(talking.cancel(), spec.kill_grace_s)
        await _stop_group(process.pid, exited, spec.cancel_grace_s, supervised)
        raise
    finally:
        writer.cancel()
        for reader in readers:
            reader.cancel()
    splitter.close()
    outcome = ProcessOutcome(
        exit_code=process.returncode if process.returncode is not None else -signal.SIGKILL,
        stdout=stdout.text(),
        stderr=stderr.text(),
        duration_s=time.monotonic() - started,
        timed_out=timed_out,
        stdout_truncated=stdout.truncated,
        lines=splitter.count,
        stopped=stopped,
        conversation=talking,
    )
    log.debug(
        "agent finished",
        program=spec.argv[0],
        exit_code=outcome.exit_code,
        timed_out=timed_out,
        duration_s=round(outcome.duration_s, 3),
        truncated=outcome.stdout_truncated,
    )
    return outcome


def _watching(
    on_line: LineCallback | None,
    stop_when: Callable[[str], bool] | None,
    hopeless: asyncio.Future[None],
) -> LineCallback | None:
    """``on_line``, also settling ``hopeless`` at the first line ``stop_when`` recognises."""
    if stop_when is None:
        return on_line

    def watch(line: str) -> None:
        if on_line is not None:
            on_line(line)
        if not hopeless.done() and stop_when(line):
            hopeless.set_result(None)

    return watch


def supervised_argv(spec: ProcessSpec) -> list[str]:
    """The supervisor's command for ``spec``: the agent's program is found here (on the
    agent's PATH), so a missing one is still a ``MissingBinaryError``."""
    program = _find_program(spec.argv[0], spec.env, spec.cwd)
    grace = f"{spec.kill_grace_s:g}"
    return [
        sys.executable,
        "-I",
        "-S",
        str(SUPERVISOR),
        grace,
        str(os.getpid()),
        program,
        *spec.argv,
    ]


def _find_program(program: str, env: Mapping[str, str], cwd: Path) -> str:
    """The file ``program`` names, as exec would find it: a path (relative to ``cwd``) when it
    holds a slash, else the first executable file of that name on ``env``'s PATH."""
    if "/" not in program:
        path = env.get("PATH", os.defpath)
        found = shutil.which(program, path=path)
        if found is not None:
            return found
        if any((Path(folder or ".") / program).exists() for folder in path.split(os.pathsep)):
            raise MissingBinaryError(program, "is not executable")
        raise MissingBinaryError(program, "not found on PATH")
    target = cwd / program
    if target.is_file() and os.access(target, os.X_OK):
        return str(target)
    if target.is_dir() or any(parent.is_file() for parent in target.parents):
        raise MissingBinaryError(program, "is not a program")
    if target.exists():
        raise MissingBinaryError(program, "is not executable")
    raise MissingBinaryError(program, "not found")


async def _stop_starting(
    spawn: asyncio.Future[tuple[asyncio.SubprocessTransport, _ExitAwareProtocol]],
    grace_s: float,
    supervised: bool,
) -> None:
    """Cancelled while the process was starting: let it start, then stop it as any other."""
    try:
        transport, protocol = await spawn
    except Exception:  # it did not start
        return
    await _stop_group(transport.get_pid(), protocol.exited, grace_s, supervised)
    transport.close()


async def _pump(
    stream: asyncio.StreamReader,
    buffer: _TailBuffer,
    splitter: _LineSplitter | None,
    heard: asyncio.StreamReader | None = None,
) -> None:
    try:
        while chunk := await stream.read(_READ_CHUNK):
            buffer.add(chunk)
            if splitter is not None:
                splitter.feed(chunk)
            if heard is not None:
                heard.feed_data(chunk)
    finally:
        if heard is not None:
            heard.feed_eof()


def _close_stdin(process: asyncio.subprocess.Process) -> None:
    if process.stdin is not None:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            process.stdin.close()


async def _feed_stdin(process: asyncio.subprocess.Process, text: str | None) -> None:
    if text is None or process.stdin is None:
        return
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        process.stdin.write(text.encode("utf-8"))
        await process.stdin.drain()
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        process.stdin.close()
        await process.stdin.wait_closed()


async def _drain(readers: Sequence[asyncio.Future[None]], limit_s: float) -> None:
    """Read what is left in the pipes; a process that escaped the group may hold them open."""
    _, pending = await asyncio.wait(readers, timeout=limit_s)
    for reader in pending:
        reader.cancel()


def _signal_group(pgid: int, signum: int) -> bool:
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        return False
    return True


class _ExitAwareProtocol(asyncio.subprocess.SubprocessStreamProtocol):
    """Tells when the process itself exits. (On Python 3.11 ``Process.wait()`` also waits
    for every holder of its pipes to close them, which a leftover grandchild may never do.)"""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(limit=_READ_CHUNK, loop=loop)
        self.exited: asyncio.Future[None] = loop.create_future()

    def process_exited(self) -> None:
        super().process_exited()
        if not self.exited.done():
            self.exited.set_result(None)


def _group_alive(pgid: int) -> bool:
    """Whether any process of the group still runs. Zombies do not count: an orphan's zombie
    waits for a reaper that may be slow, but it holds nothing."""
    proc = Path("/proc")
    if not proc.is_dir():
        return _signal_group(pgid, 0)
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid pgrp ...; comm may hold spaces or parentheses.
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] not in ("Z", "X"):
            return True
    return False


async def _stop_group(
    pgid: int, exited: asyncio.Future[None], grace_s: float, supervised: bool = False
) -> None:
    """SIGTERM the process group, give it ``grace_s``, then SIGKILL what is left.

    ``pgid`` is the started process's pid: start_new_session makes it the leader of its own
    group. ``supervised``: that process is the supervisor, which passes SIGTERM on to what left
    the group; after the grace, SIGUSR1 has it SIGKILL every descendant, and it exits when
    none is left. The group's SIGKILL follows only if it did not (it would orphan them).
    """
    if not _signal_group(pgid, signal.SIGTERM):
        return
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        if exited.done() and not _group_alive(pgid):
            return
        await asyncio.sleep(_POLL_S)
    if supervised and not exited.done():
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pgid, signal.SIGUSR1)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(exited), _SUPERVISOR_MARGIN_S)
    _signal_group(pgid, signal.SIGKILL)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(exited), grace_s + 1.0)
