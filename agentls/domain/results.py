"""Domain types that flow unchanged from adapters to the CLI and the language server.

Line numbers are the file's own and 1-based everywhere in this module; conversion to LSP's
0-based positions happens once, at the server edge.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agentls.domain.budget import Budget


class TaskKind(StrEnum):
    IMPLEMENT = "implement"
    REVIEW = "review"
    REFINE = "refine"
    EXPLAIN = "explain"


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"
    HINT = "hint"


class LineRange(BaseModel):
    """Lines ``start`` to ``end``, both included. ``end == start - 1`` is the empty range
    just before ``start`` (an insertion point)."""

    model_config = ConfigDict(frozen=True)

    start: int = Field(ge=1)
    end: int = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> LineRange:
        if self.end < self.start - 1:
            raise ValueError(f"range end {self.end} is before its start {self.start}")
        return self

    def __str__(self) -> str:
        return f"{self.start}-{self.end}"


class Suggestion(BaseModel):
    """A reviewer's replacement for lines ``line``..``end_line``: the other side of a
    finding on which reviewers agree but whose fixes differ."""

    agent: str
    line: int = Field(ge=1)
    end_line: int | None = None
    text: str

    @property
    def last_line(self) -> int:
        return self.end_line if self.end_line is not None else self.line

    @property
    def lines(self) -> str:
        """``line 6`` or ``lines 6-7``."""
        if self.last_line == self.line:
            return f"line {self.line}"
        return f"lines {self.line}-{self.last_line}"


class Finding(BaseModel):
    """One review finding. ``suggestion`` replaces lines ``line``..``end_line`` when present."""

    path: str
    line: int = Field(ge=1)
    end_line: int | None = None
    severity: Severity = Severity.WARNING
    message: str
    code: str | None = None
    suggestion: str | None = None
    agent: str | None = None
    """The reviewer that reported it (when several did, the one whose suggestion it has)."""
    agents: list[str] = Field(default_factory=list)
    """The reviewers that agree on it when several reported it (see ``merge``), else empty."""
    reported_severity: Severity | None = None
    """When several reviewers agree: the most severe of their reports (``severity`` is one
    level above it; an error stays an error)."""
    unconfirmed: bool = False
    """Several reviewers reviewed its lines in the same round and only ``agent`` reported it."""
    alternatives: list[Suggestion] = Field(default_factory=list)
    """Other agreeing reviewers' suggestions that differ from ``suggestion``."""

    @property
    def last_line(self) -> int:
        return self.end_line if self.end_line is not None else self.line

    @property
    def where(self) -> str:
        """``path:line``, or ``path:line-end`` when it spans lines."""
        spans = self.end_line and self.end_line != self.line
        return f"{self.path}:{self.line}" + (f"-{self.end_line}" if spans else "")

    @property
    def raised_from(self) -> Severity | None:
        """The severity the reviewers reported when their agreement raised it, else None."""
        if self.reported_severity is None or self.reported_severity == self.severity:
            return None
        return self.reported_severity

    @property
    def reported_by(self) -> str:
        """Who reported it, as shown to the user: ``gemini``, ``confirmed by gemini and
        claude``, ``only claude reported this`` (others reviewed and did not) or ""."""
        if len(self.agents) > 1:
            return "confirmed by " + and_list(self.agents)
        if self.unconfirmed and self.agent:
            return f"only {self.agent} reported this"
        return self.agent or ""


def and_list(names: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


class ProposedEdit(BaseModel):
    """A change to one file, relative to the workspace root (posix separators).

    ``replace`` with a ``range`` replaces those lines of the original; without a range it
    replaces the whole file. ``create`` makes a new file; ``delete`` removes one.
    """

    path: str
    kind: Literal["replace", "create", "delete"] = "replace"
    range: LineRange | None = None
    new_text: str = ""


class RefusedPath(BaseModel):
    """A path agent output named that agentls did not change, and why."""

    path: str
    reason: str
    agent: str | None = None

    def __str__(self) -> str:
        return f"refused {self.path}: {self.reason}"


class Usage(BaseModel):
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None
    premium_requests: float | None = None
    estimated: bool = False
    """The tokens (and a cost priced from them) are agentls's estimate, one token per four
    characters of prompt and reply: the CLI reported none."""

    @property
    def tokens(self) -> int:
        return (self.input_tokens or 0) + (self.output_tokens or 0)


class ErrorKind(StrEnum):
    MISSING_BINARY = "missing_binary"
    AUTH = "auth"
    RATE_LIMIT = "rate_limit"
    TRANSIENT = "transient"
    TIMEOUT = "timeout"
    BAD_OUTPUT = "bad_output"
    CRASH = "crash"
    AGENT_ERROR = "agent_error"
    UNSUPPORTED = "unsupported"
    ESCAPED = "escaped"
    """An agentic step's agent changed files outside its sandbox (see ``containment``)."""
    SESSION_LOST = "session_lost"
    """The session to resume is not there (the CLI lost it, or keeps it elsewhere); the
    runtime then runs the task in a new session."""

    @property
    def retryable(self) -> bool:
        return self in (ErrorKind.RATE_LIMIT, ErrorKind.TRANSIENT)


class TaskStatus(StrEnum):
    OK = "ok"
    FAILED = "failed"


class StepStatus(StrEnum):
    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"
    """Its condition was false, its agent declined the file, or a sibling failed first."""


class RunStatus(StrEnum):
    OK = "ok"
    FAILED = "failed"
    """A required step failed."""
    CANCELLED = "cancelled"
    PARTIAL = "partial"
    """Only optional steps failed."""


class StopReason(StrEnum):
    """Why a workflow stopped."""

    COMPLETED = "completed"
    BELOW_THRESHOLD = "below_threshold"
    """The review cycle found fewer findings than ``min_suggestions_threshold``."""
    MAX_ITERATIONS = "max_iterations"
    STEP_FAILED = "step_failed"
    CANCELLED = "cancelled"
    BUDGET = "budget"
    """A budget's cap was reached, or the next step would have gone past it (partial)."""


class TaskError(BaseModel):
    """Why a task failed. ``message`` says what happened and what to do about it."""

    kind: ErrorKind
    message: str


class PermissionDecision(BaseModel):
    """What an ACP agent asked to do, and what it was told (audited, and in the report)."""

    kind: str
    """The tool kind the agent gave (read, edit, execute, ...)."""
    title: str
    paths: list[str] = Field(default_factory=list)
    allowed: bool
    by: Literal["policy", "user", "nobody"]
    """Who decided: the permission policy, the user asked, or nobody to ask (denied)."""
    reason: str


class TaskResult(BaseModel):
    agent: str
    task: TaskKind
    status: TaskStatus = TaskStatus.OK
    text: str = ""
    findings: list[Finding] = Field(default_factory=list)
    edits: list[ProposedEdit] = Field(default_factory=list)
    changed_files: list[str] = Field(default_factory=list)
    session_id: str | None = None
    usage: Usage = Field(default_factory=Usage)
    duration_s: float = 0.0
    exit_code: int | None = None
    output_truncated: bool = False
    attempts: int = 1
    error: TaskError | None = None
    refused: list[RefusedPath] = Field(default_factory=list)
    """Paths the agent's output named that it may not change (see ``paths``)."""
    containment: Literal["os", "detect", "off"] | None = None
    """How the agent was contained (see ``containment``): an agentic step's as its setting
    says; ``os`` for a step that may not write when bubblewrap kept the workspace read-only;
    None when only the CLI's own read-only flags held it."""
    cached: bool = False
    """The answer came from the result cache (``agentls.cache``): no agent ran for it."""
    notes: list[str] = Field(default_factory=list)
    """What the user should know about how it ran (a session that could not be resumed)."""
    permissions: list[PermissionDecision] = Field(default_factory=list)
    """What an ACP agent asked permission for, and the answers."""
    written: dict[str, str] = Field(default_factory=dict)
    """Files an ACP agent wrote through the protocol in a step that is not agentic
    (workspace-relative path -> text): never on disk, they become the step's edits."""
    reported: list[dict[str, Any]] = Field(default_factory=list)
    """Findings an ACP agent reported with agentls's ``report_finding`` tool, as it sent them:
    the review's findings once checked (``orchestration.replies``)."""

    @property
    def ok(self) -> bool:
        return self.status == TaskStatus.OK

    def failed(self, error: TaskError) -> TaskResult:
        return self.model_copy(update={"status": TaskStatus.FAILED, "error": error})


def combine_results(results: list[TaskResult]) -> TaskResult:
    """One step's results on several files as one: everything each found, proposed and used;
    failed when one failed (its error), with every file's text; cached when all were."""
    first = results[0]
    failed = next((r for r in results if not r.ok), None)
    fresh = [r for r in results if not r.cached] or results  # a cached answer cost nothing
    usage = total_usage(r.usage for r in fresh)
    return first.model_copy(
        update={
            "status": TaskStatus.FAILED if failed else TaskStatus.OK,
            "text": "\n\n".join(r.text for r in results if r.text),
            "findings": [f for r in results for f in r.findings],
            "edits": [e for r in results for e in r.edits],
            "changed_files": list(dict.fromkeys(p for r in results for p in r.changed_files)),
            "session_id": None,  # one per file: none of them continues the whole
            "usage": usage,
            "duration_s": max(r.duration_s for r in results),
            "exit_code": failed.exit_code if failed else first.exit_code,
            "output_truncated": any(r.output_truncated for r in results),
            "attempts": max(r.attempts for r in results),
            "error": failed.error if failed else None,
            "refused": [p for r in results for p in r.refused],
            "cached": all(r.cached for r in results),
            "notes": list(dict.fromkeys(n for r in results for n in r.notes)),
            "permissions": [d for r in results for d in r.permissions],
            "written": {path: text for r in results for path, text in r.written.items()},
            "reported": [f for r in results for f in r.reported],
        }
    )


class StepRecord(BaseModel):
    """One step as it ran (or did not) in one iteration of a workflow."""

    step: str
    agent: str
    task: TaskKind
    iteration: int
    status: StepStatus
    optional: bool = False
    reason: str = ""
    """Why it was skipped or failed, or what was refused."""
    result: TaskResult | None = None
    role: Literal["step", "candidate", "judge"] = "step"
    """A best_of step's candidate or judge, or any other step."""


class CheckOutcome(BaseModel):
    """A best_of ``check`` run on one candidate's proposal, in a scratch copy."""

    exit_code: int | None = None
    """None: it did not finish (see ``error``)."""
    output: str = ""
    """The end of what it printed, stdout then stderr."""
    error: str | None = None
    """Why there is no exit code: it could not start, timed out, or wrote outside its copy."""

    @property
    def passed(self) -> bool:
        return self.exit_code == 0

    def __str__(self) -> str:
        if self.error is not None:
            return self.error
        return "passed" if self.passed else f"failed with exit code {self.exit_code}"


class Candidate(BaseModel):
    """One proposal of a best_of step."""

    index: int = Field(ge=1)
    """Its number, from 1, in the order the candidates are listed."""
    agent: str
    step: str
    """Its step record's id, e.g. ``best_of#2``."""
    status: StepStatus
    reason: str = ""
    """Why it failed."""
    edits: list[ProposedEdit] = Field(default_factory=list)
    """What applying it writes: the run's change with this candidate's, relative to the files
    as they were when the run started (steps after the best_of built on the pick only)."""
    rank: int | None = None
    """1: the judge's pick. None: it failed (never ranked)."""
    judge_reason: str = ""
    check: CheckOutcome | None = None
    usage: Usage = Field(default_factory=Usage)

    @property
    def label(self) -> str:
        """``candidate 2 of 3 (claude)``-style name, without the total."""
        return f"candidate {self.index} ({self.agent})"


class WorkflowResult(BaseModel):
    run_id: str
    workflow: str
    status: RunStatus
    stop_reason: StopReason
    iterations: int = 0
    steps: list[StepRecord] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    """The latest review round's findings, merged across agents and de-duplicated."""
    edits: list[ProposedEdit] = Field(default_factory=list)
    """The final change, relative to the files as they were when the run started."""
    usage_by_agent: dict[str, Usage] = Field(default_factory=dict)
    duration_s: float = 0.0
    summary: str = ""
    originals: dict[str, str | None] = Field(default_factory=dict)
    """Each edited file's text when the run started (None: it did not exist)."""
    refused: list[RefusedPath] = Field(default_factory=list)
    """Paths the agents' output named that they may not change; the other edits stand."""
    files: list[str] = Field(default_factory=list)
    """The files the run covered, workspace-relative."""
    candidates: list[Candidate] = Field(default_factory=list)
    """The latest best_of step's proposals, the judge's pick first, failed ones last; the
    pick's edits are in ``edits``."""
    budget: Budget | None = None
    """The caps that held for the run (the tightest of the workflow's, the settings' and the
    run's own); agents' own shares are in the configuration."""
    stopped: str = ""
    """Why the run stopped early, in one line naming the cap (stop reason ``budget``)."""

    @property
    def usage(self) -> Usage:
        return total_usage(self.usage_by_agent.values())

    @property
    def cached_steps(self) -> list[StepRecord]:
        """The steps answered from the result cache: no agent ran for them."""
        return [r for r in self.steps if r.result is not None and r.result.cached]

    @property
    def cached_reviewers(self) -> set[str]:
        """The agents whose latest review answer came from the result cache."""
        latest: dict[str, bool] = {}
        for record in self.steps:
            if record.task is TaskKind.REVIEW and record.status == "ok" and record.result:
                latest[record.agent] = record.result.cached
        return {agent for agent, cached in latest.items() if cached}


def total_usage(usages: Iterable[Usage]) -> Usage:
    total = Usage()
    for usage in usages:
        total.estimated = total.estimated or usage.estimated
        for field in ("input_tokens", "output_tokens", "cost_usd", "premium_requests"):
            value = getattr(usage, field)
            if value is not None:
                setattr(total, field, (getattr(total, field) or 0) + value)
    return total
