"""Token buckets: one for everybody, one per client (an LSP connection, a CLI user), and one
per agent where configured. A refused request is told when to try again."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from agentls.domain.errors import AgentlsError


class RateLimited(AgentlsError):
    def __init__(self, scope: str, retry_after_s: float) -> None:
        self.scope = scope
        self.retry_after_s = retry_after_s
        super().__init__(
            f"rate limit reached ({scope}); try again in {math.ceil(retry_after_s)} s "
            "(settings.rate_limits sets the limits)"
        )


@dataclass
class TokenBucket:
    per_minute: float
    burst: int
    tokens: float = -1.0
    updated: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        if self.tokens < 0:
            self.tokens = float(self.burst)

    def take(self) -> float:
        """0 when a token was taken, else the seconds until one is there."""
        now = time.monotonic()
        rate = self.per_minute / 60.0
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / rate if rate > 0 else math.inf


@dataclass(frozen=True)
class Limit:
    per_minute: float
    burst: int


class RateLimiter:
    def __init__(
        self,
        overall: Limit | None = None,
        per_client: Limit | None = None,
        per_agent: dict[str, Limit] | None = None,
    ) -> None:
        self.overall = TokenBucket(overall.per_minute, overall.burst) if overall else None
        self.per_client = per_client
        self.per_agent = per_agent or {}
        self._clients: dict[str, TokenBucket] = {}
        self._agents: dict[str, TokenBucket] = {}

    def request(self, client: str) -> None:
        """One request (a run, a task) from ``client``; ``RateLimited`` when over a limit."""
        if self.per_client is not None:
            bucket = self._clients.setdefault(
                client, TokenBucket(self.per_client.per_minute, self.per_client.burst)
            )
            self._take(bucket, f"per client {client}")
        if self.overall is not None:
            self._take(self.overall, "all clients")

    def agent_call(self, agent: str) -> None:
        limit = self.per_agent.get(agent)
        if limit is None:
            return
        bucket = self._agents.setdefault(agent, TokenBucket(limit.per_minute, limit.burst))
        self._take(bucket, f"agent {agent}")

    @staticmethod
    def _take(bucket: TokenBucket, scope: str) -> None:
        wait = bucket.take()
        if wait > 0:
            raise RateLimited(scope, wait)
