from __future__ import annotations

import asyncio
import json
import os
import sys
import textwrap
from pathlib import Path

import pytest

from agentls.adapters.runner import MissingBinaryError, ProcessSpec, minimal_env, run_process
from tests.processes import alive, wait_for_pids

PY = sys.executable


def spec(tmp_path: Path, code: str, *args: str, **kwargs: object) -> ProcessSpec:
    options: dict[str, object] = {"timeout_s": 10.0, "kill_grace_s": 0.3, **kwargs}
    return ProcessSpec(
        argv=[PY, "-c", textwrap.dedent(code), *args],
        cwd=tmp_path,
        env=minimal_env(()),
        **options,  # type: ignore[arg-type]
    )


# A process that ignores SIGTERM, with a grandchild that ignores it too; both write their pids.
STUBBORN = """
import os, signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(120)"])
with open(sys.argv[1], "w") as f:
    f.write(f"{os.getpid()} {child.pid}")
print("ready", flush=True)
time.sleep(120)
"""


async def test_prompt_goes_to_stdin_and_lines_stream_to_the_callback(tmp_path: Path) -> None:
    code = """
    import sys, time
    text = sys.stdin.read()
    for word in text.split():
        print(word.upper(), flush=True)
        time.sleep(0.01)
    sys.stdout.write("no newline at the end")
    """
    lines: list[str] = []
    outcome = await run_process(spec(tmp_path, code, stdin="alpha beta gamma"), lines.append)
    assert outcome.exit_code == 0
    assert lines == ["ALPHA", "BETA", "GAMMA", "no newline at the end"]
    assert outcome.stdout.startswith("ALPHA\nBETA\n")
    assert outcome.lines == 4


async def test_without_a_prompt_stdin_is_closed(tmp_path: Path) -> None:
    outcome = await run_process(spec(tmp_path, "import sys; print(repr(sys.stdin.read()))"))
    assert outcome.stdout.strip() == "''"


@pytest.mark.parametrize(
    "hostile",
    ["; touch pwned", "$(touch pwned)", "`touch pwned`", "a\ntouch pwned", "'\"; touch pwned #"],
)
async def test_arguments_reach_the_program_literally(tmp_path: Path, hostile: str) -> None:
    code = "import json, sys; print(json.dumps(sys.argv[1:]))"
    outcome = await run_process(spec(tmp_path, code, hostile, stdin=hostile))
    assert json.loads(outcome.stdout) == [hostile]
    assert not (tmp_path / "pwned").exists()


async def test_timeout_stops_the_whole_group_even_when_sigterm_is_ignored(tmp_path: Path) -> None:
    pids_file = tmp_path / "pids"
    outcome = await run_process(spec(tmp_path, STUBBORN, str(pids_file), timeout_s=1.0))
    assert outcome.timed_out
    assert outcome.exit_code < 0  # killed by a signal
    assert "ready" in outcome.stdout
    for pid in wait_for_pids(pids_file, 2):
        assert not alive(pid), f"process {pid} survived the timeout"


async def test_cancel_stops_the_whole_group(tmp_path: Path) -> None:
    pids_file = tmp_path / "pids"
    ready = asyncio.Event()
    task = asyncio.ensure_future(
        run_process(spec(tmp_path, STUBBORN, str(pids_file)), lambda line: ready.set())
    )
    await asyncio.wait_for(ready.wait(), 10)
    pids = wait_for_pids(pids_file, 2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for pid in pids:
        assert not alive(pid), f"process {pid} survived the cancel"


async def test_leftover_grandchildren_are_stopped_when_the_agent_exits(tmp_path: Path) -> None:
    pids_file = tmp_path / "pids"
    code = """
    import subprocess, sys
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    open(sys.argv[1], "w").write(str(child.pid))
    print("done", flush=True)
    """
    outcome = await run_process(spec(tmp_path, code, str(pids_file)))
    assert not outcome.timed_out
    assert outcome.exit_code == 0 and outcome.stdout.strip() == "done"
    [grandchild] = wait_for_pids(pids_file, 1)
    assert not alive(grandchild)


async def test_output_over_the_cap_keeps_the_tail(tmp_path: Path) -> None:
    code = """
    import sys
    chunk = "x" * 1023 + "\\n"
    for _ in range(4096):
        sys.stdout.write(chunk)
    print("THE END")
    """
    lines: list[str] = []
    outcome = await run_process(spec(tmp_path, code, max_output_bytes=64 * 1024), lines.append)
    assert outcome.stdout_truncated
    assert len(outcome.stdout.encode()) <= 64 * 1024
    assert outcome.stdout.endswith("THE END\n")
    assert len(lines) == 4097 and lines[-1] == "THE END"


async def test_environment_is_minimal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOME_SERVICE_PASSWORD", "hunter2hunter2")
    monkeypatch.setenv("ALLOWED_ONE", "yes")
    code = "import json, os; print(json.dumps(dict(os.environ)))"
    process = ProcessSpec(
        argv=[PY, "-c", code],
        cwd=tmp_path,
        env=minimal_env(["ALLOWED_ONE", "NOT_SET_ANYWHERE"], {"EXTRA": "1"}),
    )
    env = json.loads((await run_process(process)).stdout)
    assert "SOME_SERVICE_PASSWORD" not in env
    assert env["ALLOWED_ONE"] == "yes" and env["EXTRA"] == "1"
    assert env["PATH"] == os.environ["PATH"] and env["HOME"] == os.environ["HOME"]
    assert "NOT_SET_ANYWHERE" not in env


async def test_missing_program(tmp_path: Path) -> None:
    with pytest.raises(MissingBinaryError) as caught:
        await run_process(
            ProcessSpec(argv=["agentls-no-such-program"], cwd=tmp_path, env=minimal_env(()))
        )
    assert caught.value.program == "agentls-no-such-program"


async def test_invalid_utf8_and_binary_output_do_not_break_the_run(tmp_path: Path) -> None:
    code = "import sys; sys.stdout.buffer.write(b'ok\\xff\\xfe\\x00bin\\n'); sys.stdout.flush()"
    lines: list[str] = []
    outcome = await run_process(spec(tmp_path, code), lines.append)
    assert outcome.exit_code == 0 and lines[0].startswith("ok")


async def test_fifty_megabytes_of_output_use_bounded_memory(tmp_path: Path) -> None:
    import tracemalloc

    code = """
    import sys
    chunk = ("y" * 1023 + "\\n") * 1024
    for _ in range(50):
        sys.stdout.write(chunk)
    """
    tracemalloc.start()
    try:
        outcome = await run_process(
            spec(tmp_path, code, max_output_bytes=1024 * 1024), lambda line: None
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert outcome.stdout_truncated and outcome.lines == 50 * 1024
    assert peak < 8 * 1024 * 1024, f"peak {peak} bytes for 50 MiB of output"
