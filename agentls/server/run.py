"""One run started from the editor: what it was asked about, and where it stands."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from agentls.domain.budget import Budget
from agentls.domain.results import LineRange, TaskKind, WorkflowResult
from agentls.orchestration.workflow import CancelToken
from agentls.server.convert import uri_to_path


@dataclass
class ServerRun:
    run_id: str
    title: str
    uri: str
    folder: Path
    selection: LineRange | None = None
    """The lines of ``uri`` the run was asked about (None: the whole file)."""
    cancel: CancelToken = field(default_factory=CancelToken)
    task: asyncio.Task[None] | None = None
    progress_token: str | None = None
    result: WorkflowResult | None = None
    report_uri: str | None = None
    status: str = "running"
    note: str = ""
    """What happened to the edits (applied, refused, conflicts)."""
    told: bool = False
    """Whether a message already told the user how the run ended."""
    recorded: bool = False
    """Whether the history has the run (a run refused before it started has none)."""
    turn: int = 0
    """Its turn in the run's conversation (0: the run itself; follow-ups count on)."""


@dataclass(frozen=True)
class RunTarget:
    uri: str
    selection: LineRange | None
    instruction: str | None
    editor_diagnostics: tuple[str, ...] = ()
    """Other tools' diagnostics in the selection, as lines of text for the prompt."""
    changed: str | None = None
    """Run on what changed since this revision (``targets.changed_files``) instead."""
    budget: Budget | None = None
    """The run's own caps (the command's ``budget``): they only tighten the configured ones."""

    @property
    def many(self) -> bool:
        """Whether it names several files: what changed, or a folder (``uri``)."""
        path = uri_to_path(self.uri)
        return self.changed is not None or (path is not None and Path(path).is_dir())


@dataclass(frozen=True)
class RunOrigin:
    """What a run was started as, to start it again (``agentls.rerun``)."""

    target: RunTarget
    workflow: str
    quick_task: tuple[TaskKind, str] | None = None
    """The task and agent of a quick task (then ``workflow`` is its one-step workflow)."""
