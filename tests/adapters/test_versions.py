"""A CLI's version, read once per process per command; and what a new one does to the cache."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentls.adapters.versions import UNKNOWN, _known, cli_version, forget_versions
from agentls.domain.results import TaskKind
from agentls.orchestration.config_loader import load_config
from agentls.orchestration.runtime import Runtime
from agentls.orchestration.tasks import TaskSpec, run_task
from tests.conftest import Scenario


@pytest.fixture(autouse=True)
def fresh_versions() -> Iterator[None]:
    forget_versions()
    yield
    forget_versions()


def program(folder: Path, body: str) -> Path:
    """An executable Python script."""
    path = folder / "tool"
    path.write_text(f"#!{sys.executable}\n{body}")
    path.chmod(0o755)
    return path


def test_the_version_is_read_once_per_command(tmp_path: Path) -> None:
    said = tmp_path / "version.txt"
    said.write_text("tool 1.0\n")
    tool = program(tmp_path, f"print(open({str(said)!r}).read())\n")
    assert asyncio.run(cli_version([str(tool)])) == "tool 1.0"
    said.write_text("tool 2.0\n")
    assert asyncio.run(cli_version([str(tool)])) == "tool 1.0"
    assert asyncio.run(cli_version([str(tool), "--flag"])) == "tool 2.0"  # another command
    forget_versions()
    assert asyncio.run(cli_version([str(tool)])) == "tool 2.0"


@pytest.mark.parametrize(
    "body",
    ["import sys\nsys.exit(3)\n", "", "import time\ntime.sleep(60)\n"],
    ids=["fails", "silent", "hangs"],
)
def test_a_tool_that_does_not_say_is_unknown(
    tmp_path: Path, body: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("agentls.adapters.versions.VERSION_TIMEOUT_S", 0.5)
    assert asyncio.run(cli_version([str(program(tmp_path, body))])) == UNKNOWN


def test_a_missing_program_is_unknown(tmp_path: Path) -> None:
    assert asyncio.run(cli_version([str(tmp_path / "nowhere")])) == UNKNOWN


def test_a_new_version_of_the_cli_misses_the_cache_in_one_process(
    workspace: Path, scenario: Scenario, fake_log: object, credentials: None
) -> None:
    config = load_config(workspace)
    runtime = Runtime.create(config, "test")
    spec = TaskSpec(agent="codex", task=TaskKind.REVIEW, workspace=workspace, path="calc.py")

    def review() -> bool:
        result = asyncio.run(run_task(config, spec, runtime=runtime))
        assert result.ok, result.error
        return result.cached

    scenario("ok", reply='{"findings": []}')
    assert review() is False
    assert review() is True
    scenario("ok", reply='{"findings": []}', version="codex-cli 9.9.9")
    assert review() is True  # the version was read once in this process
    forget_versions()
    assert review() is False
    assert len(fake_log()) == 2  # type: ignore[operator]


def test_the_real_cli_tiers_versions_are_the_ones_the_adapters_call_verified() -> None:
    from agentls.adapters.registry import AdapterRegistry
    from tests.realcli.install import pinned

    registry = AdapterRegistry.default()
    for name, spec in pinned().items():
        adapter = registry.find(name)
        if adapter is None:  # an ACP agent (claude-agent-acp): the acp adapter drives it
            assert name.endswith("-acp"), name
            continue
        assert adapter.package == spec["package"]
        assert adapter.verified is not None
        assert adapter.verified[1] == spec["version"], f"{name}: the tier runs {spec['version']}"


def test_a_version_is_remembered_across_processes_until_the_program_changes(
    tmp_path: Path,
) -> None:
    said = tmp_path / "version.txt"
    said.write_text("tool 1.0\n")
    tool = program(tmp_path, f"print(open({str(said)!r}).read())\n")
    assert asyncio.run(cli_version([str(tool)])) == "tool 1.0"
    said.write_text("tool 1.1\n")
    _known.clear()  # a new agentls process: the program file is the same, so is the answer
    assert asyncio.run(cli_version([str(tool)])) == "tool 1.0"
    program(tmp_path, f"print(open({str(said)!r}).read())\n# upgraded\n")
    _known.clear()
    assert asyncio.run(cli_version([str(tool)])) == "tool 1.1"
