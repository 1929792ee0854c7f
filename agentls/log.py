"""structlog setup: logs go to stderr (or a file), never to stdout, which belongs to the
CLI's output and, in stdio mode, to the LSP stream."""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any, TextIO

import structlog

from agentls.redaction import redact


def _redact_event(_: object, __: str, event: MutableMapping[str, Any]) -> Mapping[str, Any]:
    return {key: redact(value) if isinstance(value, str) else value for key, value in event.items()}


def get_logger(name: str) -> Any:
    """A logger for ``name``. Until the CLI or the server configures logging, logs go to
    stderr at WARNING: a library user's stdout (an LSP stream, say) is never written to."""
    if not structlog.is_configured():
        configure_logging()
    return structlog.get_logger(name)


def configure_logging(
    level: str = "WARNING", json: bool = False, stream: TextIO | None = None
) -> None:
    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.WARNING)
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            _redact_event,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(stream or sys.stderr),
        cache_logger_on_first_use=False,
    )
