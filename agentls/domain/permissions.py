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

    def details(self, preview_lines: int = 20) -> list[str]:
        """The lines that follow the summary where the user is asked: where, why it asks,
        and the start of what it would do."""
        lines = []
        if self.paths:
            lines.append("on " + ", ".join(self.paths))
        if self.reason:
            lines.append(f"asked because {self.reason}")
        preview = self.preview.splitlines()
        lines.extend(preview[:preview_lines])
        if len(preview) > preview_lines:
            lines.append(f"… {len(preview) - preview_lines} more lines")
        return lines


Asker = Callable[[PermissionQuestion], Awaitable[bool]]
"""Puts the question to the user (the editor's message box, the terminal's prompt); True to
allow. Where no one can be asked, nothing is allowed that the policy asks about."""
