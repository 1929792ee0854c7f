"""The configuration files ruff reads for a file, found the way ruff finds them.

In each folder from the file's up to the root, the first of ``.ruff.toml``, ``ruff.toml`` and a
``pyproject.toml`` that has a ``[tool.ruff]`` table is the file's configuration; without one,
the user's: the first of those names in ``$XDG_CONFIG_HOME/ruff/`` (else ``~/.config/ruff/``),
a ``pyproject.toml`` there with or without the table. ``--config FILE`` among
ruff's arguments replaces that search. Each configuration may name another with ``extend``
(relative to its own folder), and that one another: the chain is every file whose contents
change ruff's answer.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

CONFIG_NAMES = (".ruff.toml", "ruff.toml", "pyproject.toml")


def config_chain(
    file: Path, cwd: Path, args: Sequence[str] = (), environ: Mapping[str, str] | None = None
) -> list[Path]:
    """The files ruff's settings for ``file`` come from, the one it found first, when it runs
    in ``cwd`` with the extra arguments ``args`` and the environment ``environ``."""
    if "--isolated" in args:
        return []
    environ = os.environ if environ is None else environ
    explicit = _config_argument(args, cwd, environ)
    user = user_config_dir(environ)
    found = explicit or nearest_config(file.parent) or (user and _config_in(user, anyway=True))
    return extend_chain(found, environ) if found is not None else []


def nearest_config(folder: Path) -> Path | None:
    """The configuration in ``folder`` or the closest folder above it."""
    for directory in (folder, *folder.parents):
        found = _config_in(directory)
        if found is not None:
            return found
    return None


def user_config_dir(environ: Mapping[str, str]) -> Path | None:
    base = environ.get("XDG_CONFIG_HOME") or (
        str(Path(environ["HOME"]) / ".config") if environ.get("HOME") else None
    )
    return Path(base) / "ruff" if base else None


def extend_chain(config: Path, environ: Mapping[str, str]) -> list[Path]:
    """``config`` and every file its ``extend`` names, in order; a cycle ends the chain."""
    chain = [config]
    while (extended := _extends(chain[-1], environ)) is not None and extended not in chain:
        chain.append(extended)
    return chain


def _config_in(directory: Path, anyway: bool = False) -> Path | None:
    """The configuration file in ``directory``; ``anyway``: a pyproject.toml without a
    ``[tool.ruff]`` table counts too (as ruff reads the user's)."""
    for name in CONFIG_NAMES:
        candidate = directory / name
        if not candidate.is_file():
            continue
        if anyway or name != "pyproject.toml" or _ruff_table(candidate) is not None:
            return candidate
    return None


def _ruff_table(path: Path) -> dict[str, Any] | None:
    """The file's ruff settings: all of a ruff.toml, ``[tool.ruff]`` of a pyproject.toml.

    A file that does not parse counts as settings: ruff stops on it, so it is part of the
    answer."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}
    if path.name != "pyproject.toml":
        return data
    tool = data.get("tool")
    table = tool.get("ruff") if isinstance(tool, dict) else None
    return table if isinstance(table, dict) else None


def _extends(config: Path, environ: Mapping[str, str]) -> Path | None:
    target = (_ruff_table(config) or {}).get("extend")
    if not isinstance(target, str) or not target:
        return None
    return _resolve(target, config.parent, environ)


def _config_argument(args: Sequence[str], cwd: Path, environ: Mapping[str, str]) -> Path | None:
    """The file ``--config FILE`` names (not an inline ``KEY = VALUE`` override)."""
    for index, arg in enumerate(args):
        value = None
        if arg == "--config" and index + 1 < len(args):
            value = args[index + 1]
        elif arg.startswith("--config="):
            value = arg.removeprefix("--config=")
        if value and "=" not in value:
            return _resolve(value, cwd, environ)
    return None


def _resolve(name: str, folder: Path, environ: Mapping[str, str]) -> Path:
    expanded = os.path.expandvars(name)
    if expanded.startswith("~") and environ.get("HOME"):
        expanded = environ["HOME"] + expanded[1:]
    return (folder / expanded).resolve()
