"""A run as ACP session updates (pure: nothing here sends anything).

Each step of the workflow is a tool call titled ``<step id>: <agent> <task>``: the first pass's
steps appear as ``pending`` when the run starts, turn ``in_progress`` when they start (a later
pass of the review cycle adds its own), show the agent's progress lines while they run, and end
``completed`` or ``failed`` with what they found or why they failed. ACP has no diagnostics, so
findings are a readable line each in an agent message and a ``read`` tool call whose
``locations`` let the client jump to them; the proposal is an ``edit`` tool call with a diff
per file. Paths sent to the client are absolute, and lines in ``locations`` 0-based (Zed reads
``line`` as a row), as ACP's schema describes them.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from acp.helpers import (
    start_tool_call,
    text_block,
    tool_content,
    tool_diff_content,
    update_agent_message_text,
    update_tool_call,
)
from acp.schema import (
    AgentMessageChunk,
    ContentToolCallContent,
    Cost,
    ToolCallLocation,
    ToolCallProgress,
    ToolCallStart,
    ToolCallStatus,
    ToolKind,
    UsageUpdate,
)

from agentls.domain.config import WorkflowConfig
from agentls.domain.edits import proposed_texts
from agentls.domain.results import Finding, TaskKind, TaskResult, WorkflowResult
from agentls.orchestration.events import (
    AgentOutput,
    Event,
    StepFinished,
    StepStarted,
    WorkflowStarted,
)

Update = AgentMessageChunk | ToolCallStart | ToolCallProgress | UsageUpdate

KINDS: dict[TaskKind, ToolKind] = {
    TaskKind.REVIEW: "read",
    TaskKind.EXPLAIN: "think",
    TaskKind.IMPLEMENT: "edit",
    TaskKind.REFINE: "edit",
}
SHOWN_LINES = 12
"""Progress lines of a running step its tool call shows (the latest)."""
LINE_LENGTH = 200
"""Characters of a progress line shown (a whole message can be one line)."""


def message(text: str) -> AgentMessageChunk:
    """An agent message; ends with a blank line so the next one starts a paragraph."""
    return update_agent_message_text(text.rstrip("\n") + "\n\n")


def step_title(step: str, agent: str, task: str) -> str:
    return f"{step}: {agent} {task}"


@dataclass
class _Call:
    call_id: str
    title: str
    task: TaskKind
    status: ToolCallStatus = "pending"
    lines: deque[str] = field(default_factory=lambda: deque(maxlen=SHOWN_LINES))


class StepCalls:
    """The workflow's steps as tool calls, from the run's events."""

    def __init__(self, workflow: WorkflowConfig) -> None:
        self.workflow = workflow
        self.calls: dict[tuple[str, int], _Call] = {}
        self.run_id = ""

    def on_event(self, event: Event) -> list[Update]:
        if isinstance(event, WorkflowStarted):
            self.run_id = event.run_id
            return [
                self._start(step.step_id, step.agent, step.task, 1)
                for step in self.workflow.all_steps
            ]
        if isinstance(event, StepStarted):
            updates = self._ensure(event.step, event.iteration)
            call = self.calls[(event.step, event.iteration)]
            call.status = "in_progress"
            return [*updates, update_tool_call(call.call_id, status="in_progress")]
        if isinstance(event, AgentOutput):
            running = self._latest(event.step)
            if running is None:
                return []
            line = " ".join(event.line.split())
            running.lines.append(line[:LINE_LENGTH] + ("…" if len(line) > LINE_LENGTH else ""))
            return [update_tool_call(running.call_id, content=[_output(running.lines)])]
        if isinstance(event, StepFinished):
            updates = self._ensure(event.step, event.iteration)
            call = self.calls[(event.step, event.iteration)]
            call.status = "failed" if event.status == "failed" else "completed"
            outcome = _outcome(call.task, event.status, event.result, event.reason)
            content = [tool_content(text_block(outcome))]
            if call.lines:
                content.append(_output(call.lines))
            title = call.title + (" (skipped)" if event.status == "skipped" else "")
            return [
                *updates,
                update_tool_call(call.call_id, status=call.status, title=title, content=content),
            ]
        return []

    def close(self, cancelled: bool) -> list[Update]:
        """End the calls the run left open: those it never reached, and (cancelled) the
        running ones."""
        updates: list[Update] = []
        for call in self.calls.values():
            if call.status == "pending":
                call.status = "completed"
                title = f"{call.title} (not run)"
                updates.append(update_tool_call(call.call_id, status="completed", title=title))
            elif call.status == "in_progress":
                call.status = "failed"
                why = "cancelled" if cancelled else "stopped"
                updates.append(
                    update_tool_call(
                        call.call_id,
                        status="failed",
                        content=[tool_content(text_block(f"{why}; its agent was stopped"))],
                    )
                )
        return updates

    def _start(self, step: str, agent: str, task: TaskKind, iteration: int) -> ToolCallStart:
        call = _Call(f"{self.run_id}:{step}:{iteration}", step_title(step, agent, task), task)
        self.calls[(step, iteration)] = call
        return start_tool_call(call.call_id, call.title, kind=KINDS[task], status="pending")

    def _ensure(self, step: str, iteration: int) -> list[Update]:
        """The start of the step's call in ``iteration``, unless it was started already."""
        if (step, iteration) in self.calls:
            return []
        config = next(s for s in self.workflow.all_steps if s.step_id == step)
        return [self._start(step, config.agent, config.task, iteration)]

    def _latest(self, step: str) -> _Call | None:
        running = [c for (s, _), c in self.calls.items() if s == step and c.status == "in_progress"]
        return running[-1] if running else None


def _output(lines: deque[str]) -> ContentToolCallContent:
    return tool_content(text_block("```text\n" + "\n".join(lines) + "\n```"))


def _outcome(task: TaskKind, status: str, result: TaskResult | None, reason: str) -> str:
    """What a finished step did, in a line."""
    if status == "skipped":
        return f"skipped: {reason}"
    if status == "failed":
        return f"failed: {reason}" if reason else "failed"
    assert result is not None
    if task is TaskKind.REVIEW:
        count = len(result.findings)
        text = f"{count} finding{'s' if count != 1 else ''}" if count else "no findings"
    elif task is TaskKind.EXPLAIN:
        text = "explained"
    else:
        changed = sorted({e.path for e in result.edits} | set(result.changed_files))
        text = f"changed {', '.join(changed)}" if changed else "no changes"
    if result.cached:
        text += " (a cached answer: no agent ran)"
    if reason:
        text += f"; {reason}"
    return text


def finding_line(finding: Finding) -> str:
    """``path:line severity code message``, on one line."""
    code = f" {finding.code}" if finding.code else ""
    text = " ".join(finding.message.split())
    by = f" ({finding.reported_by})" if finding.reported_by else ""
    return f"{finding.where} {finding.severity}{code} {text}{by}"


def findings_updates(run_id: str, findings: list[Finding], folder: Path) -> list[Update]:
    """The findings as a message (a line each) and as a ``read`` call with their locations."""
    if not findings:
        return [message("no findings")]
    lines = [finding_line(finding) for finding in findings]
    count = f"{len(findings)} finding{'s' if len(findings) != 1 else ''}"
    listing = "\n".join(f"- {line}" for line in lines)
    locations = [
        ToolCallLocation(path=str(folder / finding.path), line=finding.line - 1)
        for finding in findings
    ]
    call = start_tool_call(
        f"{run_id}:findings",
        f"Findings: {count}",
        kind="read",
        status="completed",
        content=[tool_content(text_block("\n".join(lines)))],
        locations=locations,
    )
    return [call, message(f"{count}:\n\n{listing}")]


@dataclass(frozen=True)
class Proposal:
    """A run's change: each file's text before it and after it (None: the file is deleted)."""

    run_id: str
    before: dict[str, str | None]
    after: dict[str, str | None]

    @classmethod
    def of(cls, result: WorkflowResult) -> Proposal:
        after = proposed_texts(result.edits, result.originals)
        return cls(result.run_id, {p: result.originals.get(p) for p in after}, after)

    @property
    def call_id(self) -> str:
        return f"{self.run_id}:proposal"

    @property
    def names(self) -> str:
        return ", ".join(self.after)

    @property
    def deletes(self) -> bool:
        return any(text is None for text in self.after.values())

    def call(self, folder: Path) -> ToolCallStart:
        content = [
            tool_diff_content(str(folder / path), after or "", self.before[path])
            for path, after in self.after.items()
        ]
        locations = [ToolCallLocation(path=str(folder / path)) for path in self.after]
        return start_tool_call(
            self.call_id,
            f"Proposed changes: {self.names}",
            kind="edit",
            status="pending",
            content=content,
            locations=locations,
        )


def usage_update(tokens: int, cost_usd: float | None) -> UsageUpdate:
    """A run's tokens and the session's cost so far. agentls runs several agents, each with
    its own context window, so there is no one window to report: ``size`` is the tokens used,
    never a window agentls cannot vouch for."""
    cost = Cost(amount=cost_usd, currency="USD") if cost_usd is not None else None
    return UsageUpdate(session_update="usage_update", used=tokens, size=tokens, cost=cost)
