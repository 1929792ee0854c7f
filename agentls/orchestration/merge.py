"""Findings from several reviewers merged into one list without duplicates."""

from __future__ import annotations

import re

from agentls.orchestration.results import Finding

_SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2, "hint": 3}


def merge_findings(findings: list[Finding]) -> list[Finding]:
    """One finding per (file, lines, problem): the same code, or the same message once case,
    spaces and punctuation are ignored. The most severe wins; agents are listed together."""
    merged: dict[tuple[str, int, int, str], Finding] = {}
    for finding in findings:
        key = (finding.path, finding.line, finding.last_line, _identity(finding))
        known = merged.get(key)
        if known is None:
            merged[key] = finding.model_copy()
            continue
        agents = [a for a in (known.agent or "").split(", ") if a]
        if finding.agent and finding.agent not in agents:
            agents.append(finding.agent)
        better = _SEVERITY_ORDER[finding.severity] < _SEVERITY_ORDER[known.severity]
        winner = finding.model_copy() if better else known
        winner.agent = ", ".join(agents) or None
        winner.suggestion = known.suggestion if known.suggestion is not None else finding.suggestion
        merged[key] = winner
    return sorted(merged.values(), key=lambda f: (f.path, f.line, _SEVERITY_ORDER[f.severity]))


def _identity(finding: Finding) -> str:
    if finding.code:
        return "code:" + finding.code.lower()
    return "message:" + re.sub(r"[\W_]+", " ", finding.message.lower()).strip()
