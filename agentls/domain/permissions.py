"""A question an agent's tool call puts to the user, and who answers it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class PermissionQuestion:
    agent: str
    kind: str
    """The tool kind (read, edit, execute, fetch, ...)."""
    title: str
    """The agent's title for the tool call (the command, the file, ...)."""
    paths: tuple[str, ...]
    """Workspace-relative where inside the step's folder, else absolute."""
    preview: str = ""
    """What it would do, when the agent said: a diff, a command line."""
    reason: str = ""
    """Why the policy asks."""

    def summary(self) -> str:
        """One line for a prompt: ``claude wants to execute: npm test``."""
        return f"{self.agent} wants to {self.kind}: {self.title}"


Asker = Callable[[PermissionQuestion], Awaitable[bool]]
"""Puts the question to the user (the editor's message box, the terminal's prompt); True to
allow. Where no one can be asked, nothing is allowed that the policy asks about."""
