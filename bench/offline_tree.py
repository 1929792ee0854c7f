"""The offline review of a whole tree against ``ruff check`` on the same tree.

A generated git project of N Python files, each with a few problems ruff finds. Baseline:
``ruff check`` (the bundled binary) on the project folder. Measured: ``agentls run offline``
on the same folder, in process (listing the files, reading them, one ruff process, findings
and suggestions) and as a user starts it from a terminal (a Python start-up more).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from agentls.adapters.ruff import _bundled_ruff
from agentls.orchestration.config_loader import load_config
from agentls.orchestration.runtime import Runtime
from agentls.orchestration.targets import expand
from agentls.orchestration.trust import trust
from agentls.orchestration.workflow import WorkflowEngine, WorkflowRequest

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


def ruff_check(root: Path) -> tuple[float, int]:
    started = time.perf_counter()
    done = subprocess.run(
        [_bundled_ruff(), "check", "--no-cache", "--output-format", "concise", "--exit-zero", "."],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    found = sum(1 for line in done.stdout.splitlines() if line.startswith("src/"))
    return time.perf_counter() - started, found


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
        check=True,
    )
    return time.perf_counter() - started


@dataclass
class TreeReview:
    files: int
    ruff_s: float
    ruff_findings: int
    agentls_s: float
    agentls_findings: int
    terminal_s: float


async def measure(base: Path, files: int, repeats: int) -> TreeReview:
    """Medians of ``repeats`` cold runs each: neither ruff's cache nor agentls's is used."""
    root = tree(base, files)
    (root / ".agentls.yaml").write_text(json.dumps({"settings": {"cache": {"enabled": False}}}))
    trust(root / ".agentls.yaml")
    baseline = [ruff_check(root) for _ in range(repeats)]
    ours = [await in_process(root) for _ in range(repeats)]
    terminal = [from_terminal(root) for _ in range(repeats)]
    return TreeReview(
        files=files,
        ruff_s=statistics.median(t for t, _ in baseline),
        ruff_findings=baseline[0][1],
        agentls_s=statistics.median(t for t, _ in ours),
        agentls_findings=ours[0][1],
        terminal_s=statistics.median(terminal),
    )
