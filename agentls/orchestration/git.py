"""agentls's own git: inert to what a repository holds.

Every call reads no system or global configuration, runs no hooks, fsmonitor, pager or
submodule, asks for nothing and gets a minimal environment, so neither a cloned repository's
config nor an agent's writes can make it run a program.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from pathlib import Path

from agentls.domain.errors import AgentlsError

_IDENTITY = ["-c", "user.name=agentls", "-c", "user.email=agentls@localhost"]
_INERT = [
    "--no-pager",
    "-c", "core.fsmonitor=false",
    "-c", "core.hooksPath=/dev/null",
    "-c", "core.untrackedCache=false",
    "-c", "core.pager=cat",
    "-c", "protocol.allow=never",
    "-c", "submodule.recurse=false",
    "-c", "diff.ignoreSubmodules=all",
    "-c", "status.submoduleSummary=false",
    "-c", "gc.auto=0",
    "-c", "maintenance.auto=false",
    "-c", "init.defaultBranch=agentls",
]  # fmt: skip
_ENV_KEPT = ("PATH", "HOME", "LANG", "LANGUAGE", "TZ")


class GitError(AgentlsError):
    """git is missing or a git command failed; the message says which and why."""


def git_env(**extra: str) -> dict[str, str]:
    """The environment of every git agentls runs: PATH, HOME and locale, no system or global
    configuration, no prompts, no optional locks; nothing else of agentls's environment."""
    source = os.environ
    env = {name: source[name] for name in _ENV_KEPT if name in source}
    env.update({name: value for name, value in source.items() if name.startswith("LC_")})
    env.setdefault("PATH", os.defpath)
    env.update(
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_ATTR_NOSYSTEM="1",
        GIT_TERMINAL_PROMPT="0",
        GIT_OPTIONAL_LOCKS="0",
        GIT_PAGER="cat",
    )
    env.update(extra)
    return env


async def git(
    cwd: Path, *args: str, env: Mapping[str, str] | None = None, needed_for: str = "this"
) -> str:
    """``git ARGS`` in ``cwd``, inert; ``env`` defaults to ``git_env()``: for the user's own
    repository, found from ``cwd``. ``needed_for`` completes "install git: … needs it"."""
    try:
        process = await asyncio.create_subprocess_exec(
            "git",
            *_INERT,
            *_IDENTITY,
            *args,
            cwd=cwd,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=dict(env) if env is not None else git_env(),
        )
    except FileNotFoundError:
        raise GitError(f"git is not on PATH; {needed_for} needs git: install git") from None
    stdout, stderr = await process.communicate()
    if process.returncode != 0:
        message = stderr.decode(errors="replace").strip().splitlines()
        raise GitError(f"git {args[0]} failed in {cwd}: {message[-1] if message else ''}")
    return stdout.decode("utf-8", errors="surrogateescape")
