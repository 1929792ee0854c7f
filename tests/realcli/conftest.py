"""The real agent CLIs against a scripted model API on 127.0.0.1, driven through agentls.

``make realcli`` installs the CLIs (``install.py``, versions in ``versions.json``); these
fixtures point each at the mock API (``mock``) with its documented variables and config files,
in a home folder of the test's own, behind a proxy that goes nowhere, so no run can reach out
or touch the user's real configuration. The variables reach the CLI through agentls's default
allow-lists (``config/agents.yaml``), as a user's would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import FAKES_BIN, SAMPLE, write_trusted
from tests.realcli.install import CACHE, LATEST, UNAVAILABLE, binary, pinned
from tests.realcli.mock import MockModelAPI

API_KEY = "mock-api-key-0123456789"
CLOSED_PROXY = "http://127.0.0.1:9"
"""Nothing listens there: a CLI that tries to reach past the mock fails at once."""
SETTINGS = {
    "retry_backoff_s": 0.01,
    "retry_backoff_max_s": 0.05,
    "kill_grace_s": 0.5,
}


def versions() -> dict[str, dict[str, str]]:
    """The versions under test: pinned, or the newest (``AGENTLS_REALCLI=latest``)."""
    if os.environ.get("AGENTLS_REALCLI") == "latest":
        return json.loads(LATEST.read_text())
    return pinned()


def cli_binary(name: str) -> Path:
    if UNAVAILABLE.exists():
        pytest.skip(f"real {name} not installed: {UNAVAILABLE.read_text().strip()}")
    path = binary(name, versions()[name])
    if not path.exists():
        pytest.fail(f"{path} is missing: run `make realcli` first")
    return path


@pytest.fixture
def api() -> Iterator[MockModelAPI]:
    server = MockModelAPI().start()
    yield server
    server.stop()


@dataclass
class RealCLI:
    name: str
    binary: Path
    api: MockModelAPI
    workspace: Path
    home: Path

    def agentls(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        """``agentls ARGS`` in the workspace, as a user runs it."""
        return subprocess.run(
            [sys.executable, "-m", "agentls", *args],
            cwd=self.workspace,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=dict(os.environ),
        )

    def exec_json(self, *args: str) -> dict[str, object]:
        done = self.agentls("exec", self.name, *args, "--json")
        assert done.stdout, done.stderr
        return json.loads(done.stdout)  # type: ignore[no-any-return]

    def configure(self, **config: object) -> None:
        """Merge ``config`` into the workspace's (trusted) ``.agentls.yaml``."""
        path = self.workspace / ".agentls.yaml"
        write_trusted(path, yaml.safe_dump(_merged(yaml.safe_load(path.read_text()), config)))


def _merged(base: dict[str, Any], layer: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in layer.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merged(merged[key], value)
        else:
            merged[key] = value
    return merged


def _environment(name: str, api: MockModelAPI, home: Path) -> dict[str, str]:
    common = {
        "HOME": str(home),
        "HTTPS_PROXY": CLOSED_PROXY,
        "HTTP_PROXY": CLOSED_PROXY,
        "NO_PROXY": "127.0.0.1,localhost",
        # Copilot unpacks ~235 MB on first use: once per machine, not per test.
        "XDG_CACHE_HOME": str(CACHE / "xdg-cache"),
    }
    own = {
        "claude": {
            "ANTHROPIC_BASE_URL": api.url,
            "ANTHROPIC_API_KEY": API_KEY,
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "DISABLE_AUTOUPDATER": "1",
        },
        "codex": {"OPENAI_API_KEY": API_KEY, "CODEX_HOME": str(home / ".codex")},
        "gemini": {"GOOGLE_GEMINI_BASE_URL": api.url, "GEMINI_API_KEY": API_KEY},
        "copilot": {
            "COPILOT_PROVIDER_BASE_URL": f"{api.url}/v1",
            "COPILOT_PROVIDER_API_KEY": API_KEY,
            "COPILOT_MODEL": "gpt-4.1",
            "COPILOT_OFFLINE": "true",
        },
    }
    return {**common, **own[name]}


def _config_files(name: str, api: MockModelAPI, home: Path) -> None:
    if name == "codex":
        codex = home / ".codex"
        codex.mkdir()
        (codex / "config.toml").write_text(
            'model = "mock-model"\n'
            'model_provider = "mock"\n'
            "check_for_update_on_startup = false\n"
            "[analytics]\nenabled = false\n"
            "[feedback]\nenabled = false\n"
            "[model_providers.mock]\n"
            'name = "mock"\n'
            f'base_url = "{api.url}/v1"\n'
            'env_key = "OPENAI_API_KEY"\n'
            'wire_api = "responses"\n'
            "request_max_retries = 0\n"  # one request per codex process: agentls retries
            "stream_max_retries = 0\n"
        )
    if name == "gemini":
        gemini = home / ".gemini"
        gemini.mkdir()
        settings = {
            "security": {"auth": {"selectedType": "gemini-api-key"}},
            "privacy": {"usageStatisticsEnabled": False},
            "telemetry": {"enabled": False},
            "general": {"enableAutoUpdate": False},
        }
        (gemini / "settings.json").write_text(json.dumps(settings))


def real_cli(
    name: str, api: MockModelAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> RealCLI:
    path = cli_binary(name)
    home = tmp_path / "home"
    home.mkdir()
    _config_files(name, api, home)
    for variable, value in _environment(name, api, home).items():
        monkeypatch.setenv(variable, value)
    # Never the fake CLIs: a run that missed the real one must fail, not pass on a fake.
    path_entries = os.environ["PATH"].split(os.pathsep)
    monkeypatch.setenv("PATH", os.pathsep.join(p for p in path_entries if p != str(FAKES_BIN)))
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "calc.py").write_text(SAMPLE)
    config = {"agents": {name: {"command": [str(path)]}}, "settings": SETTINGS}
    write_trusted(workspace / ".agentls.yaml", yaml.safe_dump(config))
    return RealCLI(name, path, api, workspace, home)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if item.path.is_relative_to(here):
            item.add_marker(pytest.mark.realcli)
