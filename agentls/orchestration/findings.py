"""Review findings from an agent's reply (the contract in docs/findings.md).

The reply should hold ``{"findings": [...]}`` (or a bare list), possibly inside prose or a
fenced block, possibly followed by more text. Failing that, ``path:line: severity: message``
lines are read. Anything else is reported as bad output, never raised.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from agentls.domain.results import Finding, Severity

_FENCE = re.compile(r"^[ \t]*(```|~~~)[^\n]*\n(.*?)^[ \t]*\1[ \t]*$", re.MULTILINE | re.DOTALL)
_LINE_FINDING = re.compile(
    r"^\s*(?:[-*]\s+)?(?P<path>[^\s:]+):(?P<line>\d+)(?::(?P<col>\d+))?:\s*"
    r"(?:(?P<severity>error|warning|warn|info|information|note|hint)\s*(?:\[(?P<code>[^\]]+)\])?:\s*)?"
    r"(?P<message>\S.*)$",
    re.IGNORECASE | re.MULTILINE,
)
_SEVERITY_WORDS = {
    "error": Severity.ERROR,
    "critical": Severity.ERROR,
    "blocker": Severity.ERROR,
    "high": Severity.ERROR,
    "major": Severity.ERROR,
    "warning": Severity.WARNING,
    "warn": Severity.WARNING,
    "medium": Severity.WARNING,
    "info": Severity.INFO,
    "information": Severity.INFO,
    "low": Severity.INFO,
    "minor": Severity.INFO,
    "note": Severity.INFO,
    "suggestion": Severity.HINT,
    "hint": Severity.HINT,
    "nit": Severity.HINT,
    "style": Severity.HINT,
}


@dataclass
class ParsedFindings:
    findings: list[Finding] = field(default_factory=list)
    found_contract: bool = False
    """True when the reply held findings JSON or finding lines (even an empty list)."""
    skipped: list[str] = field(default_factory=list)
    """Why entries were left out (bad line numbers, no message)."""


def parse_findings(text: str, default_path: str, line_count: int | None = None) -> ParsedFindings:
    """Findings in ``text``; entries without a path are about ``default_path``."""
    result = ParsedFindings()
    for value in _json_candidates(text):
        items = _finding_items(value)
        if items is None:
            continue
        result.found_contract = True
        for index, item in enumerate(items):
            finding = _finding_from_json(item, default_path, line_count, result.skipped, index)
            if finding is not None:
                result.findings.append(finding)
        return result
    for match in _LINE_FINDING.finditer(text):
        result.found_contract = True
        line = int(match["line"])
        if match["path"] == default_path and line_count is not None and line > line_count:
            result.skipped.append(f"line {line} is past the end of the file")
            continue
        result.findings.append(
            Finding(
                path=match["path"].strip(),
                line=line,
                severity=_severity(match["severity"]),
                message=match["message"].strip(),
                code=match["code"],
            )
        )
    return result


def _json_candidates(text: str) -> Iterator[Any]:
    """JSON values in the reply: fenced blocks first, then the first decodable value in prose."""
    for match in _FENCE.finditer(text):
        try:
            yield json.loads(match.group(2))
        except ValueError:
            continue
    decoder = json.JSONDecoder()
    for match in re.finditer(r"[\[{]", text):
        try:
            value, _ = decoder.raw_decode(text, match.start())
        except ValueError:
            continue
        if _finding_items(value) is not None:
            yield value
            return


def _finding_items(value: Any) -> list[Any] | None:
    if isinstance(value, dict):
        for key in ("findings", "issues", "comments"):
            if isinstance(value.get(key), list):
                return list(value[key])
        return None
    if isinstance(value, list) and all(isinstance(item, dict) for item in value):
        if value and not any("message" in item or "line" in item for item in value):
            return None
        return list(value)
    return None


def findings_from_items(
    items: Sequence[Any], default_path: str, line_count: int | None = None
) -> ParsedFindings:
    """Findings from the contract's entries given one by one (an ACP agent's
    ``report_finding`` calls), checked as the entries of a reply's JSON are."""
    result = ParsedFindings(found_contract=bool(items))
    for index, item in enumerate(items):
        finding = _finding_from_json(item, default_path, line_count, result.skipped, index)
        if finding is not None:
            result.findings.append(finding)
    return result


def _finding_from_json(
    item: Any, default_path: str, line_count: int | None, skipped: list[str], index: int
) -> Finding | None:
    if not isinstance(item, dict):
        skipped.append(f"entry {index} is not an object")
        return None
    line = _int(item.get("line", item.get("start_line")))
    message = item.get("message") or item.get("body") or item.get("description")
    if line is None or line < 1:
        skipped.append(f"entry {index} has no valid line number")
        return None
    path = str(item.get("path") or item.get("file") or default_path)
    if path == default_path and line_count is not None and line > line_count:
        skipped.append(f"entry {index}: line {line} is past the end of the file ({line_count})")
        return None
    if not isinstance(message, str) or not message.strip():
        skipped.append(f"entry {index} has no message")
        return None
    end_line = _int(item.get("end_line"))
    if end_line is not None and end_line < line:
        end_line = None
    if end_line is not None and path == default_path and line_count and end_line > line_count:
        end_line = line_count
    suggestion = item.get("suggestion")
    code = item.get("code")
    return Finding(
        path=path,
        line=line,
        end_line=end_line,
        severity=_severity(item.get("severity")),
        message=message.strip(),
        code=str(code) if code not in (None, "") else None,
        suggestion=suggestion if isinstance(suggestion, str) else None,
    )


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _severity(value: Any) -> Severity:
    if isinstance(value, str):
        return _SEVERITY_WORDS.get(value.strip().lower(), Severity.WARNING)
    return Severity.WARNING
