"""The offline review of a whole tree against ``ruff check`` on the same tree.

Two trees: a real project (httpx 0.28.1's sdist from PyPI, with its own ruff settings, as a
user would point agentls at it) and a generated git project of N Python files, each with four
problems ruff finds and fixes (a dense worst case: 2,000 findings, each with a fix agentls
turns into a suggestion). Baseline: ``ruff check`` (the bundled binary, its cheapest output,
``concise``) on the folder. Measured: ``agentls run offline`` on the same folder, in process
(configuration, listing the files, reading them, one ruff process, findings and suggestions,
the audit log) and as a user starts it from a terminal (a Python start-up more). Neither
ruff's cache nor agentls's is used by either side.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

from agentls.adapters.ruff import _bundled_ruff
from agentls.orchestration.config_loader import load_config
from agentls.orchestration.runtime import Runtime
from agentls.orchestration.targets import expand
from agentls.orchestration.trust import trust
from agentls.orchestration.workflow import WorkflowEngine, WorkflowRequest

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
COLD = {
    "settings": {"cache": {"enabled": False}},
    "agents": {"ruff": {"extra_args": ["--no-cache"]}},
}


def tree(base: Path, files: int) -> Path:
    """A git project of ``files`` modules in folders of 25."""
    root = base / "tree"
    for n in range(files):
        path = root / "src" / f"pkg{n // 25}" / f"module_{n}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(MODULE.format(n=n))
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
    files = await expand(root, ["."], cwd=root)
    request = WorkflowRequest(
        workflow="offline", workspace=root, path=files[0], more_paths=tuple(files[1:])
    )
    engine = WorkflowEngine(config, runtime=Runtime.create(config, "bench", use_cache=False))
    result = await engine.run(request)
    return time.perf_counter() - started, len(result.findings)


def from_terminal(root: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "agentls", "run", "offline", ".", "--json"],
        cwd=root,
        capture_output=True,
        check=False,  # exit 1: findings
    )
    return time.perf_counter() - started


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
    click_s: float
    """A bare click start-up, the terminal row's baseline with ``ruff_s``."""


async def measure(root: Path, repeats: int) -> TreeReview:
    """Medians of ``repeats`` cold runs each, taken in turns so that both sides see the same
    machine."""
    (root / ".agentls.yaml").write_text(json.dumps(COLD))
    trust(root / ".agentls.yaml")
    await in_process(root)  # imports and first-use set-up are not the tree's cost
    baseline, ours, terminal, click = [], [], [], []
    for _ in range(repeats):
        baseline.append(ruff_check(root))
        ours.append(await in_process(root))
        terminal.append(from_terminal(root))
        click.append(click_start())
    python = sum(1 for path in root.rglob("*.py") if ".git" not in path.parts)
    return TreeReview(
        files=python,
        ruff_s=statistics.median(baseline),
        ruff_findings=ruff_findings(root),
        agentls_s=statistics.median(t for t, _ in ours),
        agentls_findings=ours[0][1],
        terminal_s=statistics.median(terminal),
        click_s=statistics.median(click),
    )
