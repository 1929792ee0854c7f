"""The formats ``agentls ci`` writes, by name: each renders a report as text, and has a file
name for when several go to a folder."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from agentls.ci.annotations import workflow_commands
from agentls.ci.markdown import markdown
from agentls.ci.report import CiReport
from agentls.ci.sarif import sarif
from agentls.domain.errors import TaskInputError
from agentls.redaction import Redactor, redact


@dataclass(frozen=True)
class Format:
    name: str
    file_name: str
    render: Callable[[CiReport], str]


def _json(value: object) -> str:
    return Redactor.current().json(value, ensure_ascii=False, indent=2) + "\n"


FORMATS = {
    f.name: f
    for f in (
        Format("sarif", "agentls.sarif", lambda report: _json(sarif(report))),
        Format(
            "github", "agentls-annotations.txt", lambda report: redact(workflow_commands(report))
        ),
        Format("json", "agentls.json", lambda report: _json(report.model_dump(mode="json"))),
        Format("markdown", "agentls.md", lambda report: redact(markdown(report))),
    )
}


def parse_formats(text: str) -> list[Format]:
    """``sarif,github``: each once, in the order given."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in FORMATS]
    if unknown or not names:
        what = f"unknown format {unknown[0]!r}" if unknown else "--format names no format"
        raise TaskInputError(f"{what}; give one or more of {', '.join(FORMATS)}, comma-separated")
    return [FORMATS[name] for name in dict.fromkeys(names)]
