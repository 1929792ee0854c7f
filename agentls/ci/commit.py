"""``agentls ci --apply --commit``: the files the apply wrote, as one commit.

Its author is the environment's (``GIT_AUTHOR_NAME`` and ``GIT_AUTHOR_EMAIL``), else the one git
is configured with (repository or global ``user.name`` and ``user.email``), else
``agentls <agentls@users.noreply.github.com>``: ``author`` says which. Hooks and signing are
off (``orchestration.git``), so the repository's configuration runs no program.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from agentls.orchestration.git import GitError, git, git_env

FALLBACK = ("agentls", "agentls@users.noreply.github.com")


@dataclass(frozen=True)
class Author:
    name: str
    email: str
    source: Literal["environment", "git config", "fallback"]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}> (from the {self.source})"


async def author(workspace: Path, environ: Mapping[str, str]) -> Author:
    name, email = environ.get("GIT_AUTHOR_NAME"), environ.get("GIT_AUTHOR_EMAIL")
    if name and email:
        return Author(name, email, "environment")
    configured = [await _configured(workspace, key) for key in ("user.name", "user.email")]
    if configured[0] and configured[1]:
        return Author(configured[0], configured[1], "git config")
    return Author(*FALLBACK, "fallback")


async def commit(workspace: Path, paths: Sequence[str], message: str, by: Author) -> str:
    """Commit ``paths`` (as they are now) with ``message``; the new commit's id."""
    people = {
        "GIT_AUTHOR_NAME": by.name,
        "GIT_AUTHOR_EMAIL": by.email,
        "GIT_COMMITTER_NAME": by.name,
        "GIT_COMMITTER_EMAIL": by.email,
    }
    env = git_env(
        GIT_LITERAL_PATHSPECS="1",
        GIT_CONFIG_COUNT="1",
        GIT_CONFIG_KEY_0="commit.gpgSign",
        GIT_CONFIG_VALUE_0="false",
        **people,
    )
    await git(workspace, "add", "-A", "--", *paths, env=env, needed_for="--commit")
    await git(
        workspace, "commit", "--no-verify", "--quiet", "--message", message, "--", *paths,
        env=env, needed_for="--commit",
    )  # fmt: skip
    return (await git(workspace, "rev-parse", "HEAD", env=env)).strip()


async def _configured(workspace: Path, key: str) -> str | None:
    """``key`` from the repository's or the user's global git configuration (not agentls's
    own ``-c`` identity, which every agentls git call carries)."""
    env = git_env()
    del env["GIT_CONFIG_GLOBAL"]  # the user's own identity lives there
    try:
        listing = await git(
            workspace, "config", "--show-origin", "--null", "--get-all", key, env=env
        )
    except GitError:  # not set
        return None
    fields = listing.split("\0")
    values = [
        value for origin, value in zip(fields[::2], fields[1::2], strict=False)
        if origin != "command line:"
    ]  # fmt: skip
    return values[-1].strip() or None if values else None
