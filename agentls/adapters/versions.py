"""The version a CLI reports (``PROGRAM --version``), read once per process per command.

A cached answer is only as good as the tool that gave it, so the result cache's key holds the
version: a new release of an agent CLI (or of ruff) answers afresh.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from agentls.adapters.runner import MissingBinaryError, ProcessSpec, minimal_env, run_process
from agentls.domain.locations import versions_path
from agentls.state import write_private

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
    """The version of ``command``'s program, memoised per command, and on disk per program
    file (its path, size and time: an upgrade replaces it), since a CLI may take a second to
    say (Gemini CLI); ``UNKNOWN`` when it does not say (missing, a timeout, no output)."""
    key = tuple(command)
    if key not in _known:
        identity = _identity(command, env) if command else None
        stored = _stored().get(identity) if identity else None
        version = stored or (await read_version(command[0], env) if command else None)
        if version and identity and not stored:
            _store(identity, version)
        _known[key] = version or UNKNOWN
    return _known[key]


def _identity(command: Sequence[str], env: Mapping[str, str] | None) -> str | None:
    """The command, with its program's file as ``PATH`` finds it: real path, size and
    modification time."""
    found = shutil.which(command[0], path=(env or os.environ).get("PATH"))
    if found is None:
        return None
    try:
        real = os.path.realpath(found)
        info = os.stat(real)
    except OSError:
        return None
    return json.dumps([real, info.st_size, info.st_mtime_ns, *command[1:]])


def _stored() -> dict[str, str]:
    try:
        data = json.loads(versions_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _store(identity: str, version: str) -> None:
    known = _stored()
    known[identity] = version
    with contextlib.suppress(OSError):  # a read-only state folder costs a --version each time
        write_private(versions_path(), json.dumps(dict(list(known.items())[-_KEPT:])).encode())


_KEPT = 50
"""Programs remembered; an upgrade adds an entry, so old ones are let go."""


def forget_versions() -> None:
    """Read every version again (tests; a long-lived process after an upgrade)."""
    _known.clear()
    versions_path().unlink(missing_ok=True)
