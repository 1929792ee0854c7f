from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentls.adapters.registry import AdapterRegistry
from agentls.orchestration.config_loader import load_config
from tests.conftest import write_trusted

PLUGIN = """
from agentls.adapters.base import Adapter, AgentReply, Invocation


class EchoAdapter(Adapter):
    name = "echo"
    default_command = ("echo",)
    install_hint = "it is part of coreutils"

    def invocation(self, request):
        return Invocation(argv=["plugin says", request.target])

    def read_output(self, request, outcome):
        return AgentReply(text=outcome.stdout.strip())
"""


@pytest.fixture
def plugin_on_path(tmp_path: Path) -> Iterator[None]:
    """An installed third-party distribution declaring an adapter entry point."""
    site = tmp_path / "site"
    (site / "agentls_echo").mkdir(parents=True)
    (site / "agentls_echo" / "__init__.py").write_text(PLUGIN)
    dist = site / "agentls_echo-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: agentls-echo\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[agentls.adapters]\necho = agentls_echo:EchoAdapter\nbroken = agentls_echo:Missing\n"
    )
    sys.path.insert(0, str(site))
    AdapterRegistry.default.cache_clear()
    yield
    sys.path.remove(str(site))
    sys.modules.pop("agentls_echo", None)
    AdapterRegistry.default.cache_clear()


def test_builtin_adapters() -> None:
    assert AdapterRegistry.default().names() == [
        "acp",
        "claude",
        "codex",
        "command",
        "copilot",
        "gemini",
        "ruff",
    ]


@pytest.mark.usefixtures("plugin_on_path")
def test_third_party_adapter_from_entry_points_runs(workspace: Path) -> None:
    import asyncio

    from agentls.domain.results import TaskKind
    from agentls.orchestration.tasks import TaskSpec, run_task

    registry = AdapterRegistry.default()
    assert "echo" in registry.names() and "broken" not in registry.names()
    write_trusted(workspace / ".agentls.yaml", "agents:\n  shout:\n    adapter: echo\n")
    config = load_config(workspace)
    spec = TaskSpec(agent="shout", task=TaskKind.EXPLAIN, workspace=workspace, path="calc.py")
    result = asyncio.run(run_task(config, spec))
    assert result.ok and result.text == "plugin says calc.py"
