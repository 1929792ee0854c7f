"""Typed events a workflow run emits; the CLI and the language server render progress from
them. Subscribers are plain callables; one that raises is logged and skipped."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from agentls.domain.budget import Budget
from agentls.domain.results import TaskResult
from agentls.log import get_logger

log = get_logger("agentls.events")


@dataclass(frozen=True)
class WorkflowStarted:
    run_id: str
    workflow: str
    agents: list[str]
    steps: int
    """Steps in one pass (the review cycle may repeat)."""
    budget: Budget | None = None
    """The caps that hold for the run (see ``domain.budget``)."""


@dataclass(frozen=True)
class StepStarted:
    run_id: str
    step: str
    agent: str
    task: str
    iteration: int
    index: int
    """1-based position of the step in the pass."""
    total: int


@dataclass(frozen=True)
class AgentOutput:
    run_id: str
    step: str
    agent: str
    line: str


@dataclass(frozen=True)
class StepFinished:
    run_id: str
    step: str
    iteration: int
    status: str
    """ok, failed or skipped."""
    result: TaskResult | None = None
    reason: str = ""


@dataclass(frozen=True)
class IterationFinished:
    run_id: str
    iteration: int
    findings: int
    """Findings of the latest review in this pass."""


@dataclass(frozen=True)
class WorkflowFinished:
    run_id: str
    status: str
    summary: str


Event = (
    WorkflowStarted
    | StepStarted
    | AgentOutput
    | StepFinished
    | IterationFinished
    | WorkflowFinished
)
Subscriber = Callable[[Event], None]


@dataclass
class EventBus:
    subscribers: list[Subscriber] = field(default_factory=list)

    def subscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.append(subscriber)

    def emit(self, event: Event) -> None:
        for subscriber in self.subscribers:
            try:
                subscriber(event)
            except Exception:
                log.exception("event subscriber failed", event_type=type(event).__name__)
