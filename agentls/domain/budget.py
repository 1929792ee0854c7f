"""What a run may spend (``Budget``) and what an agent's tokens cost (``Price``).

A budget is set on a workflow, on an agent (its share of any run), in the user's settings (every
run) and per run (``agentls run --budget-*``, a run command's ``budget``); the tightest of
those that apply holds (``tightest``), so a layer can only ever lower another's cap.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True, frozen=True)


class Budget(_Model):
    """Caps on what a run spends; each is optional. The run stops before the step that
    would go past one (see docs/workflows.md)."""

    usd: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    """Dollars: what the agents reported, or what their tokens cost at the agent's ``price``."""
    tokens: int | None = Field(default=None, gt=0)
    """Input and output tokens together (estimated where a CLI reports none)."""
    minutes: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    """Wall-clock minutes; a step still running when they are up is stopped."""

    @property
    def empty(self) -> bool:
        return self.usd is None and self.tokens is None and self.minutes is None

    def describe(self) -> str:
        """``$2.00, 400k tokens, 10 minutes`` (the caps it sets)."""
        parts = []
        if self.usd is not None:
            parts.append(f"${self.usd:.2f}")
        if self.tokens is not None:
            parts.append(f"{tokens_text(self.tokens)} tokens")
        if self.minutes is not None:
            parts.append(f"{self.minutes:g} minutes")
        return ", ".join(parts)


def tightest(*budgets: Budget | None) -> Budget | None:
    """The lowest cap of each kind among ``budgets``; None when none sets any."""
    given = [budget for budget in budgets if budget is not None]

    def lowest(kind: str) -> float | None:
        values = [getattr(budget, kind) for budget in given if getattr(budget, kind) is not None]
        return min(values) if values else None

    tokens = lowest("tokens")
    combined = Budget(
        usd=lowest("usd"),
        tokens=int(tokens) if tokens is not None else None,
        minutes=lowest("minutes"),
    )
    return None if combined.empty else combined


class Price(_Model):
    """What an agent's use costs, for a CLI that reports no cost (agentls keeps no price
    table: prices change, and only you know your plan)."""

    input_usd_per_mtok: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    """Dollars per million input tokens."""
    output_usd_per_mtok: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    """Dollars per million output tokens."""
    usd_per_premium_request: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    """Dollars per premium request (GitHub Copilot's unit)."""


def tokens_text(tokens: float) -> str:
    """``340``, ``1.2k``, ``400k``, ``1.5M``."""
    for size, unit in ((1_000_000, "M"), (1000, "k")):
        if tokens >= size:
            return f"{tokens / size:.1f}".removesuffix(".0") + unit
    return f"{tokens:.0f}"


def spend_text(
    seconds: float, tokens: int, usd: float, budget: Budget | None, estimated: bool = False
) -> str:
    """Time, tokens and cost so far: ``14 s, 3.2k tokens, $0.04``; against a budget's caps,
    ``14 s of 10 min, 3.2k of 400k tokens, $0.04 of $2.00``. ``~``: tokens estimated."""
    caps = budget or Budget()
    parts = [f"{seconds:.0f} s" + (f" of {caps.minutes:g} min" if caps.minutes else "")]
    if tokens or caps.tokens:
        cap = f" of {tokens_text(caps.tokens)}" if caps.tokens else ""
        parts.append(f"{'~' if estimated else ''}{tokens_text(tokens)}{cap} tokens")
    if usd or caps.usd:
        parts.append(f"${usd:.2f}" + (f" of ${caps.usd:.2f}" if caps.usd else ""))
    return ", ".join(parts)
