"""What the ACP tests share: a workspace with two one-step workflows, and its files as URIs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.conftest import write_trusted

FINDINGS = '{"findings": [{"line": 2, "severity": "warning", "message": "no types", "code": "T1"}]}'
NEW_MEAN = "def mean(values):\n    return sum(values) / len(values) if values else 0.0\n"
WORKFLOWS = {
    "check": {
        "description": "Gemini reviews",
        "steps": [{"agent": "gemini", "task": "review"}],
    },
    "fix": {
        "description": "Codex implements",
        "steps": [{"agent": "codex", "task": "implement"}],
    },
}


@pytest.fixture
def acp_workspace(workspace: Path) -> Path:
    """The test workspace (``calc.py``, trusted settings) with workflows ``check`` (gemini
    reviews) and ``fix`` (codex implements)."""
    config = yaml.safe_load((workspace / ".agentls.yaml").read_text())
    config["workflows"] = WORKFLOWS
    write_trusted(workspace / ".agentls.yaml", yaml.safe_dump(config))
    return workspace


@pytest.fixture
def stderr_log(tmp_path: Path) -> Path:
    return tmp_path / "agentls-acp.stderr"
