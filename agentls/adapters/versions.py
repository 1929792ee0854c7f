"""The version a CLI reports (``PROGRAM --version``), read once per process per command.

A cached answer is only as good as the tool that gave it, so the result cache's key holds the
version: a new release of an agent CLI (or of ruff) answers afresh.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from agentls.adapters.runner import MissingBinaryError, ProcessSpec, minimal_env, run_process

VERSION_TIMEOUT_S = 10.0
UNKNOWN = "unknown"

_known: dict[tuple[str, ...], str] = {}


async def read_version(program: str, env: Mapping[str, str] | None = None) -> str | None:
    """The first line ``program --version`` prints, or None when it does not answer within
    ``VERSION_TIMEOUT_S``."""
    spec = ProcessSpec(
        argv=[program, "--version"],
        cwd=Path.cwd(),
        env=minimal_env(()) if env is None else env,
        timeout_s=VERSION_TIMEOUT_S,
        kill_grace_s=0.5,
        max_output_bytes=64 * 1024,
    )
    try:
        outcome = await run_process(spec)
    except (MissingBinaryError, OSError):
        return None
    if outcome.exit_code != 0 or outcome.timed_out:
        return None
    text = (outcome.stdout.strip() or outcome.stderr.strip()).splitlines()
    return text[0].strip()[:80] if text else None


async def cli_version(command: Sequence[str], env: Mapping[str, str] | None = None) -> str:
    """The version of ``command``'s program, memoised per command; ``UNKNOWN`` when it does
    not say (a missing program, a timeout, no output)."""
    key = tuple(command)
    if key not in _known:
        version = await read_version(command[0], env) if command else None
        _known[key] = version or UNKNOWN
    return _known[key]


def forget_versions() -> None:
    """Read every version again (tests; a long-lived process after an upgrade)."""
    _known.clear()
