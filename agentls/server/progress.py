"""A run's work-done progress in the editor: cancellable, with the step and the agent's live
output; where the client has none, the start and the end as messages.

The token is ``agentls-<runId>-<6 hex digits>``: editor integrations read the run's id from it
to offer that run's actions (``PROGRESS_TOKEN``; docs/server.md)."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable

from lsprotocol import types

from agentls.domain.budget import Budget, spend_text
from agentls.domain.results import Usage, total_usage
from agentls.orchestration.events import (
    AgentOutput,
    Event,
    IterationFinished,
    StepFinished,
    StepStarted,
    WorkflowStarted,
)
from agentls.server.client import Client

PROGRESS_TOKEN = re.compile(r"agentls-(?P<run_id>[0-9a-f]{12})-[0-9a-f]{6}")
"""The form of a run's progress token; ``run_id`` is the run's id."""


def progress_token(run_id: str) -> str:
    return f"agentls-{run_id}-{uuid.uuid4().hex[:6]}"


class RunProgress:
    """Work-done progress for one run, cancellable from the editor."""

    def __init__(
        self, client: Client, run_id: str, title: str, on_cancel: Callable[[], None]
    ) -> None:
        self.client = client
        self.run_id = run_id
        self.title = title
        self.on_cancel = on_cancel
        self.token: str | None = None
        self.total = 1
        self.step = ""
        self.started = time.monotonic()
        self.usage = Usage()
        """What the agents that finished reported using."""
        self.budget: Budget | None = None
        """The run's caps, shown against what it spent."""

    async def begin(self) -> None:
        if not self.client.capabilities.work_done_progress:
            # Without progress the start and the end are messages, or the user would see
            # nothing until an edit or a diagnostic came (e.g. Emacs 28's eglot).
            self.client.show(types.MessageType.Info, f"{self.title}: started (run {self.run_id})")
            return
        token = progress_token(self.run_id)
        begin = types.WorkDoneProgressBegin(
            title=self.title, cancellable=True, message="starting", percentage=0
        )
        if await self.client.begin_progress(token, begin, self.on_cancel):
            self.token = token

    def on_event(self, event: Event) -> None:
        if isinstance(event, WorkflowStarted):
            self.budget = event.budget
        if self.token is None:
            return
        message: str | None = None
        percentage: int | None = None
        if isinstance(event, StepStarted):
            self.total = event.total
            self.step = (
                f"iteration {event.iteration} · step {event.index}/{event.total} "
                f"{event.step} ({event.agent})"
            )
            message = self.step
            percentage = min(99, 100 * (event.index - 1) // max(event.total, 1))
        elif isinstance(event, AgentOutput):
            message = f"{self.step} · {self.spent()}: {event.line[:120]}"
        elif isinstance(event, StepFinished):
            cached = event.result is not None and event.result.cached
            if event.result is not None and not cached:
                self.usage = total_usage([self.usage, event.result.usage])
            message = f"{event.step}: {event.status}" + (" (cached)" if cached else "")
        elif isinstance(event, IterationFinished):
            message = f"iteration {event.iteration} done, {event.findings} findings open"
        if message is not None:
            if not isinstance(event, AgentOutput):
                message = f"{message} · {self.spent()}"
            self.client.report_progress(
                self.token, types.WorkDoneProgressReport(message=message, percentage=percentage)
            )

    def spent(self) -> str:
        """Time so far, and the tokens and cost the finished agents reported (``~``: tokens
        estimated), against the budget's caps: ``14 s``, ``14 s, 3.2k tokens, $0.04``,
        ``14 s of 10 min, 3.2k of 400k tokens, $0.04 of $2.00``."""
        usage = self.usage
        seconds = time.monotonic() - self.started
        cost = usage.cost_usd or 0.0
        return spend_text(seconds, usage.tokens, cost, self.budget, usage.estimated)

    def end(self, message: str, told: bool, prefix: str) -> None:
        """End the progress with ``message``; without progress, say it unless the user was
        ``told`` already (``prefix`` names the run)."""
        if self.token is not None:
            self.client.end_progress(self.token, types.WorkDoneProgressEnd(message=message))
            self.token = None
        elif not told:
            self.client.show(types.MessageType.Info, f"{prefix}: {message}")
