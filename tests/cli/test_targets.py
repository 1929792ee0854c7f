"""Targets a user points ``agentls run`` at: several files, a folder, a glob, what changed.

Driven as a user drives it: the real CLI in a generated project, the bundled ruff as the
offline reviewer; agent steps through the fakes.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from agentls.domain.errors import TaskInputError
from agentls.orchestration.targets import changed_files
from tests.cli.test_cli import agentls
from tests.conftest import TEST_SETTINGS, Scenario, fsmonitor, git, write_trusted

UNUSED = "import {name}\n"
"""A file ruff finds one problem in (F401, the import is unused)."""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A git project: two tracked packages, an ignored virtualenv, a README and an image."""
    root = tmp_path / "project"
    for path, name in [
        ("app/core.py", "os"),
        ("app/util/strings.py", "sys"),
        ("tools/build.py", "json"),
        (".venv/lib/site.py", "re"),
    ]:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(UNUSED.format(name=name))
    (root / "README.md").write_text("# project\n")
    (root / "app" / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    (root / ".gitignore").write_text(".venv/\n")
    write_trusted(root / ".agentls.yaml", TEST_SETTINGS)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", ".")
    git(root, "commit", "-qm", "start")
    return root


def reviewed(root: Path, *args: str, cwd: Path | None = None) -> dict[str, Any]:
    done = agentls("run", "offline", *args, "--json", cwd=cwd or root)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def paths(result: dict[str, Any]) -> set[str]:
    return {finding["path"] for finding in result["findings"]}


def test_a_folder_is_its_files_as_git_sees_them(project: Path) -> None:
    (project / "app" / "new.py").write_text(UNUSED.format(name="io"))  # untracked, not ignored
    result = reviewed(project, "app")
    assert paths(result) == {"app/core.py", "app/util/strings.py", "app/new.py"}
    assert "app/logo.png" in result["summary"] and "not text" in result["summary"]
    assert result["files"] == ["app/core.py", "app/new.py", "app/util/strings.py"]


def test_the_workspace_folder_honours_gitignore_and_names_what_ruff_skipped(
    project: Path,
) -> None:
    result = reviewed(project, ".")
    assert paths(result) == {"app/core.py", "app/util/strings.py", "tools/build.py"}
    assert ".venv/lib/site.py" not in result["files"]
    assert "review skipped 3 files (ruff reviews Python files)" in result["summary"]


def test_several_files_and_a_glob(project: Path) -> None:
    assert paths(reviewed(project, "app/core.py", "tools/build.py")) == {
        "app/core.py",
        "tools/build.py",
    }
    assert paths(reviewed(project, "**/strings.py")) == {"app/util/strings.py"}
    assert paths(reviewed(project, "*.py", cwd=project / "tools")) == {"tools/build.py"}


def test_a_glob_honours_gitignore(project: Path) -> None:
    assert ".venv/lib/site.py" not in reviewed(project, "**/*.py")["files"]


def test_changed_is_the_diff_against_head_and_the_untracked_files(project: Path) -> None:
    (project / "app" / "core.py").write_text("import io\nimport os\n")
    (project / "fresh.py").write_text(UNUSED.format(name="csv"))
    (project / "tools" / "build.py").unlink()  # deleted: nothing to review
    result = reviewed(project, "--changed")
    assert result["files"] == ["app/core.py", "fresh.py"]
    assert len(result["findings"]) == 3


def test_changed_against_a_revision(project: Path) -> None:
    git(project, "checkout", "-qb", "feature")
    (project / "tools" / "build.py").write_text("import json\nimport os\n")
    git(project, "commit", "-qam", "feature work")
    assert reviewed(project, "--changed", "main")["files"] == ["tools/build.py"]


def test_nothing_changed_is_said(project: Path) -> None:
    done = agentls("run", "offline", "--changed", cwd=project)
    assert done.returncode == 2
    assert "nothing changed against HEAD" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("revision", ["--output={written}", "-o{written}"])
def test_a_revision_cannot_be_an_option_for_git(
    project: Path, tmp_path: Path, revision: str
) -> None:
    """``git diff --output=FILE`` writes FILE: a revision from a user or a client is never
    taken as an option."""
    written = tmp_path / "written-by-git"
    done = agentls("run", "offline", f"--changed={revision.format(written=written)}", cwd=project)
    assert done.returncode == 2
    with pytest.raises(TaskInputError, match="is not a revision"):
        asyncio.run(changed_files(project, revision.format(written=written)))
    assert not written.exists()


def test_a_repository_config_cannot_run_a_program_while_listing(
    project: Path, tmp_path: Path
) -> None:
    """A cloned repository's ``core.fsmonitor`` names a program git would run."""
    hook, ran = fsmonitor(tmp_path)
    git(project, "config", "core.fsmonitor", str(hook))
    (project / "app" / "core.py").write_text("import os\nimport io\n")
    reviewed(project, "app")
    reviewed(project, "--changed")
    assert not ran.exists()


def test_a_link_out_of_the_workspace_is_not_read(project: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.py"
    secret.write_text("import secrets\n")
    os.symlink(secret, project / "app" / "linked.py")
    result = reviewed(project, "app")
    assert "app/linked.py" not in result["files"]
    assert all("secrets" not in finding["message"] for finding in result["findings"])


def test_outside_git_a_folder_skips_hidden_and_dependency_folders(tmp_path: Path) -> None:
    root = tmp_path / "plain"
    for path in ("src/a.py", "node_modules/pkg/b.py", ".hidden/c.py", "src/.d.py"):
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(UNUSED.format(name="os"))
    write_trusted(root / ".agentls.yaml", TEST_SETTINGS)
    assert reviewed(root, ".")["files"] == ["src/a.py"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("app/core.py:1-1", "tools/build.py"), "a line range needs a single file"),
        (("nowhere",), "does not exist"),
        (("*.rs",), "*.rs matches no file"),
        ((), "give a file, folder or glob"),
    ],
)
def test_bad_targets_are_one_line_and_no_run(
    project: Path, args: tuple[str, ...], message: str
) -> None:
    done = agentls("run", "offline", *args, cwd=project)
    assert done.returncode == 2, done.stdout
    assert message in done.stderr and "Traceback" not in done.stderr
    history = agentls("history", "--json", cwd=project)
    assert json.loads(history.stdout) == []


def test_ruff_reviews_every_file_in_one_process(project: Path, tmp_path: Path) -> None:
    """A ruff that records each start: three files, one process."""
    calls = tmp_path / "ruff-calls"
    ruff = tmp_path / "ruff"
    real = subprocess.run(
        [sys.executable, "-c", "from ruff.__main__ import find_ruff_bin; print(find_ruff_bin())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    ruff.write_text(f'#!/bin/sh\necho "$@" >> {calls}\nexec {real} "$@"\n')
    ruff.chmod(0o755)
    config = yaml.safe_load(TEST_SETTINGS)
    config["agents"] = {"ruff": {"command": [str(ruff)], "sandbox": "off"}}  # it logs beside
    write_trusted(project / ".agentls.yaml", yaml.safe_dump(config))
    result = reviewed(project, "app", "tools")
    assert len(result["findings"]) == 3
    checks = [line for line in calls.read_text().splitlines() if line.startswith("check")]
    assert len(checks) == 1


def test_an_agent_gets_one_request_per_file(
    project: Path,
    scenario: Scenario,
    credentials: None,
    fake_log: Callable[[], list[dict[str, Any]]],
) -> None:
    scenario("ok", reply='{"findings": []}')
    config = yaml.safe_load(TEST_SETTINGS)
    config["workflows"] = {"look": {"steps": [{"agent": "gemini", "task": "review"}]}}
    write_trusted(project / ".agentls.yaml", yaml.safe_dump(config))
    done = agentls("run", "look", "app", "--json", cwd=project)
    assert done.returncode == 0, done.stderr
    prompts = sorted(call["prompt"] for call in fake_log())
    assert len(prompts) == 2
    assert "app/core.py" in prompts[0] and "app/util/strings.py" in prompts[1]


def test_exec_on_a_folder_points_to_run(project: Path) -> None:
    done = agentls("exec", "ruff", "app", "--task", "review", cwd=project)
    assert done.returncode == 2
    assert "app is a folder; exec runs one agent on one file" in done.stderr
    assert "`agentls run WORKFLOW app`" in done.stderr


def test_a_follow_up_covers_the_same_files(project: Path) -> None:
    first = reviewed(project, "app")
    done = agentls("followup", first["run_id"], "again", "--json", cwd=project)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["files"] == first["files"]


def test_a_revision_git_does_not_know_says_what_to_give(project: Path) -> None:
    done = agentls("run", "offline", "--changed", "no-such-branch", cwd=project)
    assert done.returncode == 2
    assert "cannot diff against 'no-such-branch'" in done.stderr
    assert "give a branch, tag or commit of this repository" in done.stderr


def test_a_folder_outside_the_workspace_is_refused(project: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "secret.py").write_text("import secrets\n")
    done = agentls("run", "offline", str(outside), "--workspace", str(project), cwd=project)
    assert done.returncode == 2
    assert "is outside the workspace" in done.stderr and "secrets" not in done.stdout
