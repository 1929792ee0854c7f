"""Shared fixtures: an isolated environment, a workspace, and the fake agent CLIs on PATH."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, settings

from agentls.orchestration import trust
from tests.fakes.script import PREFIX, VARIABLES, fake_env, log_file, read_calls, write_scenario

# No test times anything (performance is bench/'s): Hypothesis's own clocks, a deadline per
# example and the slow-generation check, fail a loaded machine, not the code.
settings.register_profile("untimed", deadline=None, suppress_health_check=[HealthCheck.too_slow])
# CI runs the same examples every time (a red run must be reproducible); local runs explore.
settings.register_profile("ci", parent=settings.get_profile("untimed"), derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "untimed")

FAKES_BIN = Path(__file__).parent / "fakes" / "bin"
SAMPLE = """def add(a, b):
    return a + b


def mean(values):
    return sum(values) / len(values)
"""
# Fast retries, and the fakes' steering variables passed through the minimal environment.
TEST_SETTINGS = f"""\
settings:
  retry_backoff_s: 0.01
  retry_backoff_max_s: 0.05
  kill_grace_s: 0.5
  pass_env: [{", ".join(VARIABLES)}]
"""


AGENT_CLIS = ("claude", "codex", "gemini", "copilot")


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No user config but the one below, no real credentials, the fakes first on PATH, and a
    home folder of the test's own (where a contained agent's state folders are made)."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local" / "state"))
    # The fakes keep their scenario and log in fakes_io(): a contained agent may write there.
    io = [str(fakes_io_root(tmp_path_factory))]
    monkeypatch.setenv(FAKES_IO_VARIABLE, io[0])
    user = {"agents": {name: {"sandbox_paths": io} for name in AGENT_CLIS}}
    (home / ".config" / "agentls").mkdir(parents=True)
    (home / ".config" / "agentls" / "config.yaml").write_text(json.dumps(user))
    for name in list(os.environ):
        if name.endswith(("_API_KEY", "_TOKEN")) or name.startswith(PREFIX):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PATH", f"{FAKES_BIN}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("AGENTLS_RESIDENT", "0")  # tests/cli/test_resident.py turns it on


FAKES_IO_VARIABLE = "AGENTLS_TEST_FAKES_IO"


def fakes_io_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.getbasetemp() / "fakes-io"
    root.mkdir(exist_ok=True)
    return root


def new_fakes_io() -> Path:
    """A folder of the test's own where the fake CLIs read their scenario and write their
    log: agents contained in bubblewrap may write there (and nowhere else of the test's)."""
    return Path(tempfile.mkdtemp(dir=os.environ[FAKES_IO_VARIABLE]))


@pytest.fixture
def fakes_io() -> Path:
    return new_fakes_io()


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "calc.py").write_text(SAMPLE)
    write_trusted(root / ".agentls.yaml", TEST_SETTINGS)
    return root


def git(root: Path, *args: str) -> str:
    """``git ARGS`` in ``root`` as a test's user, who has a name and an email; its output."""
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def fsmonitor(tmp_path: Path) -> tuple[Path, Path]:
    """A program that, run by git as its fsmonitor, leaves a marker file; and the marker."""
    marker = tmp_path / "fsmonitor-ran"
    script = tmp_path / "fsmonitor.sh"
    script.write_text(f"#!/bin/sh\ntouch {marker}\nexit 1\n")
    script.chmod(0o755)
    return script, marker


def write_trusted(path: Path, text: str, state_home: Path | None = None) -> None:
    """Write a workspace config and trust it, as its owner would with ``agentls trust``
    (in ``state_home``: the state folder of an editor's own environment)."""
    path.write_text(text)
    if state_home is None:
        trust.trust(path)
        return
    with mock.patch.dict(os.environ, {"XDG_STATE_HOME": str(state_home)}):
        trust.trust(path)


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ANTHROPIC_API_KEY", "CODEX_API_KEY", "GEMINI_API_KEY", "GH_TOKEN"):
        monkeypatch.setenv(name, "test-credential-value-1234")


Scenario = Callable[..., Path]


@pytest.fixture
def scenario(fakes_io: Path, monkeypatch: pytest.MonkeyPatch) -> Scenario:
    """Steer the fakes: ``scenario("ok", reply="...")`` writes the file and points them to it."""

    def write(behavior: str = "ok", **fields: Any) -> Path:
        path = write_scenario(fakes_io, None, behavior, **fields)
        for name, value in fake_env(scenario=path).items():
            monkeypatch.setenv(name, value)
        return path

    return write


@pytest.fixture
def fake_log(
    fakes_io: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """The invocations the fakes recorded, in order."""
    path = log_file(fakes_io)
    for name, value in fake_env(log=path).items():
        monkeypatch.setenv(name, value)
    yield lambda: read_calls(path)
