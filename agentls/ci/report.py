"""One CI review's outcome, as the formats show it and as shard results merge.

A report holds what the formats need and nothing of the machine it ran on but the workspace
folder: the findings kept (on the changed lines, by default), each with a fingerprint that
stays the same when lines above it move, the agents that ran with their versions, the cost,
and the proposed changes as diffs. ``agentls ci --format json`` writes it; ``agentls ci
merge`` reads several and joins them (``merge``), so a matrix's shards make the report one
job would have made.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

from agentls.domain.errors import TaskInputError
from agentls.domain.lines import lines as text_lines
from agentls.domain.results import Finding, Severity, Usage, total_usage

REPORT_VERSION = 1


class Scope(StrEnum):
    CHANGED_LINES = "changed-lines"
    CHANGED_FILES = "changed-files"
    ALL = "all"


class Gate(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    NEVER = "never"


EXIT_CLEAN = 0
EXIT_FINDINGS = 1
EXIT_BAD_INPUT = 2
EXIT_AGENT_FAILED = 3


class Tool(BaseModel):
    """An agent that reviewed: its name in the configuration, its CLI's version, its home."""

    name: str
    version: str
    information_uri: str
    succeeded: bool = True
    """False when one of its steps failed: its findings are not all there."""


class CiFinding(Finding):
    fingerprint: str
    """Stable across runs while the finding's own line and message stay (see
    ``fingerprint``)."""


class CiReport(BaseModel):
    report_version: int = REPORT_VERSION
    workflow: str
    base: str | None = None
    scope: Scope = Scope.CHANGED_LINES
    shards: list[str] = Field(default_factory=list)
    """The shards this report covers (``2/4``); empty: one job reviewed everything."""
    root: str
    """The workspace folder the paths are relative to."""
    status: Literal["ok", "failed"] = "ok"
    failures: list[str] = Field(default_factory=list)
    """Each failed step: ``step (agent): why``."""
    files: list[str] = Field(default_factory=list)
    findings: list[CiFinding] = Field(default_factory=list)
    tools: list[Tool] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    proposals: dict[str, str] = Field(default_factory=dict)
    """Each file a step proposed to change: its unified diff."""
    run_ids: list[str] = Field(default_factory=list)

    def at_or_above(self, gate: Gate) -> list[CiFinding]:
        if gate is Gate.NEVER:
            return []
        levels = {Severity.ERROR} | ({Severity.WARNING} if gate is Gate.WARNING else set())
        return [f for f in self.findings if f.severity in levels]

    def exit_code(self, gate: Gate) -> int:
        """3 when an agent failed (the review is not complete), 1 when a finding is at or
        above ``gate``, else 0."""
        if self.status == "failed":
            return EXIT_AGENT_FAILED
        return EXIT_FINDINGS if self.at_or_above(gate) else EXIT_CLEAN


def fingerprinted(
    findings: Iterable[Finding], text_of: Callable[[str], str | None]
) -> list[CiFinding]:
    """``findings`` with their fingerprints, in a stable order; ``text_of(path)`` is a file's
    text (None when it cannot be read: then its line text counts as empty)."""
    texts: dict[str, list[str]] = {}
    seen: dict[str, int] = {}
    kept = []
    for finding in sorted(findings, key=_order):
        if finding.path not in texts:
            texts[finding.path] = text_lines(text_of(finding.path) or "")
        own = texts[finding.path][finding.line - 1 : finding.last_line]
        base = fingerprint(finding, own)
        seen[base] = seen.get(base, 0) + 1
        kept.append(CiFinding(**finding.model_dump(), fingerprint=f"{base}:{seen[base]}"))
    return kept


def fingerprint(finding: Finding, own_lines: Sequence[str]) -> str:
    """A hash of the path, rule, message (whitespace and case folded) and the text of the
    finding's own lines (stripped): not of its line number, so moving it keeps it. The Nth
    finding with the same hash in a report gets ``:N`` after it."""
    message = " ".join(finding.message.split()).casefold()
    text = "\n".join(line.strip() for line in own_lines)
    parts = [finding.path, rule_id(finding), message, text]
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogateescape")).hexdigest()[:32]


_SLUG = re.compile(r"[^a-z0-9]+")


def rule_id(finding: Finding) -> str:
    """The finding's code, or a slug of its reviewer's name (``claude-review``)."""
    if finding.code:
        return finding.code
    return (
        _SLUG.sub("-", (finding.agent or "agentls").lower()).strip("-") or "agentls"
    ) + "-review"


def _order(finding: Finding) -> tuple[str, int, int, str, str, str]:
    return (
        finding.path, finding.line, finding.last_line, finding.code or "", finding.message,
        finding.agent or "",
    )  # fmt: skip


def merge(reports: Sequence[CiReport]) -> CiReport:
    """Shard reports joined: every file, finding and proposal once, the cost summed.
    ``TaskInputError`` when they come from different reviews or a shard is given twice."""
    if not reports:
        raise TaskInputError("give the JSON reports to merge (agentls ci --format json)")
    first = reports[0]
    for report in reports[1:]:
        if (report.workflow, report.base, report.scope) != (
            first.workflow,
            first.base,
            first.scope,
        ):
            raise TaskInputError(
                "these reports come from different reviews (workflow, base or scope differ); "
                "merge the shards of one review"
            )
    shards = [shard for report in reports for shard in report.shards]
    twice = sorted({shard for shard in shards if shards.count(shard) > 1})
    if twice:
        raise TaskInputError(f"shard {twice[0]} is given twice; give each shard's report once")
    findings = {(f.fingerprint, f.path, f.line): f for r in reports for f in r.findings}
    tools = {tool.name: tool for r in reversed(reports) for tool in r.tools}
    return CiReport(
        workflow=first.workflow,
        base=first.base,
        scope=first.scope,
        shards=sorted(shards, key=lambda s: tuple(int(n) for n in s.split("/"))[::-1]),
        root=first.root,
        status="failed" if any(r.status == "failed" for r in reports) else "ok",
        failures=[failure for r in reports for failure in r.failures],
        files=sorted({path for r in reports for path in r.files}),
        findings=sorted(findings.values(), key=_order),
        tools=sorted(tools.values(), key=lambda tool: tool.name),
        usage=total_usage(r.usage for r in reports),
        proposals=dict(sorted({p: d for r in reports for p, d in r.proposals.items()}.items())),
        run_ids=[run for r in reports for run in r.run_ids],
    )
