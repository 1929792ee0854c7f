"""A workflow result as markdown (for the editor and the terminal) and as JSON."""

from __future__ import annotations

import json
import re
import secrets
from functools import cache
from typing import Any

from pydantic import TypeAdapter

from agentls.domain.budget import spend_text
from agentls.domain.edits import proposed_texts, unified_diff
from agentls.domain.results import (
    Candidate,
    Finding,
    StepStatus,
    Suggestion,
    TaskKind,
    TaskResult,
    Usage,
    WorkflowResult,
)
from agentls.redaction import Redactor, redact


def edit_diffs(result: WorkflowResult) -> dict[str, str]:
    """A unified diff per changed file, against its text when the run started."""
    proposed = proposed_texts(result.edits, result.originals)
    return {
        path: unified_diff(path, result.originals.get(path) or "", after or "")
        for path, after in proposed.items()
    }


@cache
def _findings() -> TypeAdapter[list[Finding]]:
    """Findings as JSON in one call (thousands, one by one, cost several times more)."""
    return TypeAdapter(list[Finding])


def workflow_json_text(result: WorkflowResult, **more: Any) -> str:
    """``workflow_json(result) | more`` as compact JSON text, secrets redacted. Its findings
    are written by pydantic in one go: as Python values first, then as text, thousands of
    them cost several times more."""
    slot = f"findings {secrets.token_hex(16)}"  # no text in the result can be this
    payload = {**workflow_json(result, findings=False), **more}
    payload["findings"] = slot
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    findings = _findings().dump_json(result.findings).decode()
    text = text.replace(json.dumps(slot), findings, 1)
    redactor = Redactor.current()
    if redactor.finds_in_json(text):  # rare: redacted string by string
        full = {**workflow_json(result), **more}
        return redactor.json(full, ensure_ascii=False, separators=(",", ":"))
    return text


def workflow_json(result: WorkflowResult, findings: bool = True) -> dict[str, Any]:
    """The run as JSON values (``findings``: with its findings, else an empty list)."""
    diffs = edit_diffs(result)
    kinds: dict[str, str] = {}
    for edit in result.edits:
        kinds[edit.path] = edit.kind if edit.kind != "replace" else kinds.get(edit.path, "replace")
    total = result.usage
    return {
        "run_id": result.run_id,
        "workflow": result.workflow,
        "status": result.status,
        "stop_reason": result.stop_reason,
        "iterations": result.iterations,
        "files": result.files,
        "steps": [
            {
                "step": record.step,
                "agent": record.agent,
                "task": record.task.value,
                "iteration": record.iteration,
                "status": record.status,
                "duration_s": round(record.result.duration_s, 3) if record.result else 0.0,
                "reason": record.reason or None,
                "containment": record.result.containment if record.result else None,
                "attempts": record.result.attempts if record.result else 0,
                "cached": bool(record.result and record.result.cached),
                "notes": record.result.notes if record.result else [],
            }
            for record in result.steps
        ],
        "findings": _findings().dump_python(result.findings, mode="json") if findings else [],
        "edits": [{"path": p, "kind": kinds[p], "diff": d} for p, d in diffs.items()],
        "candidates": [
            {
                "index": c.index,
                "agent": c.agent,
                "status": c.status,
                "rank": c.rank,
                "reason": c.reason or None,
                "judge_reason": c.judge_reason or None,
                "check": c.check.model_dump(mode="json") if c.check else None,
                "files": sorted({e.path for e in c.edits}),
                "usage": _usage(c.usage),
            }
            for c in result.candidates
        ],
        "refused": [r.model_dump(mode="json") for r in result.refused],
        "usage": {
            **_usage(total),
            "by_agent": {a: _usage(u) for a, u in result.usage_by_agent.items()},
        },
        "budget": result.budget.model_dump(mode="json") if result.budget else None,
        "stopped": result.stopped or None,
        "duration_s": round(result.duration_s, 3),
        "summary": result.summary,
    }


def workflow_markdown(result: WorkflowResult) -> str:
    """The run's report: what it did, its findings, what it refused, the changes it proposes
    (the editor's and the terminal's, which prints the findings its own way)."""
    before, findings, after = _report(result, listing_findings=True)
    return _markdown([*before, *findings, *after])


def markdown_around_findings(result: WorkflowResult) -> tuple[str, str]:
    """``workflow_markdown`` without the findings' list: the part up to its heading, and the
    part after it ("" when there is none), for a terminal that prints each finding on a line
    of its own."""
    before, _, after = _report(result, listing_findings=False)
    return _markdown(before), _markdown(after) if any(after) else ""


def _markdown(lines: list[str]) -> str:
    return redact("\n".join(lines).strip() + "\n")


def _report(
    result: WorkflowResult, listing_findings: bool
) -> tuple[list[str], list[str], list[str]]:
    """The report's lines: up to the findings' heading, the findings (when ``listing_findings``),
    after them."""
    lines = [f"# {result.workflow} — {result.status}", "", result.summary, ""]
    if result.budget is not None:
        lines += [f"Budget: {_against_budget(result)}.", ""]
    lines += [
        "| # | step | agent | status | time | tokens in/out | cost |",
        "|---|---|---|---|---|---|---|",
    ]
    for record in result.steps:
        usage = record.result.usage if record.result else Usage()
        duration = _duration(record.result)
        cost = f"${usage.cost_usd:.4f}" if usage.cost_usd is not None else "-"
        tokens = (
            f"{'~' if usage.estimated else ''}{usage.input_tokens or 0}/{usage.output_tokens or 0}"
            if usage.input_tokens is not None or usage.output_tokens is not None
            else "-"
        )
        status = record.status + (f" ({record.reason})" if record.reason else "")
        lines.append(
            f"| {record.iteration} | {record.step} | {record.agent} | {status} | {duration} "
            f"| {tokens} | {cost} |"
        )
    if any(r.result is not None and r.result.usage.estimated for r in result.steps):
        lines += ["", f"~ {ESTIMATED}."]
    contained = {
        f"{r.step} ({r.agent}) {_CONTAINMENT[r.result.containment]}": None
        for r in result.steps
        if r.result is not None and r.result.containment is not None
    }
    if contained:
        lines += ["", "Containment: " + "; ".join(contained) + "."]
    cached = {f"{r.step} ({r.agent})": None for r in result.cached_steps}
    if cached:
        lines += ["", f"Cached answers, no agent ran: {', '.join(cached)}; {_AFRESH}."]
    answers = [
        r
        for r in result.steps
        if r.task is TaskKind.EXPLAIN and r.role != "judge" and r.result and r.result.text
    ]
    for record in answers:
        assert record.result is not None
        lines += ["", f"## Explanation ({record.agent})", "", record.result.text.strip()]
    if result.candidates:
        lines += ["", "## Candidates", "", *_candidates(result), ""]
        lines.append(
            f"`agentls apply {result.run_id} --candidate N` applies candidate N instead of the "
            "pick (in the editor: its code action)."
        )
    findings: list[str] = []
    if result.findings:
        lines += ["", "## Findings", ""]
        for finding in result.findings if listing_findings else ():
            findings += _finding_lines(finding)
    before, lines = lines, []
    if result.refused:
        lines += ["", "## Refused paths", ""]
        for refused in result.refused:
            by = f" ({refused.agent})" if refused.agent else ""
            lines.append(f"- refused {_code(refused.path)}: {refused.reason}{by}")
    diffs = edit_diffs(result)
    if diffs:
        lines += ["", "## Proposed changes", ""]
        for path, diff in diffs.items():
            lines += [f"### {path}", "", "```diff", diff.rstrip("\n"), "```", ""]
    return before, findings, lines


ESTIMATED = (
    "estimated: the CLI reported no tokens, so agentls counted one per four characters of "
    "prompt and reply"
)


def _against_budget(result: WorkflowResult) -> str:
    """What the run spent against its caps; ``~``: tokens estimated."""
    usage = result.usage
    spent = spend_text(
        result.duration_s, usage.tokens, usage.cost_usd or 0.0, result.budget, usage.estimated
    )
    return spent + (f" ({result.stopped})" if result.stopped else "")


def _candidates(result: WorkflowResult) -> list[str]:
    """The candidates, the judge's pick first: rank, reason, check, files; failed ones last."""
    total = len(result.candidates)
    lines = []
    for candidate in result.candidates:
        name = f"candidate {candidate.index} of {total} ({candidate.agent})"
        if candidate.status != StepStatus.OK:
            lines.append(f"- {name}: **{candidate.status}**: {candidate.reason or 'no reason'}")
            continue
        picked = " — the pick" if candidate.rank == 1 else ""
        text = f"{candidate.rank}. **{name}**{picked}"
        if candidate.judge_reason:
            text += f": {candidate.judge_reason}"
        text += f" ({_files(candidate)}"
        if candidate.check is not None:
            text += f"; check {candidate.check}"
        lines.append(text + ")")
    return lines


def _files(candidate: Candidate) -> str:
    files = sorted({e.path for e in candidate.edits})
    return f"changes {', '.join(_code(f) for f in files)}" if files else "no change"


_AFRESH = "`--no-cache` (in the editor: *run again without the cache*) asks afresh"

_CONTAINMENT = {
    "os": "contained by the OS (bubblewrap)",
    "detect": "checked for changes outside its sandbox",
    "off": "not contained",
}


def _finding_lines(finding: Finding) -> list[str]:
    """A finding as a list item; when its reviewers' fixes differ, each fix under it."""
    code = f" `{finding.code}`" if finding.code else ""
    notes = [finding.reported_by] if finding.reported_by else []
    if finding.raised_from is not None:
        notes.append(f"raised from {finding.raised_from}")
    by = f" ({'; '.join(notes)})" if notes else ""
    lines = [f"- **{finding.severity}** {finding.where}{code}: {finding.message}{by}"]
    if finding.alternatives and finding.suggestion is not None:
        own = Suggestion(
            agent=finding.agent or "the reviewer",
            line=finding.line,
            end_line=finding.end_line,
            text=finding.suggestion,
        )
        lines += _suggestion_lines(own, "suggests")
        for other in finding.alternatives:
            lines += _suggestion_lines(other, "suggests instead")
    return lines


def _suggestion_lines(suggestion: Suggestion, says: str) -> list[str]:
    if not suggestion.text.strip():
        return [f"  - {suggestion.agent} {says}: delete {suggestion.lines}"]
    head = f"  - {suggestion.agent} {says} for {suggestion.lines}:"
    return [head, *_fenced(suggestion.text, "    ")]


def _fenced(text: str, indent: str) -> list[str]:
    """``text`` as a fenced code block no line of it can close (an agent wrote it)."""
    runs = re.findall(r"`{3,}", text)
    fence = "`" * max([3] + [len(run) + 1 for run in runs])
    return [indent + fence, *(indent + line for line in text.splitlines()), indent + fence]


def _duration(result: TaskResult | None) -> str:
    if result is None:
        return "-"
    return "cached" if result.cached else f"{result.duration_s:.1f}s"


def _code(text: str) -> str:
    """``text`` as a markdown code span, whatever backticks it holds (an agent chose it)."""
    runs = re.findall(r"`+", text)
    if not runs:
        return f"`{text}`"
    fence = "`" * (max(len(run) for run in runs) + 1)
    return f"{fence} {text} {fence}"


def _usage(usage: Usage) -> dict[str, Any]:
    return {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cost_usd": usage.cost_usd,
        "premium_requests": usage.premium_requests,
        "estimated": usage.estimated,
    }
