"""agentls benchmarks: each figure a ratio against a baseline measured in the same run.

    python bench/run.py [--quick]      (make bench)

Writes bench/README.md. Agents are the fake CLIs of tests/fakes (they answer at once or after
a set delay), so what is measured is agentls, not a model.
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


import agentls  # noqa: E402
from agentls.adapters.runner import ProcessSpec, minimal_env, run_process  # noqa: E402
from agentls.domain.results import Finding, TaskKind  # noqa: E402
from agentls.orchestration.config_loader import load_config  # noqa: E402
from agentls.orchestration.runtime import Runtime  # noqa: E402
from agentls.orchestration.sandbox import sandbox  # noqa: E402
from agentls.orchestration.tasks import TaskSpec, run_task  # noqa: E402
from agentls.orchestration.trust import trust  # noqa: E402
from agentls.orchestration.workflow import WorkflowEngine, WorkflowRequest  # noqa: E402
from bench import acp_overhead  # noqa: E402
from bench.offline_tree import REAL_PROJECT, TreeReview, real_project, tree  # noqa: E402
from bench.offline_tree import measure as review_tree  # noqa: E402
from bench.server_memory import memory_workspace, rss_after_runs  # noqa: E402
from tests.server.rawlsp import RawServer as Client  # noqa: E402

FAKES = ROOT / "tests" / "fakes" / "bin"
AGENTLS = [sys.executable, "-m", "agentls", "serve", "--log-level", "WARNING"]
BARE = [sys.executable, str(Path(__file__).parent / "bare_server.py")]
ENV = {
    "PATH": f"{FAKES}{os.pathsep}{os.environ['PATH']}",
    "ANTHROPIC_API_KEY": "bench",
    "CODEX_API_KEY": "bench",
    "GEMINI_API_KEY": "bench",
    "GH_TOKEN": "bench",
}


IMPORT_NOTE = (
    "both servers pay for Python and lsprotocol's types (most of the baseline); agentls also "
    "imports its own gates (`agentls serve` reads its options with argparse: no click), and "
    "loads the configuration, pydantic and what runs agents when a document first opens "
    "(tests/test_start_up.py holds which modules load before the answer). Start-up runs "
    "without the garbage collector, which then skips what start-up made (a full collection "
    "while lsprotocol's converter was built cost about 25 ms)"
)


@dataclass
class Row:
    what: str
    baseline: str
    measured: str
    ratio: str
    target: str
    met: bool
    note: str = ""


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def workspace(base: Path, lines: int = 10_000) -> Path:
    root = base / "ws"
    root.mkdir()
    (root / "big.py").write_text("".join(f"value_{n} = {n}\n" for n in range(lines)))
    scenarios: dict[str, dict[str, object]] = {}
    for agent, behavior in {
        "codex": "hang",
        "gemini": "ok",
        "claude": "ok",
        "copilot": "ok",
    }.items():
        scenario = fakes_io(base) / f"{agent}.json"
        scenario.write_text(json.dumps({"behavior": behavior, "reply": '{"findings": []}'}))
        scenarios[agent] = {
            "set_env": {"AGENTLS_FAKE_SCENARIO": str(scenario)},
            "sandbox_paths": [str(fakes_io(base))],
        }
    config = {
        "agents": scenarios,
        "settings": {"cache": {"enabled": False}, "audit": {"enabled": False}},
    }
    write_config(root, config)
    return root


def fakes_io(base: Path) -> Path:
    """Where the fakes' scenarios are: agents contained in bubblewrap (as a review is, and an
    agentic step) see the temp folder empty but for their ``sandbox_paths``."""
    folder = base / "fakes-io"
    folder.mkdir(exist_ok=True)
    return folder


def write_config(root: Path, config: dict[str, object]) -> None:
    """The benchmark's workspace file, trusted (it sets the fakes' scenarios) in the
    benchmark's own state folder."""
    (root / ".agentls.yaml").write_text(json.dumps(config))
    trust(root / ".agentls.yaml")


def isolate(base: Path) -> None:
    """The benchmark's own config and state folders, and the fakes first on PATH."""
    os.environ.update({k: v for k, v in ENV.items() if k != "PATH"})
    os.environ["PATH"] = ENV["PATH"]
    os.environ["XDG_CONFIG_HOME"] = str(base / "config")
    os.environ["XDG_STATE_HOME"] = str(base / "state")


# -- 1. code actions while workflows run ------------------------------------------------


async def code_action_latency(command: list[str], root: Path, runs: int, count: int) -> list[float]:
    client = await Client.start(root, command, ENV)
    try:
        await client.initialize(root)
        uri = client.open(root / "big.py")
        for _ in range(runs):
            await client.request(
                "workspace/executeCommand",
                {"command": "agentls.runWorkflow", "arguments": [{"uri": uri}]},
            )
        await asyncio.sleep(1.0 if runs else 0.2)  # the agents are running
        params = {
            "textDocument": {"uri": uri},
            "range": {
                "start": {"line": 5000, "character": 0},
                "end": {"line": 5010, "character": 0},
            },
            "context": {"diagnostics": []},
        }
        for _ in range(20):  # warm up
            await client.request("textDocument/codeAction", params)
        return [await client.timed("textDocument/codeAction", params) for _ in range(count)]
    finally:
        await client.close()


def latency_row(when: str, bare: list[float], ours: list[float]) -> Row:
    p50, p99 = percentile(ours, 0.5), percentile(ours, 0.99)
    b50, b99 = percentile(bare, 0.5), percentile(bare, 0.99)
    return Row(
        f"`textDocument/codeAction` p50 / p99, 10,000-line file, {when}",
        f"{ms(b50)} / {ms(b99)}",
        f"{ms(p50)} / {ms(p99)}",
        f"{p50 / b50:.2f}x / {p99 / b99:.2f}x",
        "p99 <= 2 ms and <= 2x",
        p99 <= 0.002 and p99 / b99 <= 2,
    )


def cli_start(arguments: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, *arguments], capture_output=True, check=True)
    return time.perf_counter() - started


# -- 2 and 7. initialize, idle memory --------------------------------------------------


async def initialize_and_rss(command: list[str], root: Path) -> tuple[float, int]:
    started = time.perf_counter()
    client = await Client.start(root, command, ENV)
    try:
        await client.initialize(root)
        elapsed = time.perf_counter() - started
        await asyncio.sleep(0.5)
        return elapsed, client.rss_kib()
    finally:
        await client.close()


# -- 3. orchestration overhead per step -----------------------------------------------


def direct_spawn(root: Path, prompt: str) -> float:
    env = minimal_env([], {"AGENTLS_FAKE_SCENARIO": str(fakes_io(root.parent) / "gemini.json")})
    started = time.perf_counter()
    subprocess.run(
        [
            str(FAKES / "gemini"),
            "-p",
            "Follow the instructions above.",
            "-o",
            "stream-json",
            "--approval-mode",
            "default",
        ],
        input=prompt,
        capture_output=True,
        text=True,
        env={**env, "GEMINI_API_KEY": "bench", "GEMINI_CLI_TRUST_WORKSPACE": "true"},
        cwd=root,
        check=True,
    )
    return time.perf_counter() - started


async def through_agentls(root: Path, runtime: Runtime) -> float:
    config = runtime.config
    spec = TaskSpec(agent="gemini", task=TaskKind.REVIEW, workspace=root, path="small.py")
    started = time.perf_counter()
    result = await run_task(config, spec, runtime=runtime)
    assert result.ok, result.error
    return time.perf_counter() - started


# -- 4. a parallel group ------------------------------------------------------------------


def group_config(root: Path, parallel: bool) -> None:
    config = json.loads((root / ".agentls.yaml").read_text())
    delayed = fakes_io(root.parent) / "slow.json"
    delayed.write_text(json.dumps({"behavior": "ok", "reply": '{"findings": []}', "delay_s": 1}))
    for agent in ("claude", "gemini", "codex", "copilot"):
        config["agents"][agent] = {
            "set_env": {"AGENTLS_FAKE_SCENARIO": str(delayed)},
            "sandbox_paths": [str(delayed.parent)],
        }
    steps = [
        {"agent": a, "task": "review", "id": f"{a}_review"}
        for a in ("claude", "gemini", "codex", "copilot")
    ]
    config["workflows"] = {"four": {"steps": [{"parallel": steps}] if parallel else steps}}
    write_config(root, config)


async def workflow_time(root: Path) -> float:
    config = load_config(root)
    engine = WorkflowEngine(config, runtime=Runtime.create(config, "bench", use_cache=False))
    started = time.perf_counter()
    result = await engine.run(WorkflowRequest(workflow="four", workspace=root, path="small.py"))
    assert result.status == "ok", result.summary
    return time.perf_counter() - started


# -- 5. cancel -> the process group is gone ----------------------------------------------


async def cancel_latency(root: Path, ignore_sigterm: bool) -> float:
    code = (
        "import signal, subprocess, sys, time\n"
        + ("signal.signal(signal.SIGTERM, signal.SIG_IGN)\n" if ignore_sigterm else "")
        + "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "print('ready', flush=True)\ntime.sleep(60)\n"
    )
    ready = asyncio.Event()
    spec = ProcessSpec(argv=[sys.executable, "-c", code], cwd=root, env=minimal_env([]))
    task = asyncio.ensure_future(run_process(spec, lambda line: ready.set()))
    await ready.wait()
    await asyncio.sleep(0.1)
    started = time.perf_counter()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return time.perf_counter() - started


# -- 6. sandboxes ------------------------------------------------------------------------


def big_repo(base: Path, files: int) -> Path:
    repo = base / "repo"
    for n in range(files):
        folder = repo / f"pkg{n // 500}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"mod{n}.py").write_text(f"VALUE = {n}\n")
    git = ["git", "-c", "user.name=b", "-c", "user.email=b@b"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "files"], cwd=repo, check=True)
    return repo


def plain_worktree(repo: Path, target: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        ["git", "worktree", "add", "--detach", "-q", str(target), "HEAD"], cwd=repo, check=True
    )
    elapsed = time.perf_counter() - started
    subprocess.run(["git", "worktree", "remove", "--force", str(target)], cwd=repo, check=True)
    return elapsed


async def agentls_sandbox(repo: Path) -> float:
    started = time.perf_counter()
    async with sandbox(repo, {"pkg0/mod0.py": "VALUE = 'unsaved'\n"}):
        elapsed = time.perf_counter() - started
    return elapsed


# -- 7b. the OS sandbox of an agentic step ------------------------------------------------


async def contained_step(root: Path, runtime: Runtime, confined: bool) -> float:
    """One write-mode step of a fake agent that takes ~1 s, in bubblewrap or bare."""
    from dataclasses import replace

    from agentls.adapters.confinement import Confinement

    spec = TaskSpec(
        agent="gemini", task=TaskKind.REVIEW, workspace=root, path="small.py", write=True
    )
    if confined:
        spec = replace(spec, confinement=Confinement(mode="os", root=root, read_only=()))
    started = time.perf_counter()
    result = await run_task(runtime.config, spec, runtime=runtime)
    assert result.ok, result.error
    return time.perf_counter() - started


async def containment_row(base: Path, root: Path, repeats: int) -> Row:
    from agentls.adapters.confinement import probe

    what = "agentic step of a ~1 s fake agent in the OS sandbox (bubblewrap)"
    found = probe()
    if not found.usable:
        return Row(what, "—", "—", "—", "<= 1.05x", False, f"not measured: {found.reason}")
    fakes = base / "fake"
    fakes.mkdir(exist_ok=True)
    slow = fakes / "slow-write.json"
    slow.write_text(json.dumps({"behavior": "ok", "reply": '{"findings": []}', "delay_s": 1}))
    config = load_config(root)
    gemini = config.agents["gemini"].model_copy(
        update={
            "set_env": {"AGENTLS_FAKE_SCENARIO": str(slow), "HOME": str(base / "home")},
            "sandbox_paths": [str(fakes)],
        }
    )
    config = config.model_copy(update={"agents": {**config.agents, "gemini": gemini}})
    runtime = Runtime.create(config, "bench", use_cache=False)
    bare, confined = [], []
    for _ in range(repeats):
        bare.append(await contained_step(root, runtime, False))
        confined.append(await contained_step(root, runtime, True))
    ratio = median(confined) / median(bare)
    return Row(
        what,
        f"{ms(median(bare))} (the same step, not contained)",
        ms(median(confined)),
        f"{ratio:.3f}x",
        "<= 1.05x",
        ratio <= 1.05,
        f"bubblewrap sets up its namespaces and mounts once per agent process; {found.reason}",
    )


async def memory_row(base: Path) -> Row:
    root, env = memory_workspace(base)
    seen = await rss_after_runs(AGENTLS, root, {**ENV, **env}, [5, 100])
    ratio = seen[100] / seen[5]
    return Row(
        "server memory (RSS) after 100 runs, against after 5 (each: 40 findings and a "
        "whole-file edit of a 10,000-line file)",
        f"{seen[5] / 1024:.1f} MiB after 5",
        f"{seen[100] / 1024:.1f} MiB after 100",
        f"{ratio:.2f}x",
        "<= 1.3x",
        ratio <= 1.3,
        "the server holds the latest `results_in_memory` (20) results; older runs are read "
        "back from the history when shown. In review mode (the default, as here) each run's "
        "change waits as a proposal: the latest 20 left pending are held, each with the file's "
        "text",
    )


async def acp_row(base: Path, root: Path, repeats: int) -> Row:
    io = fakes_io(base)
    scenario = acp_overhead.write_scenario(io)
    config = json.loads((root / ".agentls.yaml").read_text())
    config.setdefault("agents", {})["acpfake"] = acp_overhead.agent_entry(scenario, io)
    write_config(root, config)
    env = minimal_env([], {"AGENTLS_FAKE_SCENARIO": str(scenario)})
    bare, ours = await acp_overhead.measure(root, env, repeats * 2)
    ratio = ours / bare
    return Row(
        "an ACP agent's review (the SDK's fake agent answering at once)",
        f"{ms(bare)} (a bare SDK client)",
        ms(ours),
        f"{ratio:.2f}x",
        "—",
        True,
        "the baseline spawns the agent, initializes, opens a session, prompts and reads the "
        "updates; agentls does that through its runner (the supervisor, about 12 ms, and "
        "bubblewrap, about 5 ms, for a read-only step), offers its MCP findings server, "
        "applies the permission policy, reads the reply into findings and audits the task",
    )


async def real_acp_row(base: Path, repeats: int) -> Row | None:
    measured = await acp_overhead.real_claude(base, repeats)
    if measured is None:
        return None
    headless, acp = measured
    return Row(
        "Claude Code's review over ACP (claude-agent-acp) against headless (`claude -p`), both "
        "through agentls on the mock Messages API of tests/realcli",
        f"{ms(headless)} (headless)",
        ms(acp),
        f"{acp / headless:.2f}x",
        "—",
        True,
        "the same model answer each time; ACP adds claude-agent-acp's own start (it loads "
        "the Claude Agent SDK, which runs Claude Code) and the protocol's round trips; "
        "measured only where `make realcli` installed the CLIs",
    )


async def measure_acp(quick: bool) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="agentls-bench-") as scratch:
        base = Path(scratch)
        isolate(base)
        root = workspace(base)
        (root / "small.py").write_text("def f(x):\n    return x\n")
        write_config(root, {"settings": {"cache": {"enabled": False}}})
        rows = [await acp_row(base, root, 3 if quick else 5)]
        real = await real_acp_row(base, 3 if quick else 5)
        return rows + ([real] if real else [])


async def measure_containment(quick: bool) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="agentls-bench-") as scratch:
        base = Path(scratch)
        isolate(base)
        root = workspace(base)
        (root / "small.py").write_text("def f(x):\n    return x\n")
        return [await containment_row(base, root, 3 if quick else 5)]


async def offline_tree_rows(base: Path, files: int, repeats: int) -> list[Row]:
    rows = []
    project = real_project(base)
    if project is None:
        rows.append(
            Row(f"offline review of {REAL_PROJECT}'s sdist", "—", "not measured", "—",
                "<= 2x", False, "PyPI could not be reached for the sdist")
        )  # fmt: skip
    else:
        real = await review_tree(project, repeats)
        rows.append(tree_row(f"offline review of {REAL_PROJECT}'s sdist", real, 2.0))
    dense = await review_tree(tree(base, files), repeats)
    rows.append(tree_row(f"offline review of a generated {files}-file tree", dense, None))
    baseline = dense.ruff_s + dense.click_s
    for what, seconds, target, note in (
        ("`agentls run offline . --json`", dense.terminal_s, 2.0, RESIDENT_NOTE),
        ("`agentls run offline .` (its report for a person)", dense.terminal_human_s, 2.0, ""),
        ("`agentls run offline . --json` with no resident process (`AGENTLS_RESIDENT=0`)",
         dense.terminal_alone_s, None, ALONE_NOTE),
    ):  # fmt: skip
        rows.append(
            Row(
                f"{what} from a terminal, {files} files",
                f"{ms(baseline)} (`ruff check` + a bare click start)",
                ms(seconds),
                f"{seconds / baseline:.2f}x",
                f"<= {target:g}x" if target else "—",
                target is None or seconds / baseline <= target,
                note,
            )
        )
    return rows


def tree_row(what: str, seen: TreeReview, target: float | None) -> Row:
    ratio = seen.agentls_s / seen.ruff_s
    same = seen.agentls_findings == seen.ruff_findings
    return Row(
        f"{what} ({seen.files} Python files, {seen.ruff_findings} findings), in process: "
        "configuration, listing, reading, one ruff process, findings, audit",
        f"{ms(seen.ruff_s)} (`ruff check`)",
        ms(seen.agentls_s),
        f"{ratio:.2f}x",
        f"<= {target:g}x, the same findings" if target else "the same findings",
        same and (target is None or ratio <= target),
        f"agentls found {seen.agentls_findings} findings, ruff {seen.ruff_findings}. "
        + (TREE_NOTE if target is None else REAL_NOTE),
    )


RESIDENT_NOTE = (
    "as typed in a terminal (`python -m agentls`; the `agentls` script pip writes also imports "
    "`re`, about 4 ms more) once a resident process runs (the first command starts it; see "
    "docs/cli.md): a Python start and the hand-off (about 20 ms), then the in-process work "
    "above in a child forked from it. Across four runs on 2026-12-08 this row read 1.89x to "
    "2.18x and the next one 1.92x to 2.40x: not yet 2x"
)
ALONE_NOTE = (
    "the first command, or where the resident is off: a Python start, then the imports of "
    "what runs a workflow (pydantic and the configuration's models, the orchestration, click, "
    "rich, asyncio) before the in-process work"
)
REAL_NOTE = (
    "the project as published, with its own ruff settings; besides ruff's run agentls reads "
    "its configuration, lists the files with git, checks and reads each, and writes five "
    "sealed audit records in two writes, each waiting for the disk (fsync of the record and "
    "of its head)"
)
TREE_NOTE = (
    "the issue's tree: 500 modules of about 200 lines (101,000 lines), a dense four findings "
    "in each, each with a fix that agentls turns into a suggestion. ruff's JSON for them "
    "(1.7 MB) takes about 10 ms to parse and building the findings about 20 ms; ruff's JSON "
    "output for 500 named files costs it about 10 ms more than its concise output for the "
    "folder"
)


async def measure_offline(quick: bool) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="agentls-bench-") as scratch:
        isolate(Path(scratch))
        return await offline_tree_rows(Path(scratch), 500, 3 if quick else 7)


async def measure_memory(quick: bool) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="agentls-bench-") as scratch:
        isolate(Path(scratch))
        return [await memory_row(Path(scratch))]


# -- 8. publishing findings --------------------------------------------------------------


def publish_findings(count: int) -> float:
    from pygls.protocol import default_converter

    from agentls.server.diagnostics import DiagnosticStore

    text = "".join(f"value_{n} = {n}\n" for n in range(10_000))
    findings = [
        Finding(
            path="big.py",
            line=1 + n * 7 % 9_999,
            message=f"finding {n}",
            code=f"C{n}",
            suggestion="x = 1\n",
            agent="bench",
        )
        for n in range(count)
    ]
    converter = default_converter()  # type: ignore[no-untyped-call]  # lsprotocol's, untyped
    started = time.perf_counter()
    store = DiagnosticStore()
    store.replace("file:///big.py", findings, text, "run")
    payload = converter.unstructure(store.diagnostics("file:///big.py"))
    json.dumps({"uri": "file:///big.py", "diagnostics": payload})
    return time.perf_counter() - started


# -- the report ----------------------------------------------------------------------------


async def measure(quick: bool) -> list[Row]:
    repeats = 3 if quick else 5
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="agentls-bench-") as scratch:
        base = Path(scratch)
        isolate(base)
        root = workspace(base)
        (root / "small.py").write_text("def f(x):\n    return x\n")

        count = 200 if quick else 500
        bare = await code_action_latency(BARE, root, 0, count)
        busy = await code_action_latency(AGENTLS, root, 4, count)
        idle = await code_action_latency(AGENTLS, root, 0, count)
        rows.append(latency_row("4 workflows running (round trip over stdio)", bare, busy))
        rows.append(latency_row("no run going", bare, idle))

        for argv, baseline, what, target in (
            (["--version"], ["-c", "pass"], "`python -c pass`", None),
            (["--help"], ["-c", "import click"], "`python -c 'import click'`", 3.0),
        ):
            theirs = median([cli_start(baseline) for _ in range(repeats * 2)])
            ours_cli = median([cli_start(["-m", "agentls", *argv]) for _ in range(repeats * 2)])
            rows.append(
                Row(
                    f"`agentls {argv[0]}` from a terminal (process start to exit)",
                    f"{ms(theirs)} ({what})",
                    ms(ours_cli),
                    f"{ours_cli / theirs:.2f}x",
                    f"<= {target:g}x" if target else "—",
                    target is None or ours_cli / theirs <= target,
                )
            )

        bare_init, ours_init, bare_rss, ours_rss = [], [], [], []
        for _ in range(repeats):
            elapsed, rss = await initialize_and_rss(BARE, root)
            bare_init.append(elapsed)
            bare_rss.append(rss)
            elapsed, rss = await initialize_and_rss(AGENTLS, root)
            ours_init.append(elapsed)
            ours_rss.append(rss)
        ratio = median(ours_init) / median(bare_init)
        rows.append(
            Row(
                "time to answer `initialize` (process start to response)",
                ms(median(bare_init)),
                ms(median(ours_init)),
                f"{ratio:.2f}x",
                "<= 1.1x",
                ratio <= 1.1,
                IMPORT_NOTE,
            )
        )
        ratio = median(ours_rss) / median(bare_rss)
        rows.append(
            Row(
                "idle memory (RSS) after `initialize`",
                f"{median(bare_rss) / 1024:.1f} MiB",
                f"{median(ours_rss) / 1024:.1f} MiB",
                f"{ratio:.2f}x",
                "<= 1.2x",
                ratio <= 1.2,
                IMPORT_NOTE,
            )
        )

        config = load_config(root)
        runtime = Runtime.create(config, "bench", use_cache=False)
        from agentls.orchestration.tasks import prepare

        _, request = prepare(
            config, TaskSpec(agent="gemini", task=TaskKind.REVIEW, workspace=root, path="small.py")
        )
        direct, through = [], []
        for _ in range(repeats * 4):
            direct.append(direct_spawn(root, request.prompt))
            through.append(await through_agentls(root, runtime))
        ratio = median(through) / median(direct)
        rows.append(
            Row(
                "one step with a fake agent that answers at once",
                ms(median(direct)),
                ms(median(through)),
                f"{ratio:.3f}x",
                "<= 1.05x",
                ratio <= 1.05,
                "baseline: the same fake spawned with plain `subprocess`. Since every agent "
                "runs under the supervisor that ends whatever it leaves behind (a second Python "
                "start, about 12 ms: measured through the runner, 12-13 ms with it against "
                "without), this is not met on a fake that answers at once; on a real CLI "
                "(Node start-up alone is hundreds of ms, a model call seconds) it is under 1%. "
                "A long-lived reaper that starts the agents would remove it. The step is a "
                "review, so it also runs in bubblewrap with the workspace read-only (about 5 "
                "ms, see the containment row) and gets a temp folder of its own",
            )
        )

        group_config(root, parallel=True)
        parallel = [await workflow_time(root) for _ in range(2 if quick else 3)]
        group_config(root, parallel=False)
        sequential = [await workflow_time(root) for _ in range(2 if quick else 3)]
        speedup = median(sequential) / median(parallel)
        rows.append(
            Row(
                "parallel group of 4 steps of 1 s each",
                f"{median(sequential):.2f} s one after another",
                f"{median(parallel):.2f} s",
                f"{speedup:.2f}x faster",
                ">= 3.6x",
                speedup >= 3.6,
                "4 fake agents start at once on 2 cores; their Python start-ups (~120 ms each) "
                "contend, so the speedup moves between 3.5x and 3.7x from run to run here",
            )
        )

        polite = [await cancel_latency(base, False) for _ in range(repeats)]
        stubborn = [await cancel_latency(base, True) for _ in range(2)]
        rows.append(
            Row(
                "cancel -> whole process group gone (agent that stops on SIGTERM)",
                "—",
                ms(median(polite)),
                "—",
                "<= 100 ms",
                median(polite) <= 0.1,
            )
        )
        rows.append(
            Row(
                "cancel -> whole process group gone (agent that ignores SIGTERM)",
                "—",
                ms(median(stubborn)),
                "—",
                "<= 100 ms",
                median(stubborn) <= 0.1,
                "SIGKILL follows `settings.cancel_grace_s` (50 ms) after SIGTERM",
            )
        )

        repo = big_repo(base, 2_000 if quick else 10_000)
        worktree, ours_box = [], []
        for n in range(repeats + 2):
            worktree.append(plain_worktree(repo, base / f"wt{n}"))
            ours_box.append(await agentls_sandbox(repo))
        ratio = median(ours_box) / median(worktree)
        files = "2,000" if quick else "10,000"
        rows.append(
            Row(
                f"sandbox for an agentic step, {files}-file git repo",
                f"{ms(median(worktree))} (`git worktree add`)",
                ms(median(ours_box)),
                f"{ratio:.2f}x",
                "<= 1.2x",
                ratio <= 1.2,
                "ours also runs `git status` on the repository to copy its uncommitted and "
                "untracked files in, and lays the editor's buffers over them; on this disk "
                "the baseline itself varies by ±15% between runs",
            )
        )

        rows.append(await containment_row(base, root, repeats))
        rows.append(await acp_row(base, root, repeats))
        real = await real_acp_row(base, repeats)
        if real is not None:
            rows.append(real)
        rows.extend(await offline_tree_rows(base, 500, repeats))
        rows.append(await memory_row(base))

        publish = [publish_findings(1000) for _ in range(repeats)]
        rows.append(
            Row(
                "1,000 findings to diagnostics (store, convert, serialise)",
                "—",
                ms(median(publish)),
                "—",
                "< 50 ms",
                median(publish) < 0.05,
            )
        )
    return rows


def machine() -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError, StopIteration):
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    return (
        f"{platform.system()} {platform.machine()}, {cpu}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )


def report(rows: list[Row], quick: bool) -> str:
    lines = [
        "# agentls benchmarks",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} on {machine()}, with `make bench`"
        f"{' (--quick)' if quick else ''}. Every figure is the median of several runs, and "
        "each ratio is against a baseline measured in the same run (these machines are noisy). "
        "Agents are the fake CLIs of `tests/fakes`, so agentls is what is measured.",
        "",
        "| what | baseline | agentls | ratio | target | met |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row.what} | {row.baseline} | {row.measured} | {row.ratio} | "
            f"{row.target} | {'yes' if row.met else '**no**'} |"
        )
    notes = [f"- {row.what}: {row.note}" for row in rows if row.note]
    if notes:
        lines += ["", "Notes:", *notes]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer repeats, smaller repo")
    parser.add_argument("--output", type=Path, default=Path(__file__).parent / "README.md")
    parser.add_argument(
        "--only",
        choices=["acp", "containment", "memory", "offline"],
        help="run one measurement and print it (no README)",
    )
    args = parser.parse_args()
    # An installed agentls has its bytecode; a checkout run where PYTHONDONTWRITEBYTECODE is
    # set would compile every module at each start and measure that instead.
    compileall.compile_dir(Path(agentls.__file__).parent, quiet=1)
    if args.only:
        only = {
            "acp": measure_acp,
            "containment": measure_containment,
            "memory": measure_memory,
            "offline": measure_offline,
        }[args.only]
        print(report(asyncio.run(only(args.quick)), args.quick))
        return
    if shutil.which("git") is None:
        sys.exit("git is needed for the sandbox benchmark")
    rows = asyncio.run(measure(args.quick))
    text = report(rows, args.quick)
    args.output.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
