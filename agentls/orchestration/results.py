"""Domain types that flow unchanged from adapters to the CLI and the language server.

Line numbers are the file's own and 1-based everywhere in this module; conversion to LSP's
0-based positions happens once, at the server edge.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


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

    @property
    def last_line(self) -> int:
        return self.end_line if self.end_line is not None else self.line


class ProposedEdit(BaseModel):
    """A change to one file, relative to the workspace root (posix separators).

    ``replace`` with a ``range`` replaces those lines of the original; without a range it
    replaces the whole file. ``create`` makes a new file; ``delete`` removes one.
    """

    path: str
    kind: Literal["replace", "create", "delete"] = "replace"
    range: LineRange | None = None
    new_text: str = ""


class Usage(BaseModel):
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None
    premium_requests: float | None = None


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

    @property
    def retryable(self) -> bool:
        return self in (ErrorKind.RATE_LIMIT, ErrorKind.TRANSIENT)


class TaskError(BaseModel):
    """Why a task failed. ``message`` says what happened and what to do about it."""

    kind: ErrorKind
    message: str


class TaskResult(BaseModel):
    agent: str
    task: TaskKind
    status: Literal["ok", "failed"] = "ok"
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

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def failed(self, error: TaskError) -> TaskResult:
        return self.model_copy(update={"status": "failed", "error": error})
