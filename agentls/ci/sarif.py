"""A CI report as SARIF 2.1.0: one run per agent, for GitHub code scanning and other viewers.

Each result has its rule (the finding's code, or its reviewer's slug), a level, a region in
a file given by a relative, percent-encoded posix URI against ``%SRCROOT%``, a
``partialFingerprints`` entry that survives lines moving above it (code scanning de-duplicates
re-runs by it), and, for a finding with a suggested replacement, a fix that replaces its lines.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from agentls import __version__
from agentls.ci.report import CiFinding, CiReport, Tool, rule_id
from agentls.domain.results import Severity

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
FINGERPRINT_KEY = "agentlsFinding/v1"
SRCROOT = "%SRCROOT%"
_LEVELS = {
    Severity.ERROR: "error",
    Severity.WARNING: "warning",
    Severity.INFO: "note",
    Severity.HINT: "note",
}


def sarif(report: CiReport) -> dict[str, Any]:
    """The SARIF log: a run for each agent that reviewed, its findings as results."""
    by_agent: dict[str, list[CiFinding]] = {tool.name: [] for tool in report.tools}
    for finding in report.findings:
        by_agent.setdefault(finding.agent or "agentls", []).append(finding)
    tools = {tool.name: tool for tool in report.tools}
    runs = [
        _run(report, tools.get(name) or Tool(name=name, version="unknown", information_uri=""),
             findings)
        for name, findings in by_agent.items()
    ]  # fmt: skip
    return {"$schema": SCHEMA, "version": "2.1.0", "runs": runs}


def _run(report: CiReport, tool: Tool, findings: list[CiFinding]) -> dict[str, Any]:
    rules: dict[str, int] = {}
    for finding in findings:
        rules.setdefault(rule_id(finding), len(rules))
    driver: dict[str, Any] = {
        "name": tool.name,
        "version": tool.version,
        "rules": [{"id": rule, "name": rule} for rule in rules],
        "properties": {"agentls": __version__, "workflow": report.workflow},
    }
    if tool.information_uri:
        driver["informationUri"] = tool.information_uri
    category = f"agentls/{report.workflow}/" + (
        "shard-" + "+".join(s.replace("/", "-of-") for s in report.shards) + "/"
        if report.shards
        else ""
    )
    return {
        "tool": {"driver": driver},
        "automationDetails": {"id": category},
        "originalUriBaseIds": {SRCROOT: {"uri": Path(report.root).as_uri().rstrip("/") + "/"}},
        "invocations": [{"executionSuccessful": tool.succeeded}],
        "results": [_result(finding, rules) for finding in findings],
        "columnKind": "unicodeCodePoints",
    }


def _result(finding: CiFinding, rules: dict[str, int]) -> dict[str, Any]:
    rule = rule_id(finding)
    location = {"uri": uri(finding.path), "uriBaseId": SRCROOT}
    region = {"startLine": finding.line, "endLine": finding.last_line}
    result: dict[str, Any] = {
        "ruleId": rule,
        "ruleIndex": rules[rule],
        "level": _LEVELS[finding.severity],
        "message": {"text": finding.message},
        "locations": [{"physicalLocation": {"artifactLocation": location, "region": region}}],
        "partialFingerprints": {FINGERPRINT_KEY: finding.fingerprint},
    }
    if finding.agents:
        result["properties"] = {"agreedBy": finding.agents}
    if finding.suggestion is not None:
        replacement = {
            # Whole lines: without columns a region ends before its last line's line break.
            "deletedRegion": region,
            "insertedContent": {"text": finding.suggestion.removesuffix("\n")},
        }
        result["fixes"] = [
            {
                "description": {"text": f"{finding.agent or 'agentls'}'s suggestion"},
                "artifactChanges": [{"artifactLocation": location, "replacements": [replacement]}],
            }
        ]
    return result


def uri(path: str) -> str:
    """A workspace-relative posix path as a relative URI reference: each segment
    percent-encoded (spaces, ``%``, ``#``, ``?``, non-ASCII), the slashes kept."""
    return "/".join(quote(part, safe="") for part in path.split("/"))
