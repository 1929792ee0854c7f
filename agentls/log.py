"""structlog setup: logs go to stderr (or a file), never to stdout, which belongs to the
CLI's output and, in stdio mode, to the LSP stream.

structlog (and the redaction it runs every event through) loads with the first message that
passes the level, so starting (the server answering ``initialize``, ``agentls --version``)
imports no logging machinery, and a quiet server never does."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, TextIO

_LEVELS = {"debug": 10, "info": 20, "warning": 30, "warn": 30, "error": 40, "exception": 40}


@dataclass
class _Settings:
    level: int = logging.WARNING
    json: bool = False
    stream: TextIO | None = None
    applied: bool = False


_settings = _Settings()
_bound: ContextVar[Mapping[str, Any]] = ContextVar(
    "agentls_log_fields", default=MappingProxyType({})
)


def configure_logging(
    level: str = "WARNING", json: bool = False, stream: TextIO | None = None
) -> None:
    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.WARNING)
    _settings.level, _settings.json, _settings.stream = numeric, json, stream
    _settings.applied = False
    if "structlog" in sys.modules:  # loaded already: take the new settings at once
        _apply()


def get_logger(name: str) -> Any:
    """A logger for ``name``. Until the CLI or the server configures logging, logs go to
    stderr at WARNING: a library user's stdout (an LSP stream, say) is never written to."""
    return _Logger(name)


class _Logger:
    """structlog's logger for ``name``, loaded when a message passes the level."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, method: str) -> Any:
        if _LEVELS.get(method, logging.CRITICAL) < _settings.level:
            return _ignore
        if not _settings.applied:
            _apply()
        import structlog

        return getattr(structlog.get_logger(self._name), method)


def _ignore(*args: Any, **kwargs: Any) -> None:
    return None


@contextmanager
def bound(**fields: Any) -> Iterator[None]:
    """Every message logged in this context (its tasks included) carries ``fields``; binding
    loads nothing."""
    token = _bound.set({**_bound.get(), **fields})
    try:
        yield
    finally:
        _bound.reset(token)


def _merge_bound(_: object, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in _bound.get().items():
        event.setdefault(key, value)
    return event


def _apply() -> None:
    import structlog

    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if _settings.json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            _merge_bound,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            _redact_event,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(_settings.level),
        logger_factory=structlog.PrintLoggerFactory(_settings.stream or sys.stderr),
        cache_logger_on_first_use=False,
    )
    _settings.applied = True


def _redact_event(_: object, __: str, event: MutableMapping[str, Any]) -> Mapping[str, Any]:
    from agentls.redaction import redact

    return {key: redact(value) if isinstance(value, str) else value for key, value in event.items()}
