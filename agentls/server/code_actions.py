"""Code actions: one per workflow and quick task (instant: no agent, no I/O), quick fixes
for agentls's own review diagnostics (their edit computed in ``codeAction/resolve``), and on
diagnostics from a cached answer, their run again without the cache."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lsprotocol import types

from agentls.domain.config import AgentlsConfig, BestOfStage, WorkflowStep
from agentls.domain.results import LineRange, ProposedEdit, TaskKind
from agentls.server import proposal_views
from agentls.server.capabilities import KIND_EXPLAIN, KIND_REVIEW, KIND_REWRITE, Command
from agentls.server.convert import SOURCE, FindingData, FixData, lsp_to_lines, text_edit

if TYPE_CHECKING:
    from agentls.server.language_server import AgentlsServer

TASK_KINDS = {
    TaskKind.IMPLEMENT: KIND_REWRITE,
    TaskKind.REFINE: KIND_REWRITE,
    TaskKind.REVIEW: KIND_REVIEW,
    TaskKind.EXPLAIN: KIND_EXPLAIN,
}
RERUN_TITLE = "agentls: run again without the cache"


def code_actions(ls: AgentlsServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    uri = params.text_document.uri
    actions = [*_quick_fixes(ls, params), *_fresh_runs(params), *_candidates(ls, uri)]
    if ls.configured:
        actions = [*proposal_views.code_actions(ls, params), *actions]
    config = ls.configuration.config_if_loaded(uri)
    if config is None:
        return actions
    selection = lsp_to_lines(params.range)
    whole = params.range.start == params.range.end
    target: dict[str, Any] = {"uri": uri}
    if not whole:
        target["range"] = {"start": selection.start, "end": selection.end}
    notes = [
        f"{d.source or 'editor'}: line {d.range.start.line + 1}: {d.message}"
        for d in params.context.diagnostics
        if d.source != SOURCE
    ]
    if notes:
        target["diagnostics"] = notes
    scope = "selection" if not whole else "file"
    for name, workflow in config.workflows.items():
        kind = _workflow_kind(config, name)
        agents = " → ".join(_step_names(workflow.steps))
        actions.append(
            types.CodeAction(
                title=f"agentls: run {name} on the {scope} ({agents})",
                kind=kind,
                command=types.Command(
                    title=f"Run {name}",
                    command=Command.RUN_WORKFLOW,
                    arguments=[{**target, "workflow": name}],
                ),
            )
        )
    for task, agent in config.settings.task_agents.items():
        if agent not in config.agents or not config.agents[agent].enabled:
            continue
        actions.append(
            types.CodeAction(
                title=f"agentls: {task.value} the {scope} with {agent}",
                kind=TASK_KINDS[task],
                command=types.Command(
                    title=f"{task.value.capitalize()} with {agent}",
                    command=Command.RUN_TASK,
                    arguments=[{**target, "agent": agent, "task": task.value}],
                ),
            )
        )
    only = params.context.only
    if only:
        actions = [a for a in actions if any(_matches(a.kind or "", k) for k in only)]
    return actions


def resolve(ls: AgentlsServer, action: types.CodeAction) -> types.CodeAction:
    fix = FixData.read(action.data)
    if fix is not None:
        action.edit = _fix_edit(ls, fix)
    return action


def _quick_fixes(ls: AgentlsServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    """A fix per suggestion of each of agentls's diagnostics: its own, then the other
    reviewers' (none is preferred then: the reviewers disagree, the user chooses)."""
    lazy = _lazy_edits(ls)
    fixes = []
    for diagnostic in params.context.diagnostics:
        data = FindingData.read(diagnostic.data)
        if diagnostic.source != SOURCE or data is None or data.suggestion is None:
            continue
        offered = [(data.agent, data.line, data.end_line, data.suggestion)]
        offered += [(a.agent, a.line, a.end_line, a.suggestion) for a in data.alternatives]
        for agent, line, end_line, suggestion in offered:
            fix = FixData(
                uri=params.text_document.uri, line=line, end_line=end_line, suggestion=suggestion
            )
            action = types.CodeAction(
                title=_fix_title(agent, data, diagnostic),
                kind=types.CodeActionKind.QuickFix,
                diagnostics=[diagnostic],
                is_preferred=not data.alternatives,
                data=fix.lsp(),
            )
            if not lazy:
                action.edit = _fix_edit(ls, fix)
            fixes.append(action)
    return fixes


def _fresh_runs(params: types.CodeActionParams) -> list[types.CodeAction]:
    """For diagnostics from a cached answer: their run again, every agent asked afresh."""
    by_run: dict[str, list[types.Diagnostic]] = {}
    for diagnostic in params.context.diagnostics:
        data = FindingData.read(diagnostic.data)
        if diagnostic.source == SOURCE and data is not None and data.cached:
            by_run.setdefault(data.run_id, []).append(diagnostic)
    return [
        types.CodeAction(
            title=RERUN_TITLE,
            kind=types.CodeActionKind.QuickFix,
            diagnostics=diagnostics,
            command=types.Command(
                title=RERUN_TITLE,
                command=Command.RERUN,
                arguments=[{"runId": run_id, "noCache": True}],
            ),
        )
        for run_id, diagnostics in by_run.items()
    ]


def _candidates(ls: AgentlsServer, uri: str) -> list[types.CodeAction]:
    """The latest finished best_of run on ``uri``: one action per candidate that succeeded,
    the judge's pick first, each applying it through ``agentls.applyRun``."""
    if not ls.running:  # no run yet: nothing of the runs is loaded for a code action
        return []
    finished = [
        run
        for run in ls.runs.runs.values()
        if run.uri == uri and run.result is not None and run.result.candidates
    ]
    if not finished:
        return []
    run = finished[-1]
    assert run.result is not None
    total = len(run.result.candidates)
    verb = "review" if ls.session.settings.apply_mode == "review" else "apply"
    actions = []
    for candidate in run.result.candidates:
        if candidate.rank is None:
            continue
        title = (
            f"agentls: {verb} candidate {candidate.index} of {total} ({candidate.agent}) — "
            f"ranked {_ordinal(candidate.rank)}"
        )
        if candidate.judge_reason:
            title += f": {_short(candidate.judge_reason)}"
        actions.append(
            types.CodeAction(
                title=title,
                kind=KIND_REWRITE,
                is_preferred=candidate.rank == 1,
                command=types.Command(
                    title=f"{verb.capitalize()} candidate {candidate.index}",
                    command=Command.APPLY_RUN,
                    arguments=[{"runId": run.run_id, "candidate": candidate.index}],
                ),
            )
        )
    return actions


def _ordinal(rank: int) -> str:
    suffix = "th" if 10 <= rank % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(rank % 10, "th")
    return f"{rank}{suffix}"


def _short(reason: str, length: int = 60) -> str:
    return reason if len(reason) <= length else reason[: length - 1].rstrip() + "…"


def _fix_title(agent: str | None, data: FindingData, diagnostic: types.Diagnostic) -> str:
    """Names whose fix it is and the finding, so that two overlapping findings' fixes, and
    two reviewers' fixes for one finding, differ."""
    finding = data.label or diagnostic.code or diagnostic.message
    return f"agentls: apply {agent or 'the reviewer'}'s suggestion for {finding}"


def _fix_edit(ls: AgentlsServer, fix: FixData) -> types.WorkspaceEdit:
    document = ls.client.document(fix.uri)
    lines = LineRange(start=fix.line, end=fix.end_line)
    suggestion = ProposedEdit(path="", range=lines, new_text=fix.suggestion)
    edit = text_edit(document.source, suggestion)
    if ls.client.capabilities.edits.document_changes:
        identifier = types.OptionalVersionedTextDocumentIdentifier(
            uri=fix.uri, version=document.version
        )
        return types.WorkspaceEdit(
            document_changes=[types.TextDocumentEdit(text_document=identifier, edits=[edit])]
        )
    return types.WorkspaceEdit(changes={fix.uri: [edit]})


def _lazy_edits(ls: AgentlsServer) -> bool:
    """Defer the quick fix's edit to resolve only when the client can resolve edits."""
    return ls.client.capabilities.lazy_code_action_edits


def _workflow_kind(config: AgentlsConfig, name: str) -> str:
    steps = config.workflows[name].all_steps
    if any(s.task in (TaskKind.IMPLEMENT, TaskKind.REFINE) for s in steps):
        return KIND_REWRITE
    return KIND_REVIEW


def _step_names(stages: list[WorkflowStep]) -> list[str]:
    return [
        f"best of {'/'.join(stage.best_of.candidates)}"
        if isinstance(stage, BestOfStage)
        else "+".join(step.agent for step in stage.members)
        for stage in stages
    ]


def _matches(kind: str, wanted: str) -> bool:
    return kind == wanted or kind.startswith(wanted + ".")
