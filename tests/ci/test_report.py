"""The gate's exit codes, and shard reports merged into one."""

from __future__ import annotations

import pytest

from agentls.ci.report import CiReport, Gate, merge
from agentls.domain.errors import TaskInputError
from agentls.domain.results import Severity, Usage
from tests.ci.samples import finding, sample


@pytest.mark.parametrize(
    ("severities", "gate", "code"),
    [
        ([], Gate.ERROR, 0),
        ([Severity.WARNING, Severity.INFO], Gate.ERROR, 0),
        ([Severity.WARNING], Gate.WARNING, 1),
        ([Severity.ERROR], Gate.ERROR, 1),
        ([Severity.HINT, Severity.INFO], Gate.WARNING, 0),
        ([Severity.ERROR], Gate.NEVER, 0),
    ],
)
def test_the_gate(severities: list[Severity], gate: Gate, code: int) -> None:
    report = sample(*(finding(severity=s, line=i + 1) for i, s in enumerate(severities)))
    if not severities:
        report = sample(findings=[])
    assert report.exit_code(gate) == code


def test_an_agent_failure_is_3_whatever_the_gate() -> None:
    failed = sample(status="failed", failures=["review (claude): timed out"])
    assert [failed.exit_code(gate) for gate in Gate] == [3, 3, 3]


def shard(index: int, total: int, report: CiReport, files: list[str]) -> CiReport:
    return report.model_copy(
        update={
            "shards": [f"{index}/{total}"],
            "files": files,
            "findings": [f for f in report.findings if f.path in files],
            "proposals": {p: d for p, d in report.proposals.items() if p in files},
            "run_ids": [f"run{index}"],
        }
    )


def test_shards_merge_into_the_whole() -> None:
    whole = sample()
    one, two = whole.files
    parts = [shard(2, 2, whole, [two]), shard(1, 2, whole, [one])]
    parts[0] = parts[0].model_copy(update={"usage": Usage(cost_usd=0.01, input_tokens=1000)})
    parts[1] = parts[1].model_copy(update={"usage": Usage(cost_usd=0.0023, input_tokens=200)})
    merged = merge(parts)
    assert merged.shards == ["1/2", "2/2"] and merged.run_ids == ["run2", "run1"]
    unshared = {"shards", "run_ids", "usage"}
    assert merged.model_dump(exclude=unshared) == whole.model_dump(exclude=unshared)
    assert merged.usage.input_tokens == 1200 and merged.usage.cost_usd == pytest.approx(0.0123)


def test_a_failed_shard_fails_the_merge() -> None:
    whole = sample()
    failed = shard(2, 2, whole, []).model_copy(update={"status": "failed", "failures": ["x"]})
    merged = merge([shard(1, 2, whole, whole.files), failed])
    assert merged.status == "failed" and merged.failures == ["x"]


def test_reports_of_different_reviews_or_a_shard_twice_are_refused() -> None:
    whole = sample()
    with pytest.raises(TaskInputError, match="different reviews"):
        merge([whole, whole.model_copy(update={"workflow": "other"})])
    with pytest.raises(TaskInputError, match="shard 1/2 is given twice"):
        merge([shard(1, 2, whole, []), shard(1, 2, whole, [])])
    with pytest.raises(TaskInputError, match="give the JSON reports"):
        merge([])
