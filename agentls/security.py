"""Validation of what users send in. Paths are checked by ``orchestration.paths``; agents get
argv lists and a minimal environment (``adapters.runner``); secrets are redacted
(``redaction``)."""

from __future__ import annotations

import re

from agentls.domain.errors import TaskInputError

# Control characters other than tab, newline and carriage return.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def check_instruction(text: str | None, max_bytes: int) -> str | None:
    if text is None:
        return None
    size = len(text.encode("utf-8"))
    if size > max_bytes:
        raise TaskInputError(
            f"the instruction is {size} bytes; the limit is {max_bytes} "
            "(settings.max_instruction_bytes)"
        )
    found = _CONTROL.search(text)
    if found:
        raise TaskInputError(
            f"the instruction contains a control character ({found.group()!r}); remove it"
        )
    return text
