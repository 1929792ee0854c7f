"""An agent's permission question put to the user at the terminal, one at a time; the live
progress line makes way while it asks."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Protocol

from agentls.cli.common import err, say
from agentls.domain.permissions import PermissionQuestion


class TerminalAsker:
    def __init__(self) -> None:
        self.pause: Callable[[], AbstractContextManager[None]] = contextlib.nullcontext
        """Hides the live progress while a question is on the screen."""
        self._one_at_a_time: asyncio.Lock | None = None

    @classmethod
    def here(cls) -> TerminalAsker | None:
        """One where the user can answer (stdin and stderr are a terminal); None elsewhere
        (a pipe, CI): then what the policy asks about is denied."""
        return cls() if sys.stdin.isatty() and err.is_terminal else None

    async def __call__(self, question: PermissionQuestion) -> bool:
        if self._one_at_a_time is None:
            self._one_at_a_time = asyncio.Lock()
        async with self._one_at_a_time:
            with self.pause():
                say(("agentls:", "bold yellow"), f" {question.summary()}", console=err)
                for line in question.details():
                    say(("  ", ""), (line, "dim"), console=err)
                err.print("Allow? [y/N] ", end="", highlight=False)
                answer = await _read_line()
        return answer.strip().lower() in ("y", "yes")


async def _read_line() -> str:
    """A line from stdin, read without a thread: a cancel (Ctrl-C) ends the wait."""
    loop = asyncio.get_running_loop()
    answered: asyncio.Future[str] = loop.create_future()
    descriptor = sys.stdin.fileno()

    def readable() -> None:
        if not answered.done():
            answered.set_result(sys.stdin.readline())

    loop.add_reader(descriptor, readable)
    try:
        return await answered
    finally:
        loop.remove_reader(descriptor)


class Pausable(Protocol):
    """What ``paused`` needs of rich's live status line."""

    def stop(self) -> None: ...
    def start(self) -> None: ...


@contextlib.contextmanager
def paused(status: Pausable) -> Iterator[None]:
    """``status`` (rich's live status line) stopped, then started again."""
    status.stop()
    try:
        yield
    finally:
        status.start()
