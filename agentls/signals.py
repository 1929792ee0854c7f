"""SIGTERM and SIGHUP end agentls the way a cancel does.

``run`` is ``asyncio.run`` where either signal cancels the main task, so every ``finally``
below it runs: agents are stopped, sandboxes and worktrees removed. It then raises
``Terminated``; callers exit with ``128 + signum`` (what a shell reports for a process killed
by that signal) and one line saying so.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class Terminated(Exception):
    """The process got SIGTERM or SIGHUP; what was running was stopped and cleaned up."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        self.name = signal.Signals(signum).name
        super().__init__(f"stopped by {self.name}")

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)``; on SIGTERM or SIGHUP ``main`` is cancelled, then ``Terminated``
    is raised (a second signal during the clean-up is ignored: it is on its way)."""
    received: list[int] = []
    results: list[T] = []

    async def guarded() -> None:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()

        def on_signal(signum: int) -> None:
            if not received:
                received.append(signum)
                task.cancel()

        installed = []
        if sys.platform != "win32":
            for signum in SIGNALS:
                with contextlib.suppress(ValueError, RuntimeError):  # not the main thread
                    loop.add_signal_handler(signum, on_signal, signum)
                    installed.append(signum)
        try:
            # Kept out of the task: asyncio.run's clean-up formats the task (its result
            # included) when it restores SIGINT's handler, and a run's result is big.
            results.append(await main)
        finally:
            for signum in installed:
                loop.remove_signal_handler(signum)

    try:
        asyncio.run(guarded())
    except asyncio.CancelledError:
        if received:
            raise Terminated(received[0]) from None
        raise
    if received:
        raise Terminated(received[0])
    return results[0]
