"""The offline review of a whole tree against ``ruff check`` on the same tree.

Two trees: a real project (httpx 0.28.1's sdist from PyPI, with its own ruff settings, as a
user would point agentls at it) and a generated git project of N Python files, each with four
problems ruff finds and fixes (a dense worst case: 2,000 findings, each with a fix agentls
turns into a suggestion). Baseline: ``ruff check`` (the bundled binary, its cheapest output,
``concise``) on the folder. Measured: ``agentls run offline`` on the same folder, in process
(configuration, listing the files, reading them, one ruff process, findings and suggestions,
the audit log) and as a user starts it from a terminal: handed to the resident process, and
with none. Neither ruff's cache nor agentls's is used by either side.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from agentls.adapters.ruff import _bundled_ruff
from agentls.domain.paths import WorkspacePaths
from agentls.orchestration.config_loader import load_config
from agentls.orchestration.runtime import Runtime
from agentls.orchestration.targets import expand
from agentls.orchestration.trust import trust
from agentls.orchestration.workflow import WorkflowEngine, WorkflowRequest
from tests.processes import marked

REAL_PROJECT = "httpx==0.28.1"
CACHE = Path(__file__).parent / ".cache"
"""Where the real project's sdist is kept between runs (not committed)."""

MODULE = '''"""Module {n}."""
import os
import sys


def load_{n}(path, cache={{}}):
    if path == None:
        return None
    with open(path) as handle:
        data = handle.read()
    return data


class Store{n}:
    def __init__(self, items):
        self.items = items

    def find(self, key):
        for item in self.items:
            if item.key == key:
                return item
        return None
'''
CLEAN = '''

def total_{n}_{k}(values):
    """The sum of the positive values."""
    result = 0
    for value in values:
        if value > 0:
            result += value
    return result
'''
"""Code ruff finds nothing in, ten lines: what fills a module up to its length."""
COLD = {
    "settings": {"cache": {"enabled": False}},
    "agents": {"ruff": {"extra_args": ["--no-cache"]}},
}


def tree(base: Path, files: int, lines: int = 200) -> Path:
    """A git project of ``files`` modules of about ``lines`` lines each, in folders of 25;
    four problems in each."""
    root = base / "tree"
    for n in range(files):
        path = root / "src" / f"pkg{n // 25}" / f"module_{n}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        text = MODULE.format(n=n)
        for k in range(-(-max(0, lines - text.count("\n")) // CLEAN.count("\n"))):
            text += CLEAN.format(n=n, k=k)
        path.write_text(text)
    (root / "ruff.toml").write_text('[lint]\nselect = ["E", "F", "B", "I"]\n')
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def real_project(base: Path) -> Path | None:
    """``REAL_PROJECT``'s sdist unpacked as a git project, or None where PyPI cannot be
    reached."""
    CACHE.mkdir(exist_ok=True)
    name, version = REAL_PROJECT.split("==")
    archive = CACHE / f"{name}-{version}.tar.gz"
    if not archive.exists():
        done = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary",
             ":all:", "--dest", str(CACHE), REAL_PROJECT],
            capture_output=True,
        )  # fmt: skip
        if done.returncode != 0 or not archive.exists():
            return None
    with tarfile.open(archive) as sdist:
        sdist.extractall(base, filter="data")
    root = base / f"{name}-{version}"
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def ruff_check(root: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        [_bundled_ruff(), "check", "--no-cache", "--exit-zero", "--output-format", "concise", "."],
        cwd=root,
        capture_output=True,
        check=True,
    )
    return time.perf_counter() - started


def ruff_findings(root: Path) -> int:
    done = subprocess.run(
        [_bundled_ruff(), "check", "--no-cache", "--exit-zero", "--output-format", "json", "."],
        cwd=root,
        capture_output=True,
        check=True,
    )
    return len(json.loads(done.stdout))


async def in_process(root: Path) -> tuple[float, int]:
    started = time.perf_counter()
    config = load_config(root)
    checked = WorkspacePaths(root.resolve())  # as `agentls run` does: each file checked once
    files = await expand(root, ["."], cwd=root, paths=checked)
    request = WorkflowRequest(
        workflow="offline",
        workspace=root,
        path=files[0],
        more_paths=tuple(files[1:]),
        paths=checked,
    )
    engine = WorkflowEngine(config, runtime=Runtime.create(config, "bench", use_cache=False))
    result = await engine.run(request)
    return time.perf_counter() - started, len(result.findings)


def from_terminal(root: Path, resident: bool, human: bool = False) -> float:
    """``agentls run offline .`` as typed in ``root``: handed to the resident process, or
    (``resident`` false) started from nothing; its JSON, or (``human``) its report."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "agentls", "run", "offline", ".", *([] if human else ["--json"])],
        cwd=root,
        capture_output=True,
        check=False,  # exit 1: findings
        env={**os.environ, "AGENTLS_RESIDENT": "1" if resident else "0"},
    )
    return time.perf_counter() - started


@contextmanager
def resident_process(root: Path) -> Iterator[None]:
    """A resident process of the benchmark's own (a runtime folder of its own, CI or not),
    listening before the first measured run; ended afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="run-", dir="/tmp"))  # short: a socket's path
    saved = {name: os.environ.get(name) for name in ("XDG_RUNTIME_DIR", "CI")}
    os.environ["XDG_RUNTIME_DIR"] = str(folder)
    os.environ.pop("CI", None)
    try:
        from_terminal(root, resident=True)  # starts it
        deadline = time.monotonic() + 60
        while not list((folder / "agentls").glob("*.sock")) and time.monotonic() < deadline:
            time.sleep(0.05)
        yield
    finally:
        for lock in (folder / "agentls").glob("*.lock"):
            pid = lock.read_text().strip()  # empty once it has ended
            if pid and int(pid) in marked("agentls.cli.resident"):
                os.kill(int(pid), signal.SIGTERM)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        shutil.rmtree(folder, ignore_errors=True)


def click_start() -> float:
    """A bare click program's start: what any Python CLI pays before its work."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import click"], check=True)
    return time.perf_counter() - started


@dataclass
class TreeReview:
    files: int
    ruff_s: float
    ruff_findings: int
    agentls_s: float
    agentls_findings: int
    terminal_s: float
    """From a terminal, handed to the resident process (``--json``)."""
    terminal_human_s: float
    """The same, its report for a person."""
    terminal_alone_s: float
    """From a terminal with no resident process (``AGENTLS_RESIDENT=0``)."""
    click_s: float
    """A bare click start-up, the terminal rows' baseline with ``ruff_s``."""


async def measure(root: Path, repeats: int) -> TreeReview:
    """Medians of ``repeats`` cold runs each, taken in turns so that both sides see the same
    machine."""
    (root / ".agentls.yaml").write_text(json.dumps(COLD))
    trust(root / ".agentls.yaml")
    await in_process(root)  # imports and first-use set-up are not the tree's cost
    baseline, ours, terminal, human, alone, click = [], [], [], [], [], []
    with resident_process(root):
        for _ in range(repeats):
            baseline.append(ruff_check(root))
            ours.append(await in_process(root))
            terminal.append(from_terminal(root, resident=True))
            human.append(from_terminal(root, resident=True, human=True))
            alone.append(from_terminal(root, resident=False))
            click.append(click_start())
    python = sum(1 for path in root.rglob("*.py") if ".git" not in path.parts)
    return TreeReview(
        files=python,
        ruff_s=statistics.median(baseline),
        ruff_findings=ruff_findings(root),
        agentls_s=statistics.median(t for t, _ in ours),
        agentls_findings=ours[0][1],
        terminal_s=statistics.median(terminal),
        terminal_human_s=statistics.median(human),
        terminal_alone_s=statistics.median(alone),
        click_s=statistics.median(click),
    )
