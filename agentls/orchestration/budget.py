"""What a run spends, counted as its steps finish, and whether the next step may start.

Counting: the tokens and cost each CLI reports; where it reports no tokens, an estimate of one
token per four characters of the prompt and of the reply (``accounted``, marked
``Usage.estimated``); a cost only where the CLI reports one or the agent has a ``price``. A
cached answer spends nothing.

Stopping (``Ledger.refusal``): before each step, parallel group or best_of, the run stops when
the spend has reached a cap, or when the stage would go past it by the forecast: for each of its
steps, the most one step of that agent spent in this run (nothing is forecast for an agent that
has not run yet, so a cap can be passed by what one such step spends).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from agentls.domain.budget import Budget, Price, tokens_text
from agentls.domain.results import ErrorKind, TaskResult, Usage

CHARACTERS_PER_TOKEN = 4
NOTHING_SENT = frozenset({ErrorKind.MISSING_BINARY, ErrorKind.UNSUPPORTED, ErrorKind.AUTH})
"""Failures before any prompt reached a model: nothing is estimated for them."""


def accounted(
    result: TaskResult, prompt: str, price: Price | None, uses_a_model: bool = True
) -> TaskResult:
    """``result`` with its tokens estimated where the CLI reported none, and its cost priced
    where it reported none and ``price`` is set."""
    usage = result.usage
    reported = usage.input_tokens is not None or usage.output_tokens is not None
    sent = result.error is None or result.error.kind not in NOTHING_SENT
    if uses_a_model and not reported and sent:
        usage = usage.model_copy(
            update={
                "input_tokens": _estimate(prompt),
                "output_tokens": _estimate(result.text),
                "estimated": True,
            }
        )
    if usage.cost_usd is None and price is not None and (usage.tokens or usage.premium_requests):
        cost = (
            (usage.input_tokens or 0) * price.input_usd_per_mtok / 1_000_000
            + (usage.output_tokens or 0) * price.output_usd_per_mtok / 1_000_000
            + (usage.premium_requests or 0) * price.usd_per_premium_request
        )
        usage = usage.model_copy(update={"cost_usd": cost})
    if usage is result.usage:
        return result
    return result.model_copy(update={"usage": usage})


def _estimate(text: str) -> int:
    return math.ceil(len(text) / CHARACTERS_PER_TOKEN)


@dataclass
class Spent:
    usd: float = 0.0
    tokens: int = 0
    seconds: float = 0.0

    def add(self, other: Spent) -> None:
        self.usd += other.usd
        self.tokens += other.tokens
        self.seconds += other.seconds

    def widen(self, other: Spent) -> None:
        """Each measure the larger of the two (the most one step spent)."""
        self.usd = max(self.usd, other.usd)
        self.tokens = max(self.tokens, other.tokens)
        self.seconds = max(self.seconds, other.seconds)


def spent(result: TaskResult) -> Spent:
    """What one step's result spent: nothing when it was answered from the cache."""
    if result.cached:
        return Spent()
    usage: Usage = result.usage
    return Spent(usage.cost_usd or 0.0, usage.tokens, result.duration_s)


@dataclass
class Ledger:
    """A run's spend so far against its budget and its agents' shares."""

    budget: Budget | None = None
    agent_budgets: dict[str, Budget] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)
    by_agent: dict[str, Spent] = field(default_factory=dict)
    most: dict[str, Spent] = field(default_factory=dict)
    """The most one step of each agent spent, measure by measure."""

    @property
    def limited(self) -> bool:
        return self.budget is not None or bool(self.agent_budgets)

    def add(self, agent: str, result: TaskResult) -> None:
        step = spent(result)
        self.by_agent.setdefault(agent, Spent()).add(step)
        self.most.setdefault(agent, Spent()).widen(step)

    def total(self) -> Spent:
        total = Spent(seconds=time.monotonic() - self.started)
        for each in self.by_agent.values():
            total.usd += each.usd
            total.tokens += each.tokens
        return total

    def refusal(self, stage: str, agents: list[str]) -> str | None:
        """Why the stage ``stage`` (its steps' ``agents``, one per step) must not start, in one
        line naming the cap; None when it may."""
        if self.budget is not None:
            forecast = Spent()
            for agent in agents:
                forecast.add(self.most.get(agent, Spent()))
            why = _over(self.budget, self.total(), forecast, _forecaster(agents))
            if why:
                return f"stopped before {stage}: {why}"
        for agent in dict.fromkeys(agents):
            share = self.agent_budgets.get(agent)
            if share is None:
                continue
            most = self.most.get(agent, Spent())
            count = agents.count(agent)
            forecast = Spent(most.usd * count, most.tokens * count, most.seconds * count)
            mine = self.by_agent.get(agent, Spent())
            why = _over(share, mine, forecast, _forecaster([agent] * count), whose=agent)
            if why:
                return f"stopped before {stage}: {why}"
        return None


def _forecaster(agents: list[str]) -> str:
    """Whose spend the forecast is: ``a claude step``, or ``its steps together``."""
    return f"a {agents[0]} step" if len(agents) == 1 else "its steps together"


def _over(budget: Budget, now: Spent, forecast: Spent, whose_steps: str, whose: str = "") -> str:
    """What goes past a cap of ``budget`` (spent ``now``, the next stage ``forecast``), as
    the reason says it: ``$1.84 of $2.00 spent, and a claude step cost up to $0.41``; "" when
    nothing does. ``whose``: the agent whose share ``budget`` is."""
    checks = (
        (budget.usd, now.usd, forecast.usd, _dollars, "", "cost"),
        (budget.tokens, now.tokens, forecast.tokens, tokens_text, " tokens", "used"),
        (budget.minutes, now.seconds / 60, forecast.seconds / 60, _minutes, " minutes", "took"),
    )
    for cap, value, next_one, number, unit, verb in checks:
        if cap is None:
            continue
        if whose:
            spent = f"{whose} has spent {number(value)} of its {number(cap)}{unit}"
        else:
            spent = f"{number(value)} of {number(cap)}{unit} spent"
        if value >= cap:
            return spent
        if next_one and value + next_one > cap:
            up_to = "up to " if whose_steps.startswith("a ") else ""
            return f"{spent}, and {whose_steps} {verb} {up_to}{number(next_one)}{unit}"
    return ""


def _dollars(value: float) -> str:
    return f"${value:.2f}"


def _minutes(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")
