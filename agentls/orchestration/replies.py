"""What a reply means for its task: review -> findings, implement/refine -> edits. Adapters
return what the agent said; this reads it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentls.adapters.base import Adapter, TaskRequest
from agentls.domain.config import Settings
from agentls.domain.edits import diff_edits
from agentls.domain.errors import UnsafePathError
from agentls.domain.lines import line_count
from agentls.domain.paths import printable, protected_reason, workspace_relative
from agentls.domain.results import (
    ErrorKind,
    Finding,
    LineRange,
    ProposedEdit,
    RefusedPath,
    TaskError,
    TaskKind,
    TaskResult,
    TaskStatus,
)
from agentls.domain.textfile import text_or_none
from agentls.orchestration.code_blocks import edits_from_blocks
from agentls.orchestration.findings import findings_from_items, parse_findings


def read_reply(
    result: TaskResult, request: TaskRequest, adapter: Adapter, settings: Settings
) -> TaskResult:
    """``result`` with its reply read for the task: findings or edits (unless the tool gave
    findings itself), and a bad output's error saying when the output was cut short."""
    error = result.error
    update: dict[str, object] = {}
    if error is None and result.written and request.task in (TaskKind.IMPLEMENT, TaskKind.REFINE):
        update = {"edits": _written(result.written, request)}
    elif error is None and not adapter.gives_findings:
        interpreted = interpret_reply(
            request.task,
            result.text,
            request.workspace,
            request.target,
            request.file_text,
            request.selection,
            agentic=request.write,
            protected=settings.protected_paths,
            reported=result.reported,
        )
        findings = [f.model_copy(update={"agent": result.agent}) for f in interpreted.findings]
        error = interpreted.error
        update = {"findings": findings, "edits": interpreted.edits, "refused": interpreted.refused}
    if error is not None and error.kind is ErrorKind.BAD_OUTPUT and result.output_truncated:
        error = error.model_copy(
            update={
                "message": f"{error.message}; the output passed settings.max_output_bytes "
                f"({settings.max_output_bytes} bytes) and its start was dropped"
            }
        )
    if error is not result.error:
        update |= {"error": error, "status": TaskStatus.FAILED}
    return result.model_copy(update=update) if update else result


@dataclass
class Interpreted:
    findings: list[Finding] = field(default_factory=list)
    edits: list[ProposedEdit] = field(default_factory=list)
    error: TaskError | None = None
    refused: list[RefusedPath] = field(default_factory=list)


def interpret_reply(
    task: TaskKind,
    text: str,
    workspace: Path,
    target: str,
    file_text: str,
    selection: LineRange | None,
    agentic: bool = False,
    protected: Sequence[str] = (),
    reported: Sequence[dict[str, Any]] = (),
) -> Interpreted:
    """Findings or edits from a reply. ``agentic``: the agent edits files itself (in a
    sandbox), so its edits come from the sandbox's diff, not from code blocks.
    ``protected``: the user's ``settings.protected_paths``. ``reported``: findings an ACP
    agent reported with agentls's tool, besides any in the text."""
    if task is TaskKind.REVIEW:
        return _review(text, workspace, target, file_text, protected, reported)
    if task in (TaskKind.IMPLEMENT, TaskKind.REFINE) and not agentic:
        blocks = edits_from_blocks(text, workspace, target, file_text, selection, protected)
        if blocks.blocks == 0:
            return Interpreted(
                error=TaskError(
                    kind=ErrorKind.BAD_OUTPUT,
                    message="the reply has no fenced code block, so there is no change to "
                    "propose; ask again with a clearer instruction, or use another agent",
                )
            )
        if blocks.refused and not blocks.edits:
            message = "; ".join(str(r) for r in blocks.refused)
            return Interpreted(
                error=TaskError(kind=ErrorKind.BAD_OUTPUT, message=message),
                refused=blocks.refused,
            )
        return Interpreted(edits=blocks.edits, refused=blocks.refused)
    return Interpreted()


def _review(
    text: str,
    workspace: Path,
    target: str,
    file_text: str,
    protected: Sequence[str],
    reported: Sequence[dict[str, Any]] = (),
) -> Interpreted:
    lines = max(1, line_count(file_text))
    parsed = parse_findings(text, target, line_count=lines)
    told = findings_from_items(reported, target, line_count=lines)
    parsed.findings.extend(told.findings)
    if not parsed.found_contract and not told.found_contract:
        excerpt = " ".join(text.split())[:120] or "an empty reply"
        return Interpreted(
            error=TaskError(
                kind=ErrorKind.BAD_OUTPUT,
                message=f"the review reply holds no findings JSON (it began: {excerpt!r}); "
                "the agent did not follow the findings contract (docs/findings.md)",
            )
        )
    findings = []
    refused: list[RefusedPath] = []
    for finding in parsed.findings:
        try:
            path = workspace_relative(workspace, finding.path)
        except UnsafePathError:
            continue
        if path != target and not (workspace / path).is_file():
            continue  # a finding about a file that does not exist cannot be shown anywhere
        update: dict[str, str | None] = {"path": path}
        reason = protected_reason(workspace, path, protected)
        if reason is not None and finding.suggestion is not None:
            # the finding is shown; its fix would be agent output written to the path
            update["suggestion"] = None
            refused.append(
                RefusedPath(path=printable(path), reason=f"{reason}; its fix was dropped")
            )
        findings.append(finding.model_copy(update=update))
    return Interpreted(findings=findings, refused=refused)


def _written(written: dict[str, str], request: TaskRequest) -> list[ProposedEdit]:
    """The edits that turn what the step saw into what the agent wrote through the protocol
    (ACP ``fs/write_text_file``; its paths were checked when written), file by file."""
    seen = {file.path: file.text for file in request.files}
    edits: list[ProposedEdit] = []
    for path, text in written.items():
        before = request.overlay.get(path, seen.get(path))
        if before is None:
            before = text_or_none(request.workspace / path, path) or ""
        edits.extend(diff_edits(path, before, text))
    return edits
