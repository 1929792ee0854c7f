"""The configuration chain ruff reads for a file, checked against ruff's own answer
(``ruff check --show-settings``) where ruff can say."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from agentls.adapters.registry import AdapterRegistry
from agentls.adapters.ruff import RuffAdapter
from agentls.adapters.ruff_config import config_chain
from agentls.domain.config import AgentConfig, Settings

RUFF_TABLE = "[tool.ruff]\nline-length = 90\n"


def write(path: Path, text: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def ruffs_settings_path(file: Path, environ: dict[str, str]) -> Path | None:
    """The configuration ruff itself resolves for ``file`` (None: its defaults)."""
    ruff = RuffAdapter("ruff", AgentConfig(adapter="ruff"), Settings()).command()[0]
    shown = subprocess.run(
        [ruff, "check", "--show-settings", str(file)],
        cwd=file.parent,
        env=environ,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    match = re.search(r'^Settings path: "(.*)"$', shown, re.MULTILINE)
    return Path(match[1]) if match else None


@pytest.fixture
def environ(tmp_path: Path) -> dict[str, str]:
    return {"HOME": str(tmp_path / "home"), "XDG_CONFIG_HOME": str(tmp_path / "config")}


def chain(file: Path, environ: dict[str, str], *args: str) -> list[Path]:
    return config_chain(file, file.parent, args, environ)


def test_nested_projects_each_file_gets_its_nearest_config(
    tmp_path: Path, environ: dict[str, str]
) -> None:
    outer = write(tmp_path / "repo" / "pyproject.toml", RUFF_TABLE)
    inner = write(tmp_path / "repo" / "sub" / "ruff.toml", "line-length = 80\n")
    deep = write(tmp_path / "repo" / "sub" / "pkg" / "mod.py")
    beside = write(tmp_path / "repo" / "other" / "mod.py")
    assert chain(deep, environ) == [inner] == [ruffs_settings_path(deep, environ)]
    assert chain(beside, environ) == [outer] == [ruffs_settings_path(beside, environ)]


def test_in_one_folder_dot_ruff_toml_wins_then_ruff_toml_then_pyproject(
    tmp_path: Path, environ: dict[str, str]
) -> None:
    file = write(tmp_path / "p" / "mod.py")
    write(tmp_path / "p" / "pyproject.toml", RUFF_TABLE)
    plain = write(tmp_path / "p" / "ruff.toml", "line-length = 80\n")
    assert chain(file, environ) == [plain] == [ruffs_settings_path(file, environ)]
    dotted = write(tmp_path / "p" / ".ruff.toml", "line-length = 70\n")
    assert chain(file, environ) == [dotted] == [ruffs_settings_path(file, environ)]


def test_a_pyproject_without_a_ruff_table_is_passed_over(
    tmp_path: Path, environ: dict[str, str]
) -> None:
    config = write(tmp_path / "repo" / "ruff.toml", "line-length = 80\n")
    write(tmp_path / "repo" / "app" / "pyproject.toml", '[project]\nname = "app"\n')
    file = write(tmp_path / "repo" / "app" / "mod.py")
    assert chain(file, environ) == [config] == [ruffs_settings_path(file, environ)]


def test_the_extend_chain_is_followed_relative_to_each_file(
    tmp_path: Path, environ: dict[str, str]
) -> None:
    first = write(tmp_path / "repo" / "ruff.toml", 'extend = "../shared/base.toml"\n')
    second = write(tmp_path / "shared" / "base.toml", 'extend = "deeper/pyproject.toml"\n')
    third = write(tmp_path / "shared" / "deeper" / "pyproject.toml", RUFF_TABLE)
    file = write(tmp_path / "repo" / "mod.py")
    assert chain(file, environ) == [first, second, third]


def test_an_extend_of_pyproject_tool_ruff_is_followed_and_a_cycle_ends_the_chain(
    tmp_path: Path, environ: dict[str, str]
) -> None:
    project = write(
        tmp_path / "repo" / "pyproject.toml", '[tool.ruff]\nextend = "ruff-base.toml"\n'
    )
    base = write(tmp_path / "repo" / "ruff-base.toml", 'extend = "pyproject.toml"\n')
    file = write(tmp_path / "repo" / "mod.py")
    assert chain(file, environ) == [project, base]


def test_an_extend_of_a_missing_file_is_in_the_chain(
    tmp_path: Path, environ: dict[str, str]
) -> None:
    config = write(tmp_path / "repo" / "ruff.toml", 'extend = "~/base.toml"\n')
    file = write(tmp_path / "repo" / "mod.py")
    assert chain(file, environ) == [config, Path(environ["HOME"]) / "base.toml"]


def test_the_user_config_applies_only_without_a_project_config(
    tmp_path: Path, environ: dict[str, str]
) -> None:
    user = write(Path(environ["XDG_CONFIG_HOME"]) / "ruff" / "ruff.toml", "line-length = 70\n")
    file = write(tmp_path / "repo" / "mod.py")
    assert chain(file, environ) == [user] == [ruffs_settings_path(file, environ)]
    project = write(tmp_path / "repo" / "pyproject.toml", RUFF_TABLE)
    assert chain(file, environ) == [project] == [ruffs_settings_path(file, environ)]


def test_without_xdg_config_home_the_user_config_is_under_home(tmp_path: Path) -> None:
    environ = {"HOME": str(tmp_path / "home")}
    user = write(
        tmp_path / "home" / ".config" / "ruff" / "pyproject.toml", '[project]\nname = "x"\n'
    )
    file = write(tmp_path / "repo" / "mod.py")
    assert chain(file, environ) == [user] == [ruffs_settings_path(file, environ)]


def test_no_config_anywhere_is_an_empty_chain(tmp_path: Path, environ: dict[str, str]) -> None:
    file = write(tmp_path / "repo" / "mod.py")
    assert chain(file, environ) == [] and ruffs_settings_path(file, environ) is None


def test_config_and_isolated_arguments_replace_the_search(
    tmp_path: Path, environ: dict[str, str]
) -> None:
    write(tmp_path / "repo" / "ruff.toml", "line-length = 80\n")
    chosen = write(tmp_path / "repo" / "strict.toml", "line-length = 60\n")
    file = write(tmp_path / "repo" / "mod.py")
    assert chain(file, environ, "--config", "strict.toml") == [chosen]
    assert chain(file, environ, "--config=strict.toml") == [chosen]
    assert chain(file, environ, "--config", "lint.select = ['E']") == [
        tmp_path / "repo" / "ruff.toml"
    ]
    assert chain(file, environ, "--isolated") == []


def test_the_ruff_adapter_keys_on_the_configs_of_every_file_of_a_request(
    tmp_path: Path, environ: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    root = write(tmp_path / "ws" / "ruff.toml", "line-length = 80\n")
    sub = write(tmp_path / "ws" / "sub" / ".ruff.toml", 'extend = "../ruff.toml"\n')
    adapter = AdapterRegistry.default().create("ruff", AgentConfig(adapter="ruff"), Settings())
    targets = ["a.py", "b.py", "sub/c.py"]
    assert adapter.answer_inputs(tmp_path / "ws", targets) == [root, sub]
