"""What the CLI tests share: a workspace with a one-step workflow."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.conftest import write_trusted


@pytest.fixture
def one_step(workspace: Path) -> Path:
    """The workspace with workflow ``one``: codex implements the selection."""
    config = yaml.safe_load((workspace / ".agentls.yaml").read_text())
    config["workflows"] = {"one": {"steps": [{"agent": "codex", "task": "implement"}]}}
    write_trusted(workspace / ".agentls.yaml", yaml.safe_dump(config))
    return workspace
