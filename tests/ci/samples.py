"""Reports to format: findings of every severity, from two agents, one with a suggestion."""

from __future__ import annotations

from agentls.ci.report import CiReport, Tool, fingerprinted
from agentls.domain.results import Finding, Severity, Usage

TEXT = {
    "src/app.py": "import os\n\ndef mean(values):\n    return sum(values) / len(values)\n",
    "docs/ü nicode #1.py": "x = 1\n",
}


def finding(**fields: object) -> Finding:
    defaults: dict[str, object] = {"path": "src/app.py", "line": 4, "message": "divides by zero"}
    return Finding.model_validate(defaults | fields)


def sample(*findings: Finding, **fields: object) -> CiReport:
    found = findings or (
        finding(severity=Severity.ERROR, code="ZeroDivision", agent="claude",
                suggestion="    return sum(values) / max(len(values), 1)\n"),
        finding(line=1, severity=Severity.WARNING, code="F401", agent="ruff",
                message="`os` imported but unused"),
        finding(path="docs/ü nicode #1.py", line=1, severity=Severity.INFO, agent="claude",
                message="a note"),
        finding(line=3, end_line=4, severity=Severity.HINT, agent="claude",
                agents=["claude", "ruff"], message="name it better"),
    )  # fmt: skip
    report = CiReport(
        workflow="review",
        base="origin/main",
        root="/work/repo",
        files=sorted(TEXT),
        findings=fingerprinted(found, TEXT.get),
        tools=[
            Tool(name="claude", version="2.1.0 (Claude Code)", information_uri="https://x.test/c"),
            Tool(name="ruff", version="ruff 0.9.0", information_uri="https://docs.astral.sh/ruff/"),
        ],
        usage=Usage(input_tokens=1200, output_tokens=300, cost_usd=0.0123),
        proposals={"src/app.py": "--- a/src/app.py\n+++ b/src/app.py\n@@ -4 +4 @@\n-a\n+b\n"},
        run_ids=["r1"],
    )
    return report.model_copy(update=fields)
