"""SARIF 2.1.0 that the official schema accepts and that code scanning de-duplicates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator

from agentls.ci.report import fingerprinted
from agentls.ci.sarif import FINGERPRINT_KEY, sarif, uri
from agentls.domain.results import Severity
from tests.ci.samples import TEXT, finding, sample

SCHEMA = json.loads((Path(__file__).parent / "sarif" / "sarif-schema-2.1.0.json").read_text())


def valid(log: dict[str, Any]) -> dict[str, Any]:
    errors = sorted(Draft4Validator(SCHEMA).iter_errors(log), key=str)
    assert [f"{list(e.absolute_path)}: {e.message}" for e in errors] == []
    return log


def test_the_log_validates_against_the_official_schema() -> None:
    valid(sarif(sample()))
    valid(sarif(sample(findings=[], tools=[])))  # nothing found, nobody ran
    valid(json.loads(json.dumps(sarif(sample(shards=["2/4"])))))


def test_the_schema_catches_what_is_wrong() -> None:
    """The validation is not vacuous: a level SARIF does not have is refused."""
    log = sarif(sample())
    log["runs"][0]["results"][0]["level"] = "fatal"
    assert list(Draft4Validator(SCHEMA).iter_errors(log))


def test_one_run_per_agent_with_its_name_version_and_home() -> None:
    runs = sarif(sample())["runs"]
    drivers = [run["tool"]["driver"] for run in runs]
    assert [(d["name"], d["version"], d["informationUri"]) for d in drivers] == [
        ("claude", "2.1.0 (Claude Code)", "https://x.test/c"),
        ("ruff", "ruff 0.9.0", "https://docs.astral.sh/ruff/"),
    ]
    claude, ruff = runs
    assert [r["ruleId"] for r in ruff["results"]] == ["F401"]
    assert {r["ruleId"] for r in claude["results"]} == {"ZeroDivision", "claude-review"}
    for run in runs:
        rules = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
        assert [rules[r["ruleIndex"]] for r in run["results"]] == [
            r["ruleId"] for r in run["results"]
        ]
        assert run["originalUriBaseIds"] == {"%SRCROOT%": {"uri": "file:///work/repo/"}}


def test_a_run_says_whether_its_agent_succeeded() -> None:
    report = sample()
    failed = report.model_copy(
        update={"tools": [report.tools[0].model_copy(update={"succeeded": False}), report.tools[1]]}
    )
    log = valid(sarif(failed))
    assert [run["invocations"] for run in log["runs"]] == [
        [{"executionSuccessful": False}],
        [{"executionSuccessful": True}],
    ]


def test_levels_locations_and_uris() -> None:
    results = [r for run in sarif(sample())["runs"] for r in run["results"]]
    levels = {r["message"]["text"]: r["level"] for r in results}
    assert levels == {
        "divides by zero": "error", "`os` imported but unused": "warning",
        "a note": "note", "name it better": "note",
    }  # fmt: skip
    [unicode] = [r for r in results if r["message"]["text"] == "a note"]
    location = unicode["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {
        "uri": "docs/%C3%BC%20nicode%20%231.py",
        "uriBaseId": "%SRCROOT%",
    }
    [spanning] = [r for r in results if r["message"]["text"] == "name it better"]
    assert spanning["locations"][0]["physicalLocation"]["region"] == {"startLine": 3, "endLine": 4}
    assert spanning["properties"] == {"agreedBy": ["claude", "ruff"]}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("a b/c%d.py", "a%20b/c%25d.py"),
        ("q?x#y.py", "q%3Fx%23y.py"),
        ("ü/é.py", "%C3%BC/%C3%A9.py"),
    ],
)
def test_uris_are_relative_posix_and_percent_encoded(path: str, expected: str) -> None:
    assert uri(path) == expected


def test_a_suggestion_is_a_fix_replacing_the_finding_s_lines() -> None:
    [fixed] = [r for run in sarif(sample())["runs"] for r in run["results"] if "fixes" in r]
    [change] = fixed["fixes"][0]["artifactChanges"]
    assert change["artifactLocation"]["uri"] == "src/app.py"
    assert change["replacements"] == [
        {
            "deletedRegion": {"startLine": 4, "endLine": 4},
            "insertedContent": {"text": "    return sum(values) / max(len(values), 1)"},
        }
    ]


def fingerprints(text: str, *found: object) -> list[str]:
    report = sample(findings=fingerprinted(found, {"src/app.py": text}.get))  # type: ignore[arg-type]
    return [r["partialFingerprints"][FINGERPRINT_KEY] for run in sarif(report)["runs"]
            for r in run["results"]]  # fmt: skip


def test_a_fingerprint_survives_lines_moving_above_it() -> None:
    before = fingerprints(TEXT["src/app.py"], finding(line=4))
    moved = "# a new comment\n# and another\n" + TEXT["src/app.py"]
    after = fingerprints(moved, finding(line=6, message="Divides   by zero"))
    assert before == after


def test_a_fingerprint_changes_with_its_line_its_rule_or_its_message() -> None:
    text = TEXT["src/app.py"]
    [first] = fingerprints(text, finding(line=4))
    edited = text.replace("len(values)", "len(values) or 1")
    assert fingerprints(edited, finding(line=4)) != [first]
    assert fingerprints(text, finding(line=4, code="X")) != [first]
    assert fingerprints(text, finding(line=4, message="another")) != [first]


def test_the_same_finding_on_two_identical_lines_gets_two_fingerprints() -> None:
    text = "x = 1\nx = 1\n"
    found = fingerprints(text, finding(line=1, severity=Severity.ERROR), finding(line=2))
    assert len(set(found)) == 2 and {f.rsplit(":", 1)[1] for f in found} == {"1", "2"}
