"""Follow-ups: a message that continues an earlier run.

The follow-up runs the same workflow on the same file (or files), starting from the code as
the last turn proposed it (or as it is on disk, once applied), with the earlier requests and
outcomes as context, and resumes each step's own session where its CLI supports that. A
quick task's follow-up reruns its one task with the same agent. The run's selection follows
the changes made since, applied or proposed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from agentls.domain import textfile
from agentls.domain.budget import Budget
from agentls.domain.config import AgentlsConfig
from agentls.domain.edits import proposed_texts, remap_range
from agentls.domain.errors import TaskInputError
from agentls.domain.proposals import HunkState, Review
from agentls.domain.results import LineRange, TaskKind, WorkflowResult
from agentls.orchestration.history import History, RunInfo
from agentls.orchestration.quick_tasks import with_task_workflow
from agentls.orchestration.workflow import CancelToken, WorkflowEngine, WorkflowRequest


@dataclass(frozen=True)
class FollowUp:
    result: WorkflowResult
    turn: int


async def follow_up(
    engine: WorkflowEngine,
    history: History,
    run_id: str,
    message: str,
    token: CancelToken | None = None,
    buffers: Mapping[str, str] | None = None,
    task: tuple[TaskKind, str] | None = None,
    budget: Budget | None = None,
) -> FollowUp:
    """``buffers``: the editor's unsaved texts, which count as the files' current text.
    For a quick task, ``engine`` gets the task's one-step workflow added to its config; so it
    does for ``task`` (a task and agent to run instead of the run's own workflow: the refine
    that follows a rejection); ``budget``, its own caps over the configured ones."""
    buffers = buffers or {}
    info = history.run(run_id)
    workflow = info.workflow
    task = task or ((info.task, info.agent) if info.task and info.agent else None)
    if task is not None:
        engine.config, workflow = with_task_workflow(engine.config, *task)
    turns = history.turns(info.run_id)
    first_instruction = info.instruction
    last = turns[-1][1]
    review = history.review(info.run_id, len(turns) - 1)
    applied = len(turns) - 1 in history.applied_turns(info.run_id)
    # Once applied or reviewed, the files as they are are where the conversation stands.
    start_texts = {} if applied or review is not None else proposal(last)
    for path, proposed in list(start_texts.items()):
        current = buffers.get(path, textfile.read_text(history.workspace / path))
        if current == proposed:  # the editor applied the proposal: continue from there
            del start_texts[path]
        elif current != last.originals.get(path):
            raise TaskInputError(
                f"{path} changed since run {info.run_id} proposed its edits, so they no longer "
                "fit; start a new run on the current text"
            )
    if info.path in start_texts:
        start_text = start_texts[info.path]
    else:
        start_text = buffers.get(info.path, textfile.read_text(history.workspace / info.path))
    request = WorkflowRequest(
        workflow=workflow,
        workspace=history.workspace,
        path=info.path,
        more_paths=tuple(path for path in turns[0][1].files if path != info.path),
        selection=_selection_now(info, turns, start_text),
        instruction=message,
        context=_context(first_instruction, turns, review),
        sessions=_sessions(last),
        start_texts=start_texts,
        buffers=buffers,
        budget=budget,
    )
    result = await engine.run(request, token, run_id=info.run_id)
    return FollowUp(result=result, turn=history.record_turn(info.run_id, message, result))


def followable(config: AgentlsConfig, info: RunInfo) -> bool:
    """Whether a follow-up on the run can start with ``config``: its quick task's agent is
    configured, or its workflow still is."""
    if info.task is not None:
        return info.agent in config.agents
    return info.workflow in config.workflows


def _selection_now(
    info: RunInfo, turns: list[tuple[str | None, WorkflowResult]], start_text: str | None
) -> LineRange | None:
    """The run's selection where it lies in ``start_text`` (the target's text the follow-up
    starts from), moved through the changes since the run: kept lines move, changed ones widen
    it. None, the whole file, when none of its lines are left."""
    if info.selection is None or start_text is None:
        return info.selection
    before = next(
        (r.originals[info.path] for _, r in turns if r.originals.get(info.path) is not None),
        None,
    )
    if before is None:  # no turn changed the file
        return info.selection
    return remap_range(before, start_text, info.selection)


def proposal(result: WorkflowResult) -> dict[str, str | None]:
    """Each changed file's text as the result proposes it."""
    return proposed_texts(result.edits, result.originals)


def _context(
    instruction: str | None,
    turns: list[tuple[str | None, WorkflowResult]],
    review: Review | None = None,
) -> str:
    lines = ["This continues an earlier conversation about this code."]
    for index, (message, result) in enumerate(turns):
        asked = instruction if index == 0 else message
        lines.append(f"- Request {index + 1}: {asked or '(the default task)'}")
        lines.append(f"  Outcome: {result.summary}")
        for finding in result.findings[:20]:
            lines.append(f"  Open finding {finding.path}:{finding.line}: {finding.message}")
    if review is not None:
        lines.extend(review_section(review))
        lines.append(
            "The code shown is as the user left it: the accepted changes are in it, the "
            "rejected ones are not."
        )
    else:
        lines.append("The code shown is the latest version, with the earlier changes made.")
    return "\n".join(lines)


def review_section(review: Review) -> list[str]:
    """The user's decisions about the last proposal, as the agent reads them."""
    lines = ["The user reviewed your last proposed changes one by one:"]
    for decision in review.decisions:
        where = decision.where
        said = f" ({decision.summary})" if decision.summary else ""
        if decision.state is HunkState.REJECTED:
            why = f'; their reason: "{decision.reason}"' if decision.reason else "; no reason given"
            lines.append(f"- rejected: {where}{said}{why}")
        elif decision.state is HunkState.ACCEPTED:
            lines.append(f"- accepted: {where}{said}")
    if review.rejected:
        lines.append("Do not propose a rejected change again as it was; address the user's reason.")
    return lines


def _sessions(result: WorkflowResult) -> dict[str, str]:
    """Each step's latest session: a follow-up's review resumes the reviewer's, its refine
    the refiner's, even when one agent did both."""
    sessions: dict[str, str] = {}
    for record in result.steps:
        if record.result is not None and record.result.session_id:
            sessions[record.step] = record.result.session_id
    return sessions
