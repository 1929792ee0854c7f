"""Findings from several reviewers merged into one list: the one place findings are merged.

Two findings merge only when different reviewers report the same thing: the same file and
lines, the same code (or both none) and the same message once case, spaces and punctuation
are ignored. Every other finding stays, even the same rule twice on one line.
"""

from __future__ import annotations

import re

from agentls.domain.results import Finding

_SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2, "hint": 3}


def merge_findings(findings: list[Finding]) -> list[Finding]:
    """``findings`` with each one several reviewers agree on merged into one, which lists
    them in ``agents``. The most severe report wins; a suggestion is kept with its agent."""
    if len({finding.agent for finding in findings}) <= 1:  # one reviewer: nothing to merge
        return sorted(findings, key=_order)
    groups: dict[tuple[str, int, int, str, str], list[Finding]] = {}
    merged: list[Finding] = []
    for finding in findings:
        same = groups.setdefault(_identity(finding), [])
        known = next((k for k in same if _another_reviewer(k, finding)), None)
        if known is None:
            copy = finding.model_copy(update={"agents": list(finding.agents)})
            same.append(copy)
            merged.append(copy)
            continue
        agents = _agents(known) + [a for a in _agents(finding) if a not in _agents(known)]
        if _SEVERITY_ORDER[finding.severity] < _SEVERITY_ORDER[known.severity]:
            known.severity = finding.severity
        if known.suggestion is None and finding.suggestion is not None:
            known.suggestion, known.agent = finding.suggestion, finding.agent
        known.agents = agents
    return sorted(merged, key=_order)


def _order(finding: Finding) -> tuple[str, int, int]:
    return (finding.path, finding.line, _SEVERITY_ORDER[finding.severity])


def _identity(finding: Finding) -> tuple[str, int, int, str, str]:
    message = re.sub(r"[\W_]+", " ", finding.message.casefold()).strip()
    code = (finding.code or "").casefold()
    return (finding.path, finding.line, finding.last_line, code, message)


def _agents(finding: Finding) -> list[str]:
    return finding.agents or ([finding.agent] if finding.agent else [])


def _another_reviewer(known: Finding, finding: Finding) -> bool:
    """Whether ``finding`` comes from reviewers none of whom already reported ``known``."""
    theirs = _agents(finding)
    return bool(theirs) and not set(theirs) & set(_agents(known))
