"""Prometheus metrics agentls exports (``--metrics-port`` serves them on loopback)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

REGISTRY = CollectorRegistry()
_DURATIONS = (0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200)

TASKS = Counter(
    "agentls_tasks",
    "Agent tasks run, by agent, task kind and outcome",
    ["agent", "kind", "outcome"],
    registry=REGISTRY,
)
TASK_DURATION = Histogram(
    "agentls_task_duration_seconds",
    "Wall-clock time of one agent task",
    ["agent", "kind"],
    buckets=_DURATIONS,
    registry=REGISTRY,
)
WORKFLOW_DURATION = Histogram(
    "agentls_workflow_duration_seconds",
    "Wall-clock time of a workflow run",
    ["workflow", "status"],
    buckets=_DURATIONS,
    registry=REGISTRY,
)
TOKENS = Counter(
    "agentls_tokens", "Tokens reported by agents", ["agent", "direction"], registry=REGISTRY
)
COST = Counter("agentls_cost_usd", "Cost in USD reported by agents", ["agent"], registry=REGISTRY)
CACHE = Counter(
    "agentls_cache_requests", "Result cache look-ups by outcome", ["result"], registry=REGISTRY
)
ACTIVE_RUNS = Gauge("agentls_active_runs", "Workflow runs in progress", registry=REGISTRY)
LSP_REQUESTS = Histogram(
    "agentls_lsp_request_duration_seconds",
    "Time to answer an LSP request, by method",
    ["method"],
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5),
    registry=REGISTRY,
)
RATE_LIMITED = Counter(
    "agentls_rate_limited", "Requests refused by a rate limit", ["scope"], registry=REGISTRY
)

F = TypeVar("F", bound=Callable[..., Any])


def exported_names() -> set[str]:
    """Every sample name agentls exports (what dashboards may query)."""
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}
    return {
        metric.name + suffix
        for metric in REGISTRY.collect()
        for suffix in suffixes.get(metric.type, ("",))
    }


def serve(port: int, address: str = "127.0.0.1") -> None:
    start_http_server(port, addr=address, registry=REGISTRY)


def timed_lsp(method: str) -> Callable[[F], F]:
    def decorate(function: F) -> F:
        @wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                LSP_REQUESTS.labels(method).observe(time.perf_counter() - started)

        return wrapper  # type: ignore[return-value]

    return decorate


@contextmanager
def active_run() -> Iterator[None]:
    ACTIVE_RUNS.inc()
    try:
        yield
    finally:
        ACTIVE_RUNS.dec()
