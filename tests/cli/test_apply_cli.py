"""``agentls run --apply`` and ``undo`` on real files: formats kept, faults put right.

The read-only folder and the full disk are real: a read-only bind mount and a 64 KiB tmpfs made
by bubblewrap (the tests run as root, for whom chmod cannot make a folder read-only).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.cli.test_cli import agentls
from tests.conftest import SAMPLE, Scenario, write_trusted
from tests.fakes.script import fake_env, write_scenario

pytestmark = pytest.mark.usefixtures("credentials")

NEW_MEAN = "def mean(values):\n    return sum(values) / len(values) if values else 0.0\n"
CRLF_SAMPLE = SAMPLE.replace("\n", "\r\n").encode()
LATIN1 = "# -*- coding: latin-1 -*-\nname = 'café'\n".encode("latin-1")
LATIN1_NEW = "# -*- coding: latin-1 -*-\nname = 'déjà vu'\n"
RUN_AND_LIST = Path(__file__).with_name("run_and_list.py")
APPLY = [sys.executable, "-m", "agentls", "run", "one", "calc.py:5-6", "--apply", "--json"]


def reply(*blocks: tuple[str | None, str]) -> str:
    """A reply with a code block per (path or None for the selection, code)."""
    return "".join(
        f"```python{f' path={path}' if path else ''}\n{code}```\n" for path, code in blocks
    )


def leftovers(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if ".agentls-" in p.name)


def bwrap(*mounts: str) -> list[str]:
    """The argv prefix that runs a command with ``mounts`` over the real filesystem."""
    binary = shutil.which("bwrap")
    if binary is None:
        pytest.skip("bubblewrap (bwrap) is not installed: cannot make a read-only or full mount")
    argv = [binary, "--bind", "/", "/", *mounts, "--dev", "/dev", "--proc", "/proc"]
    probe = subprocess.run([*argv, "true"], capture_output=True, text=True, timeout=60)
    if probe.returncode != 0:
        pytest.skip(f"bubblewrap cannot make these mounts here: {probe.stderr.strip()}")
    return argv


def test_crlf_and_latin1_files_keep_their_bytes_and_undo_restores_them_exactly(
    one_step: Path, scenario: Scenario
) -> None:
    ws = one_step
    (ws / "calc.py").write_bytes(CRLF_SAMPLE)
    (ws / "legacy.py").write_bytes(LATIN1)
    scenario("ok", reply=reply((None, NEW_MEAN), ("legacy.py", LATIN1_NEW)))
    done = agentls("run", "one", "calc.py:5-6", "--apply", "--json", cwd=ws)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert sorted(result["applied"]) == ["calc.py", "legacy.py"]
    expected = SAMPLE.replace("def mean(values):\n    return sum(values) / len(values)\n", NEW_MEAN)
    assert (ws / "calc.py").read_bytes() == expected.replace("\n", "\r\n").encode()
    assert (ws / "legacy.py").read_bytes() == LATIN1_NEW.encode("latin-1")

    undone = agentls("undo", result["run_id"], cwd=ws)
    assert undone.returncode == 0, undone.stderr
    assert (ws / "calc.py").read_bytes() == CRLF_SAMPLE
    assert (ws / "legacy.py").read_bytes() == LATIN1
    assert leftovers(ws) == []


def test_a_read_only_file_is_refused_in_one_line(one_step: Path, scenario: Scenario) -> None:
    ws = one_step
    (ws / "calc.py").chmod(0o444)
    scenario("ok", reply=reply((None, NEW_MEAN)))
    done = agentls("run", "one", "calc.py:5-6", "--apply", "--json", cwd=ws)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "agentls: calc.py is read-only (mode 0444); nothing was written. "
        "Make it writable (chmod u+w calc.py) to let agentls change it"
    ]
    assert (ws / "calc.py").read_text() == SAMPLE


@pytest.mark.parametrize(
    ("other", "message"),
    [
        (
            "pkg/new.py",
            "could not write pkg/new.py (Read-only file system); nothing was changed: "
            "the 1 file already written was restored",
        ),
        ("pkg/old.py", "could not write pkg/old.py (Read-only file system); nothing was changed"),
    ],
)
def test_a_read_only_folder_changes_nothing_and_says_so_in_one_line(
    one_step: Path, scenario: Scenario, other: str, message: str
) -> None:
    ws = one_step
    (ws / "pkg").mkdir()
    (ws / "pkg" / "old.py").write_text("old\n")
    scenario("ok", reply=reply((None, NEW_MEAN), (other, "x = 1\n")))
    sandbox = bwrap("--ro-bind", str(ws / "pkg"), str(ws / "pkg"))
    done = subprocess.run(
        [*sandbox, *APPLY], cwd=ws, capture_output=True, text=True, timeout=120, env=os.environ
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr.splitlines() == [f"agentls: {message}"]
    assert (ws / "calc.py").read_text() == SAMPLE
    assert (ws / "pkg" / "old.py").read_text() == "old\n" and not (ws / "pkg" / "new.py").exists()
    assert leftovers(ws) == []
    history = json.loads(agentls("history", "--json", cwd=ws).stdout)
    undone = agentls("undo", history[0]["run_id"], cwd=ws)
    assert undone.returncode == 2 and "nothing applied to undo" in undone.stderr


def test_a_full_disk_changes_nothing_and_leaves_no_temporary_file(
    one_step: Path, scenario: Scenario, tmp_path: Path
) -> None:
    ws = one_step
    (ws / "big").mkdir()  # a 64 KiB tmpfs in the sandbox
    huge = "x = 1\n" * 40_000
    scenario("ok", reply=reply((None, NEW_MEAN), ("big/huge.py", huge)))
    sandbox = bwrap("--size", str(64 * 1024), "--tmpfs", str(ws / "big"))
    report_file = tmp_path / "report.json"
    argv = [sys.executable, str(RUN_AND_LIST), str(report_file), str(ws / "big"), "--", *APPLY]
    done = subprocess.run(
        [*sandbox, *argv], cwd=ws, capture_output=True, text=True, timeout=120, env=os.environ
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(report_file.read_text())
    assert report["returncode"] == 1, report["stderr"]
    assert report["stderr"].splitlines() == [
        "agentls: could not write big/huge.py (No space left on device); nothing was changed: "
        "the 1 file already written was restored"
    ]
    assert report["files"] == {}  # the full folder: no temporary file left in it
    assert (ws / "calc.py").read_text() == SAMPLE
    assert leftovers(ws) == []


def test_an_agentic_step_on_crlf_and_latin1_files_keeps_their_formats(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "fake"  # the private /tmp of a contained agent hides tmp_path
    fake.mkdir()
    config = yaml.safe_load((workspace / ".agentls.yaml").read_text())
    step = {"agent": "codex", "task": "implement", "mode": "agentic"}
    config["workflows"] = {"boxed": {"steps": [step]}}
    config.setdefault("agents", {}).setdefault("codex", {})["sandbox_paths"] = [str(fake)]
    write_trusted(workspace / ".agentls.yaml", yaml.safe_dump(config))
    (workspace / "calc.py").write_bytes(CRLF_SAMPLE)
    expected = SAMPLE.replace("def mean(values):\n    return sum(values) / len(values)\n", NEW_MEAN)
    (workspace / "legacy.py").write_bytes(LATIN1)
    edits = {"calc.py": expected.replace("\n", "\r\n")}
    # What an agent does to a latin-1 file: it writes latin-1 bytes.
    write_latin1 = f"open('legacy.py', 'wb').write({LATIN1_NEW.encode('latin-1')!r})"
    commands = [[sys.executable, "-c", write_latin1]]
    scenario = write_scenario(fake, None, reply="done", edits=edits, commands=commands)
    for name, value in fake_env(scenario).items():
        monkeypatch.setenv(name, value)
    done = agentls("run", "boxed", "calc.py", "--apply", "--json", cwd=workspace)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert sorted(result["applied"]) == ["calc.py", "legacy.py"], result
    for edit in result["edits"]:
        assert "\r" not in edit.get("new_text", "")  # edits are on text with \n line ends
    assert (workspace / "calc.py").read_bytes() == expected.replace("\n", "\r\n").encode()
    assert (workspace / "legacy.py").read_bytes() == LATIN1_NEW.encode("latin-1")
