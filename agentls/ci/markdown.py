"""A CI report as the body of a pull request comment: a findings table, the cost, and the
proposed changes' diffs folded in a ``<details>``.

Agent text and file names are untrusted. Every character markdown or HTML gives a meaning to
is written as a numeric character reference, so a message shows as written and does nothing:
no tag (``<script>``, ``</details>``), no link or image, no code fence, no pipe that breaks the
table, no ``@mention`` that notifies anyone. A diff goes in a fenced code block whose fence is
longer than any run of backticks in it.
"""

from __future__ import annotations

import re

from agentls.ci.report import CiReport, rule_id
from agentls.domain.results import Usage

MARKER = "<!-- agentls-ci -->"
"""First line of every comment, so a bot can find and update its own comment."""
_SPECIAL = re.compile(r"[\\`*_{}\[\]()<>#|@~&$:.]")
_BACKTICKS = re.compile(r"`+")


def markdown(report: CiReport) -> str:
    count = len(report.findings)
    headline = f"**agentls** reviewed {_count(len(report.files), 'file')} ({report.scope})"
    if report.base:
        headline += f" against {_inline(report.base)}"
    lines = [MARKER, f"### agentls: {_count(count, 'finding')}", "", headline + "."]
    if report.shards:
        lines[-1] += f" Shards: {', '.join(report.shards)}."
    if report.status == "failed":
        lines += ["", "**The review is incomplete: a step failed.**", ""]
        lines += [f"- {escape(failure)}" for failure in report.failures]
    if report.findings:
        lines += ["", "| severity | where | rule | message | by |", "|---|---|---|---|---|"]
        for finding in report.findings:
            where = finding.path + f":{finding.line}"
            if finding.last_line != finding.line:
                where += f"-{finding.last_line}"
            cells = [
                finding.severity.value, where, rule_id(finding), finding.message,
                finding.reported_by or "-",
            ]  # fmt: skip
            lines.append("| " + " | ".join(escape(cell) for cell in cells) + " |")
    lines += ["", f"Cost: {cost(report.usage)}."]
    if report.proposals:
        total = _count(len(report.proposals), "file")
        lines += ["", "<details>", f"<summary>Proposed changes ({total})</summary>", ""]
        for path, diff in report.proposals.items():
            fence = "`" * max([3, *(len(run) + 1 for run in _BACKTICKS.findall(diff))])
            lines += [f"**{escape(path)}**", "", fence + "diff", diff.rstrip("\n"), fence, ""]
        lines.append("</details>")
    return "\n".join(lines) + "\n"


def escape(text: str) -> str:
    """``text`` on one line with every markdown and HTML character as a character
    reference: it renders as written, and means nothing."""
    flat = " ".join(text.split())
    return _SPECIAL.sub(lambda match: f"&#{ord(match[0])};", flat)


def cost(usage: Usage) -> str:
    parts = []
    if usage.cost_usd is not None:
        parts.append(f"${usage.cost_usd:.4f}")
    if usage.input_tokens is not None or usage.output_tokens is not None:
        parts.append(f"{usage.input_tokens or 0} tokens in, {usage.output_tokens or 0} out")
    if usage.premium_requests is not None:
        parts.append(f"{usage.premium_requests:g} premium requests")
    return ", ".join(parts) or "none reported"


def _inline(text: str) -> str:
    return f"<code>{escape(text)}</code>"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")
