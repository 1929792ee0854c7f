"""A CI report as GitHub Actions workflow commands: one ``::error``, ``::warning`` or
``::notice`` line per finding, which GitHub shows on the pull request's diff.

Agent text is untrusted: a newline in it would start a command of its own (``::add-mask::``,
``::set-env``), so every value is escaped as GitHub's runner unescapes it: ``%``, CR and LF in
the message, and also ``:`` and ``,`` in the properties.
"""

from __future__ import annotations

from agentls.ci.report import CiFinding, CiReport, rule_id
from agentls.domain.results import Severity

_COMMANDS = {
    Severity.ERROR: "error",
    Severity.WARNING: "warning",
    Severity.INFO: "notice",
    Severity.HINT: "notice",
}


def workflow_commands(report: CiReport) -> str:
    """One workflow command line per finding, and one ``::error`` per failed step."""
    lines = [annotation(finding) for finding in report.findings]
    lines += [f"::error title=agentls::{escape_data(failure)}" for failure in report.failures]
    return "".join(line + "\n" for line in lines)


def annotation(finding: CiFinding) -> str:
    title = f"{finding.reported_by or 'agentls'}: {rule_id(finding)}"
    properties = {
        "file": finding.path,
        "line": str(finding.line),
        "endLine": str(finding.last_line),
        "title": title,
    }
    listed = ",".join(f"{name}={escape_property(value)}" for name, value in properties.items())
    return f"::{_COMMANDS[finding.severity]} {listed}::{escape_data(finding.message)}"


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")
