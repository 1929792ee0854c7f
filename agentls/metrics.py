"""Prometheus metrics agentls exports (``--metrics-port`` serves them on loopback). They are
kept only once something exports them: a process nobody measures (the terminal CLI, a server
without ``--metrics-port``) never loads prometheus-client."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any, TypeVar

_DURATIONS = (0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200)


class Metrics:
    """agentls's metrics in their own registry."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry()
        self.tasks = Counter(
            "agentls_tasks",
            "Agent tasks run, by agent, task kind and outcome",
            ["agent", "kind", "outcome"],
            registry=self.registry,
        )
        self.task_duration = Histogram(
            "agentls_task_duration_seconds",
            "Wall-clock time of one agent task",
            ["agent", "kind"],
            buckets=_DURATIONS,
            registry=self.registry,
        )
        self.workflow_duration = Histogram(
            "agentls_workflow_duration_seconds",
            "Wall-clock time of a workflow run",
            ["workflow", "status"],
            buckets=_DURATIONS,
            registry=self.registry,
        )
        self.tokens = Counter(
            "agentls_tokens",
            "Tokens reported by agents",
            ["agent", "direction"],
            registry=self.registry,
        )
        self.cost = Counter(
            "agentls_cost_usd", "Cost in USD reported by agents", ["agent"], registry=self.registry
        )
        self.cache = Counter(
            "agentls_cache_requests",
            "Result cache look-ups by outcome",
            ["result"],
            registry=self.registry,
        )
        self.active_runs = Gauge(
            "agentls_active_runs", "Workflow runs in progress", registry=self.registry
        )
        self.lsp_requests = Histogram(
            "agentls_lsp_request_duration_seconds",
            "Time to answer an LSP request, by method",
            ["method"],
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5),
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "agentls_rate_limited",
            "Requests refused by a rate limit",
            ["scope"],
            registry=self.registry,
        )


class _Discarded:
    """A measurement nobody will read: taken and dropped."""

    def labels(self, *values: str) -> _Discarded:
        return self

    def inc(self, amount: float = 1) -> None:
        pass

    def dec(self, amount: float = 1) -> None:
        pass

    def observe(self, amount: float) -> None:
        pass


class _Unmeasured:
    """What ``metrics()`` is until ``serve``: every instrument discards."""

    def __getattr__(self, name: str) -> _Discarded:
        return _DISCARDED


_DISCARDED = _Discarded()
_UNMEASURED = _Unmeasured()
_exported: list[Metrics] = []


def metrics() -> Metrics | _Unmeasured:
    """The process's metrics once ``serve`` exports them; until then they are not kept."""
    return _exported[0] if _exported else _UNMEASURED


F = TypeVar("F", bound=Callable[..., Any])


def exported_names() -> set[str]:
    """Every sample name agentls exports (what dashboards may query)."""
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}
    return {
        metric.name + suffix
        for metric in Metrics().registry.collect()
        for suffix in suffixes.get(metric.type, ("",))
    }


def serve(port: int, address: str = "127.0.0.1") -> None:
    """Serve the metrics on ``address:port``; from now on they are kept."""
    from prometheus_client import start_http_server

    if not _exported:
        _exported.append(Metrics())
    start_http_server(port, addr=address, registry=_exported[0].registry)


def timed_lsp(method: str) -> Callable[[F], F]:
    def decorate(function: F) -> F:
        @wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                metrics().lsp_requests.labels(method).observe(time.perf_counter() - started)

        return wrapper  # type: ignore[return-value]

    return decorate


@contextmanager
def active_run() -> Iterator[None]:
    metrics().active_runs.inc()
    try:
        yield
    finally:
        metrics().active_runs.dec()
