"""Findings from several reviewers merged into one list: the one place findings are merged.

Two findings agree when different reviewers report them on the same file, on overlapping
lines, with the same code (case ignored) or close messages (``similarity``). The findings
that agree become one, which names every reviewer in ``agents`` and is one level more
severe than the most severe report (an error stays an error). A reviewer's findings never
merge with each other, even the same rule twice on one line.

The result does not depend on the order of ``findings``: they are matched in a fixed order
(file, lines, severity, code, message, reviewer), each joining the group it agrees with
best. The order of ``reviewers`` (the workflow's) only breaks ties: it orders ``agents``,
and between equally severe reports it picks whose message, lines and suggestion are shown.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from itertools import groupby

from agentls.domain.results import Finding, Severity, Suggestion

CLOSE = 0.6
"""Messages whose ``similarity`` reaches this are close."""

_SEVERITY_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2, Severity.HINT: 3}
_RAISED = {
    Severity.HINT: Severity.INFO,
    Severity.INFO: Severity.WARNING,
    Severity.WARNING: Severity.ERROR,
    Severity.ERROR: Severity.ERROR,
}
# Words that say nothing about the problem. Not "a": code names variables so.
_FILLER = frozenset(
    {"an", "and", "are", "be", "by", "can", "could", "for", "from", "if", "in", "is", "it"}
    | {"its", "may", "might", "of", "on", "or", "should", "that", "the", "this", "to", "was"}
    | {"when", "which", "will", "with"}
)


def merge_findings(findings: list[Finding], reviewers: Sequence[str] = ()) -> list[Finding]:
    """``findings`` with those several reviewers agree on merged into one. ``reviewers``:
    who reviewed in this round, in the workflow's order; when there are several, a finding
    only one of them reported says so (``unconfirmed``). Inputs are not changed; a finding
    that needs no change is returned itself (a reported finding is copied, never changed)."""
    ranks = _Ranks(reviewers)
    several_ran = len(set(reviewers)) > 1
    if len({agent for f in findings for agent in _reporters(f)}) <= 1:  # nobody to agree
        return [_alone(f, several_ran) for f in _in_order(findings)]
    groups: dict[str, list[list[Finding]]] = {}
    for finding in sorted(findings, key=_canonical):
        in_file = groups.setdefault(finding.path, [])
        group = _best_group(in_file, finding)
        if group is None:
            in_file.append([finding])
        else:
            group.append(finding)
    merged = [
        _merged(group, ranks) if len(group) > 1 else _alone(group[0], several_ran)
        for in_file in groups.values()
        for group in in_file
    ]
    return sorted(merged, key=_order)


def similarity(first: str, second: str) -> float:
    """How close two messages are, 0 to 1: the share of their distinct words they have in
    common (Jaccard), after case, punctuation and filler words (``the``, ``is``…) go."""
    a, b = _words(first), _words(second)
    if not a or not b:  # nothing but filler: only the same text is close
        return 1.0 if _normalised(first) == _normalised(second) else 0.0
    return len(a & b) / len(a | b)


def agree(first: Finding, second: Finding) -> bool:
    """Whether two reports (of different reviewers) are about the same thing."""
    return _agreement(first, second) is not None


def _agreement(first: Finding, second: Finding) -> float | None:
    """How well two reports agree (higher is better; the same code counts 1 more), or None
    when they do not."""
    if first.path != second.path:
        return None
    if first.line > second.last_line or second.line > first.last_line:
        return None
    same_code = bool(first.code) and (first.code or "").casefold() == (second.code or "").casefold()
    close = similarity(first.message, second.message)
    if not same_code and close < CLOSE:
        return None
    return close + same_code


def _best_group(groups: list[list[Finding]], finding: Finding) -> list[Finding] | None:
    """The group ``finding`` agrees with best (with each of its members), the first of the
    best; None when it agrees with none, or its reviewers are in each already."""
    theirs = set(_reporters(finding))
    if not theirs:
        return None
    best: list[Finding] | None = None
    best_score = -1.0
    for group in groups:
        if any(theirs & set(_reporters(member)) for member in group):
            continue
        scores = [_agreement(member, finding) for member in group]
        if any(score is None for score in scores):
            continue
        score = min(s for s in scores if s is not None)
        if score > best_score:
            best, best_score = group, score
    return best


def _merged(group: list[Finding], ranks: _Ranks) -> Finding:
    """One finding for reports that agree: the lead report (the most severe with a
    suggestion, else the most severe; the first reviewer's among equals) with every
    reviewer, the raised severity and the other suggestions as alternatives."""
    reports = sorted(
        group,
        key=lambda f: (f.suggestion is None, _SEVERITY_ORDER[_reported(f)], ranks.of(f)),
    )
    lead = reports[0]
    agents = sorted({a for f in group for a in _reporters(f)}, key=ranks.key)
    reported = min((_reported(f) for f in group), key=_SEVERITY_ORDER.__getitem__)
    return lead.model_copy(
        update={
            "agents": agents,
            "severity": _RAISED[reported],
            "reported_severity": reported,
            "code": lead.code or next((f.code for f in reports if f.code), None),
            "unconfirmed": False,
            "alternatives": _alternatives(lead, group, ranks),
        }
    )


def _alternatives(lead: Finding, group: list[Finding], ranks: _Ranks) -> list[Suggestion]:
    """Every suggestion of ``group`` that differs from the lead's, once, in reviewer order."""
    offered = [
        suggestion
        for finding in group
        for suggestion in (*_own_suggestion(finding), *finding.alternatives)
    ]
    seen = {_fix(s) for s in _own_suggestion(lead)}
    alternatives = []
    for suggestion in sorted(offered, key=lambda s: ranks.key(s.agent)):
        if _fix(suggestion) not in seen:
            seen.add(_fix(suggestion))
            alternatives.append(suggestion)
    return alternatives


def _own_suggestion(finding: Finding) -> list[Suggestion]:
    reporters = _reporters(finding)
    if finding.suggestion is None or not reporters:
        return []
    agent = finding.agent or reporters[0]
    return [
        Suggestion(
            agent=agent, line=finding.line, end_line=finding.end_line, text=finding.suggestion
        )
    ]


def _fix(suggestion: Suggestion) -> tuple[int, int, str]:
    """What a suggestion does: the same lines replaced by the same text are one fix."""
    text = suggestion.text.replace("\r\n", "\n").rstrip("\n")
    return (suggestion.line, suggestion.last_line, text)


def _alone(finding: Finding, several_ran: bool) -> Finding:
    alone = several_ran and len(_reporters(finding)) == 1
    if finding.unconfirmed == alone:
        return finding
    return finding.model_copy(update={"agents": list(finding.agents), "unconfirmed": alone})


class _Ranks:
    """Reviewers in the workflow's order; others after them, by name."""

    def __init__(self, reviewers: Sequence[str]) -> None:
        self._index = {name: i for i, name in enumerate(dict.fromkeys(reviewers))}

    def key(self, agent: str) -> tuple[int, str]:
        return (self._index.get(agent, len(self._index)), agent)

    def of(self, finding: Finding) -> tuple[int, str]:
        return min((self.key(a) for a in _reporters(finding)), default=(len(self._index), ""))


def _reported(finding: Finding) -> Severity:
    return finding.reported_severity or finding.severity


def _reporters(finding: Finding) -> list[str]:
    return finding.agents or ([finding.agent] if finding.agent else [])


def _order(finding: Finding) -> tuple[str, int, int]:
    return (finding.path, finding.line, _SEVERITY_ORDER[finding.severity])


def _in_order(findings: list[Finding]) -> list[Finding]:
    """``findings`` by ``_order``, those it ties in the canonical order (as sorting them
    canonically first, then by ``_order``, would have them)."""
    ordered: list[Finding] = []
    for _, same in groupby(sorted(findings, key=_order), key=_order):
        tied = list(same)
        ordered.extend(sorted(tied, key=_canonical) if len(tied) > 1 else tied)
    return ordered


def _canonical(finding: Finding) -> tuple[object, ...]:
    """A total order of findings that does not depend on where they came from."""
    return (
        finding.path,
        finding.line,
        finding.last_line,
        _SEVERITY_ORDER[_reported(finding)],
        (finding.code or "").casefold(),
        _Rest(finding),
    )


class _Rest:
    """The end of a finding's ``_canonical`` key (its message, reviewers, every field),
    worked out only when the start of the key ties: most findings are ordered without it."""

    __slots__ = ("_finding", "_key")

    def __init__(self, finding: Finding) -> None:
        self._finding = finding
        self._key: tuple[str, list[str], str] | None = None

    def key(self) -> tuple[str, list[str], str]:
        if self._key is None:
            finding = self._finding
            message = _normalised(finding.message)
            self._key = (message, _reporters(finding), finding.model_dump_json())
        return self._key

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Rest) and self.key() == other.key()

    def __lt__(self, other: _Rest) -> bool:
        return self.key() < other.key()

    __hash__ = None  # type: ignore[assignment]


def _normalised(message: str) -> str:
    return re.sub(r"[\W_]+", " ", message.casefold()).strip()


def _words(message: str) -> set[str]:
    return set(_normalised(message).split()) - _FILLER
