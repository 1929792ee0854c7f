"""Secret redaction for anything agentls logs, reports or stores."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping

REDACTED = "[REDACTED]"

_KEY_SHAPES = re.compile(
    r"""
    sk-ant-[A-Za-z0-9_-]{16,}        # Anthropic
    | sk-(?:proj-)?[A-Za-z0-9_-]{20,}  # OpenAI
    | gh[pousr]_[A-Za-z0-9]{20,}       # GitHub tokens
    | github_pat_[A-Za-z0-9_]{20,}
    | AIza[0-9A-Za-z_-]{30,}           # Google API keys
    | xox[abprs]-[A-Za-z0-9-]{10,}     # Slack
    | AKIA[0-9A-Z]{16}                 # AWS access key ids
    """,
    re.VERBOSE,
)
_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL", re.IGNORECASE)
_MIN_SECRET_LEN = 8
_MAX_LOGGED_ARG = 200


def secret_values(environ: Mapping[str, str] | None = None) -> list[str]:
    """Values of credential-like variables, longest first so overlapping values redact fully."""
    source = os.environ if environ is None else environ
    values = {
        value
        for name, value in source.items()
        if _SECRET_NAME.search(name) and len(value) >= _MIN_SECRET_LEN
    }
    return sorted(values, key=len, reverse=True)


def redact(text: str, secrets: Iterable[str] | None = None) -> str:
    for value in secret_values() if secrets is None else secrets:
        text = text.replace(value, REDACTED)
    return _KEY_SHAPES.sub(REDACTED, text)


def redact_argv(argv: Iterable[str]) -> list[str]:
    """argv fit for a log line: secrets redacted, long arguments (prompts) elided."""
    secrets = secret_values()
    shown = []
    for arg in argv:
        if len(arg) > _MAX_LOGGED_ARG:
            shown.append(f"<{len(arg)} characters>")
        else:
            shown.append(redact(arg, secrets))
    return shown
