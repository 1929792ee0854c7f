"""The one exception hierarchy: every message is written for the user and says how to fix it."""

from __future__ import annotations


class AgentlsError(Exception):
    """An error the user can act on. ``str(error)`` is the whole message, fix included."""


class ConfigError(AgentlsError):
    """A configuration file is unreadable or invalid."""


class TaskInputError(AgentlsError):
    """A task was asked for on input that cannot work (unknown agent, bad path or range)."""


class UnsafePathError(TaskInputError):
    """A path resolves outside the workspace, through a symlink out of it, or into ``.git``."""


class TaskDeclined(TaskInputError):
    """An agent does not handle this kind of file (ruff and a Markdown file): a workflow step
    is skipped with this message as its reason; a single task (``exec``) stops with it."""
