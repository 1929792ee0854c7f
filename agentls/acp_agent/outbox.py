"""A session's updates to the client, sent one at a time in the order they were made.

A run's events arrive in plain callbacks; ``put`` queues their updates and a task sends them,
so the client sees them in order and before the turn's answer (``close`` waits for the last).
A client that went away loses the updates, not the run: the error is logged once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from acp.interfaces import Client

from agentls.acp_agent.updates import Update, message
from agentls.log import get_logger

log = get_logger("agentls.acp")


class Outbox:
    def __init__(self, client: Client, session_id: str) -> None:
        self.client = client
        self.session_id = session_id
        self._queue: asyncio.Queue[Update | None] = asyncio.Queue()
        self._lost = False
        self._pump = asyncio.ensure_future(self._send_all())

    def put(self, updates: Iterable[Update]) -> None:
        for update in updates:
            self._queue.put_nowait(update)

    async def send(self, *updates: Update) -> None:
        """Queue ``updates`` and wait until they (and everything before them) are sent."""
        self.put(updates)
        await self._queue.join()

    async def say(self, text: str) -> None:
        await self.send(message(text))

    async def close(self) -> None:
        self._queue.put_nowait(None)
        await self._pump

    async def _send_all(self) -> None:
        while True:
            update = await self._queue.get()
            try:
                if update is None:
                    return
                await self.client.session_update(session_id=self.session_id, update=update)
            except Exception as error:  # the connection closed; the run goes on
                if not self._lost:
                    log.warning("a session update was not delivered", error=str(error))
                self._lost = True
            finally:
                self._queue.task_done()
