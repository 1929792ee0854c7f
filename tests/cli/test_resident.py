"""The resident process: a terminal command handed to it runs as it would have run here (its
folder, environment, umask, terminal, exit status and signals), only the same user reaches it,
and it leaves nothing running behind."""

from __future__ import annotations

import _socket
import array
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentls.cli import caller, handoff
from tests.adapters.test_acp import FINDINGS, configure
from tests.cli.test_asking import in_a_terminal
from tests.cli.test_cli import agentls, start
from tests.cli.test_exit_codes import INTERRUPTED, history, interrupt
from tests.cli.test_run_cli import NEW_MEAN
from tests.conftest import Scenario
from tests.fakes.script import SCENARIO_VARIABLE
from tests.processes import alive, marked, wait_until, with_environment

HAND_OFF = (
    "import sys; from agentls.cli.caller import hand_off; "
    "status = hand_off(sys.argv[1:]); sys.stderr.write(f'\\nhanded: {status}\\n')"
)
"""A caller that only hands its command off, and says the status it got (None: not handed)."""
FakeLog = Callable[[], list[dict[str, Any]]]

pytestmark = pytest.mark.usefixtures("credentials")


@pytest.fixture
def runtime_dir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private runtime folder (short: a socket's path has 108 bytes), residents on; every
    resident started in it is ended afterwards, and must have been alive until then."""
    folder = Path(tempfile.mkdtemp(prefix="run-", dir="/tmp"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(folder))
    monkeypatch.setenv(handoff.SWITCH, "1")
    monkeypatch.setenv(handoff.IDLE, "120")
    monkeypatch.delenv("CI", raising=False)
    try:
        yield folder
    finally:
        for pid in residents(folder):
            os.kill(pid, signal.SIGKILL)
            wait_until(lambda pid=pid: not alive(pid), "the resident to end")  # type: ignore[misc]
        shutil.rmtree(folder)


def residents(folder: Path) -> list[int]:
    """The living residents of ``folder``, by the pids their lock files hold."""
    pids = []
    for lock in (folder / "agentls").glob("*.lock"):
        text = lock.read_text().strip()
        if text and alive(int(text)) and int(text) in marked("agentls.cli.resident"):
            pids.append(int(text))
    return pids


def entry_resident(cwd: Path, runtime_dir: Path) -> int:
    """The resident of the real entry point (``python -m agentls`` in ``cwd``), started by a
    first command and listening; its pid."""
    subprocess.run([sys.executable, "-m", "agentls", "workflows"], cwd=cwd, check=True)
    wait_until(lambda: any((runtime_dir / "agentls").glob("*.sock")), "a resident", 60)
    [resident] = residents(runtime_dir)
    return resident


def slow_run(
    one_step: Path, scenario: Scenario, fake_log: FakeLog
) -> tuple[subprocess.Popen[str], Path]:
    """``agentls run`` of an agent that takes two minutes, once the agent runs; and the
    scenario file that steers it (in the environment of the agent's processes)."""
    steering = scenario("ok", reply=f"```python\n{NEW_MEAN}```", delay_s=120)
    cli = start(one_step, "run", "one", "calc.py:5-6", "--apply")
    wait_until(lambda: len(fake_log()) >= 1, "the agent to start", timeout_s=60)
    return cli, steering


def hand_off(*args: str, cwd: Path, **popen: object) -> tuple[str | None, str, str]:
    """``args`` handed to a resident (one is started and waited for where none answers yet):
    the status it gave, stdout and stderr."""
    handed: list[tuple[str, str, str]] = []

    def answered() -> bool:  # the first call starts a resident; it answers once it listens
        done = subprocess.run(
            [sys.executable, "-c", HAND_OFF, *args],
            cwd=cwd,
            stdout=popen.get("stdout", subprocess.PIPE),
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            **{k: v for k, v in popen.items() if k != "stdout"},  # type: ignore[call-overload]
        )
        stderr, _, status = done.stderr.rstrip("\n").rpartition("\nhanded: ")
        if status != "None":
            handed.append((status, done.stdout or "", stderr))
        return bool(handed)

    wait_until(answered, "a resident to take the command", timeout_s=60)
    return handed[0]


def alone(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``agentls ARGS`` with no resident process."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(handoff.SWITCH, "0")
        return agentls(*args, cwd=cwd)


def without_run_ids(report: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in report.items() if k not in ("run_id", "duration_s", "steps")}


def test_a_command_runs_in_the_resident_as_it_would_here(
    workspace: Path, runtime_dir: Path
) -> None:
    status, stdout, stderr = hand_off("run", "offline", "calc.py", "--json", cwd=workspace)
    here = alone("run", "offline", "calc.py", "--json", cwd=workspace)
    assert status == str(here.returncode), stderr
    assert without_run_ids(json.loads(stdout)) == without_run_ids(json.loads(here.stdout))
    [resident] = residents(runtime_dir)
    wait_until(lambda: not children(resident, zombies=True), "the ended child to be reaped")


def test_a_bad_command_says_so_with_its_exit_status(workspace: Path, runtime_dir: Path) -> None:
    status, _, stderr = hand_off("run", "nosuch", "calc.py", cwd=workspace)
    here = alone("run", "nosuch", "calc.py", cwd=workspace)
    assert (status, stderr.strip()) == (str(here.returncode), here.stderr.strip())
    assert here.returncode == 2 and "Traceback" not in stderr


def test_the_callers_environment_is_the_commands(
    workspace: Path, runtime_dir: Path, tmp_path: Path
) -> None:
    hand_off("workflows", cwd=workspace)  # the resident starts with the first environment
    config = tmp_path / "other-config"
    (config / "agentls").mkdir(parents=True)
    (config / "agentls" / "config.yaml").write_text(
        "workflows:\n  mine:\n    steps: [{agent: ruff, task: review}]\n"
    )
    _, other, _ = hand_off(
        "workflows", cwd=workspace, env={**os.environ, "XDG_CONFIG_HOME": str(config)}
    )
    _, same, _ = hand_off("workflows", cwd=workspace)
    assert "mine" in other and "mine" not in same


def test_the_callers_umask_is_the_commands(
    workspace: Path, runtime_dir: Path, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    environment = {**os.environ, "XDG_STATE_HOME": str(state)}
    _, _, stderr = hand_off(
        "run", "offline", "calc.py", cwd=workspace, env=environment, umask=0o077
    )
    made = [path for path in state.rglob("*") if path.is_file()]
    assert made, stderr
    assert all(path.stat().st_mode & 0o077 == 0 for path in made)


def test_the_callers_terminal_is_the_commands(workspace: Path, runtime_dir: Path) -> None:
    hand_off("workflows", cwd=workspace)
    main, terminal = os.openpty()
    try:
        status, _, _ = hand_off("workflows", cwd=workspace, stdout=terminal)
        os.close(terminal)
        printed = b""
        while chunk := _read(main):
            printed += chunk
    finally:
        os.close(main)
    assert status == "0"
    assert b"\x1b[" in printed and b"offline" in printed  # styled: it saw a terminal


def _read(fd: int) -> bytes:
    try:
        return os.read(fd, 65536)
    except OSError:  # the terminal's other end is closed
        return b""


@INTERRUPTED
def test_a_signal_to_the_caller_stops_the_command(
    one_step: Path,
    runtime_dir: Path,
    scenario: Scenario,
    fake_log: FakeLog,
    signum: int,
    code: int,
    line: str,
) -> None:
    resident = entry_resident(one_step, runtime_dir)
    cli, steering = slow_run(one_step, scenario, fake_log)
    assert children(resident), "the command did not run in the resident"
    stderr = interrupt(cli, fake_log, signum, 1)
    assert cli.returncode == code, stderr
    assert [ln for ln in stderr.splitlines() if ln.strip()][-1] == line
    [run] = history(one_step)
    assert (run["status"], run["state"]) == ("cancelled", "interrupted")
    assert with_environment(SCENARIO_VARIABLE, str(steering)) == []  # the agent is gone
    wait_until(lambda: not children(resident), "the command to end")


def test_a_caller_killed_ends_its_command(
    one_step: Path, runtime_dir: Path, scenario: Scenario, fake_log: FakeLog
) -> None:
    resident = entry_resident(one_step, runtime_dir)
    cli, steering = slow_run(one_step, scenario, fake_log)
    assert children(resident)
    cli.kill()
    cli.communicate(timeout=60)
    wait_until(lambda: not children(resident), "the command to end", timeout_s=60)
    assert with_environment(SCENARIO_VARIABLE, str(steering)) == []
    [run] = history(one_step)
    assert run["status"] == "cancelled"
    assert "return sum(values) / len(values)" in (one_step / "calc.py").read_text()


def children(pid: int, zombies: bool = False) -> list[int]:
    """``pid``'s living children (``zombies``: and those it has not reaped)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return [child for child in found if zombies or alive(child)]


@pytest.mark.parametrize("how", ["open to all", "a link", "another user's"])
def test_a_socket_folder_others_could_enter_is_not_used(
    workspace: Path, runtime_dir: Path, tmp_path: Path, how: str
) -> None:
    folder = runtime_dir / "agentls"
    if how == "open to all":
        folder.mkdir(mode=0o777)
        folder.chmod(0o777)
    elif how == "another user's":  # made first by someone else, private to them
        if os.getuid() != 0:
            pytest.skip("needs another user to own the folder")
        folder.mkdir(mode=0o700)
        os.chown(folder, 65534, 65534)
    else:
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir(mode=0o700)
        folder.symlink_to(elsewhere)
    done = subprocess.run(
        [sys.executable, "-c", HAND_OFF, "workflows"],
        cwd=workspace,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stderr.rstrip().endswith("handed: None")
    assert list(folder.iterdir()) == [] and residents(runtime_dir) == []
    assert "offline" in agentls("workflows", cwd=workspace).stdout  # it runs here all the same


@pytest.mark.skipif(os.getuid() != 0, reason="needs another user to connect as")
def test_another_user_is_not_served(workspace: Path, runtime_dir: Path) -> None:
    hand_off("workflows", cwd=workspace)
    [path] = (runtime_dir / "agentls").glob("*.sock")
    for opened in (runtime_dir, runtime_dir / "agentls", path):  # a folder left open by mistake
        opened.chmod(0o777)
    state = workspace / "attacker-state"  # what the command would write, were it run
    request = json.dumps(
        {
            "argv": ["run", "offline", "calc.py", "--json"],
            "cwd": str(workspace),
            "env": {"PATH": os.environ["PATH"], "XDG_STATE_HOME": str(state)},
            "umask": 0o022,
            "encodings": ["utf-8"] * 3,
        }
    )
    assert connect_as(65534, path, request.encode()) == "refused"
    assert not state.exists()
    (runtime_dir / "agentls").chmod(0o700)  # (open, its own users would not use it either)
    status, _, _ = hand_off("workflows", cwd=workspace)
    assert status == "0"  # the resident serves its own user still


def connect_as(uid: int, path: Path, body: bytes) -> str:
    """A process of user ``uid`` sends ``body`` to the resident at ``path``, with its
    standard streams: "served" where a child took it, else "refused"."""
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # no exec: this user may not even read the interpreter
        try:
            os.setgid(uid)
            os.setuid(uid)
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
                client.connect(str(path))
                try:
                    client.sendmsg(
                        [struct.pack("!I", len(body)) + body],
                        [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", (0, 1, 2)))],
                    )
                    answer = client.recv(1)
                except (BrokenPipeError, ConnectionResetError):  # closed on it, unread
                    answer = b""
                os.write(writer, b"served" if answer else b"refused")
        except BaseException as error:  # said, so that the test shows it
            os.write(writer, repr(error).encode())
        finally:
            os._exit(0)
    os.close(writer)
    os.waitpid(pid, 0)
    with os.fdopen(reader) as answer:
        return answer.read()


NO_NUL = st.binary().filter(lambda value: b"\0" not in value)


@given(
    arguments=st.lists(st.text().filter(lambda text: "\0" not in text)),
    environ=st.dictionaries(NO_NUL.filter(lambda name: name and b"=" not in name), NO_NUL),
    umask=st.integers(0, 0o777),
)
def test_a_request_reads_back_as_it_was_sent(
    arguments: list[str], environ: dict[bytes, bytes], umask: int
) -> None:
    body = handoff.encode_request(arguments, "/home/me", environ, umask, ["utf-8"] * 3)
    assert handoff.decode_request(body) == {
        "argv": arguments,
        "cwd": "/home/me",
        "env": {os.fsdecode(name): os.fsdecode(value) for name, value in environ.items()},
        "umask": umask,
        "encodings": ["utf-8"] * 3,
    }


def framed(body: bytes) -> bytes:
    return struct.pack("!I", len(body)) + body


@pytest.mark.parametrize(
    "request_bytes",
    [
        framed(b"{bad}"),
        b"\xff\xff\xff\xff",
        framed(b"/\x0018\x00a\x00b\x00c"),
        framed(b"/\x0018\x00a\x00b\x00c\x009\x00run"),
        framed(b"/\x0018\x00a\x00b\x00c\x000\x00PATH/bin"),
        framed(b"/\x00eighteen\x00a\x00b\x00c\x000"),
    ],
    ids=["not a request", "too long", "no count", "fewer arguments", "no value", "no umask"],
)
def test_a_malformed_request_runs_nothing_and_the_resident_serves_on(
    workspace: Path, runtime_dir: Path, request_bytes: bytes
) -> None:
    hand_off("workflows", cwd=workspace)
    [path] = (runtime_dir / "agentls").glob("*.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.connect(str(path))
        client.settimeout(30)
        client.sendmsg(
            [request_bytes],
            [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", (0, 1, 2)))],
        )
        assert client.recv(1) == b""
    status, stdout, _ = hand_off("workflows", cwd=workspace)
    assert status == "0" and "offline" in stdout


def test_a_killed_resident_is_replaced(workspace: Path, runtime_dir: Path) -> None:
    hand_off("workflows", cwd=workspace)
    [resident] = residents(runtime_dir)
    os.kill(resident, signal.SIGKILL)
    wait_until(lambda: not alive(resident), "the resident to die")
    [stale] = (runtime_dir / "agentls").glob("*.sock")  # left behind
    done = subprocess.run(
        [sys.executable, "-c", HAND_OFF, "workflows"], cwd=workspace, capture_output=True, text=True
    )
    assert done.stderr.rstrip().endswith("handed: None")  # so it runs where it was typed
    status, _, _ = hand_off("workflows", cwd=workspace)  # served by its successor
    assert status == "0" and stale.exists()
    assert residents(runtime_dir) != [resident]


def test_a_resident_that_ends_while_its_command_runs_leaves_the_way_to_a_successor(
    one_step: Path,
    runtime_dir: Path,
    scenario: Scenario,
    fake_log: FakeLog,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(handoff.IDLE, "1")
    first = entry_resident(one_step, runtime_dir)
    cli, _ = slow_run(one_step, scenario, fake_log)
    try:
        wait_until(lambda: not alive(first), "the idle resident to end", timeout_s=60)
        assert cli.poll() is None  # its command runs on
        status, stdout, _ = hand_off("workflows", cwd=one_step)  # a successor takes the lock
        assert status == "0" and "offline" in stdout
        assert [pid for pid in residents(runtime_dir) if pid != first]
    finally:
        cli.send_signal(signal.SIGTERM)
        cli.communicate(timeout=60)
    assert cli.returncode == 143


def test_an_idle_resident_ends_and_removes_its_socket(
    workspace: Path, runtime_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(handoff.IDLE, "1")
    hand_off("workflows", cwd=workspace)
    folder = runtime_dir / "agentls"
    wait_until(lambda: not residents(runtime_dir), "the resident to end", timeout_s=60)
    assert list(folder.glob("*.sock")) == []


@pytest.mark.parametrize(
    ("environment", "arguments", "wanted"),
    [
        ({}, ["run", "offline", "x.py"], True),
        ({}, ["-v", "exec", "ruff", "x.py"], True),
        ({"AGENTLS_RESIDENT": "1"}, ["run", "offline", "x.py"], True),
        ({"AGENTLS_RESIDENT": "0"}, ["run", "offline", "x.py"], False),
        ({"AGENTLS_RESIDENT": "off"}, ["run", "offline", "x.py"], False),
        ({"CI": "true"}, ["run", "offline", "x.py"], False),
        ({}, ["serve"], False),
        ({}, ["acp"], False),
        ({}, ["shell"], False),
        ({}, ["--version"], False),
        ({}, [], False),
    ],
)
def test_which_commands_are_handed_off(
    environment: dict[str, str], arguments: list[str], wanted: bool
) -> None:
    assert handoff.wanted(arguments, environment) is wanted


@pytest.mark.parametrize(
    ("given", "seconds"), [("", 600.0), ("30", 30.0), ("soon", 600.0), ("-5", 600.0)]
)
def test_how_long_an_idle_resident_waits(given: str, seconds: float) -> None:
    assert handoff.idle_seconds({handoff.IDLE: given}) == seconds


def test_where_the_caller_cannot_be_known_nothing_is_handed_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delattr(_socket, "SO_PEERCRED")  # as on macOS
    assert not handoff.wanted(["run", "offline", "x.py"], {})


def test_every_command_is_either_handed_off_or_kept() -> None:
    from agentls.cli.group import COMMANDS

    assert handoff.HANDED | {"serve", "acp", "shell"} == set(COMMANDS)


def test_an_edited_agentls_is_a_new_resident(tmp_path: Path) -> None:
    package = tmp_path / "agentls"
    (package / "cli").mkdir(parents=True)
    module = package / "cli" / "run_cmd.py"
    module.write_text("x = 1\n")
    before = caller.key(str(package))
    os.utime(module, ns=(0, module.stat().st_mtime_ns + 1_000_000))
    assert caller.key(str(package)) != before


def test_a_package_installed_on_the_import_path_is_a_new_resident(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plugin installed later would not be in the resident's adapters: its folder changed."""
    site = tmp_path / "site-packages"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    before = caller.key()
    (site / "agentls_plugin-1.0.dist-info").mkdir()
    os.utime(site, ns=(0, site.stat().st_mtime_ns + 1_000_000))  # a coarse clock, all the same
    assert caller.key() != before


@pytest.mark.parametrize(("answer", "allowed"), [(b"y\n", True), (b"\n", False)])
def test_a_question_is_asked_and_answered_on_the_callers_terminal(
    workspace: Path,
    runtime_dir: Path,
    fakes_io: Path,
    scenario: Scenario,
    fake_log: FakeLog,
    answer: bytes,
    allowed: bool,
) -> None:
    configure(workspace, fakes_io)
    resident = entry_resident(workspace, runtime_dir)
    steering = scenario("ok", reply=FINDINGS, asks=[{"kind": "execute", "title": "npm test"}])
    asked_from: list[list[int]] = []

    def while_asked() -> None:  # the agent waits for the answer: whose descendant is it?
        asked_from.extend(
            ancestors(pid) for pid in with_environment(SCENARIO_VARIABLE, str(steering))
        )

    shown = in_a_terminal(
        workspace, answer, "exec", "fake", "calc.py", "--task", "review", on_question=while_asked
    )
    assert "fake wants to execute: npm test" in shown
    agents = [chain for chain in asked_from if os.getpid() not in chain]  # not the caller
    assert agents and all(resident in chain for chain in agents)
    [call] = fake_log()
    assert call["asked"] == [allowed]
    wait_until(lambda: not children(resident, zombies=True), "its command to be reaped")


def ancestors(pid: int) -> list[int]:
    chain = []
    while pid > 1:
        stat = Path(f"/proc/{pid}/stat").read_text()
        pid = int(stat[stat.rfind(")") + 2 :].split()[1])
        chain.append(pid)
    return chain


def test_a_command_killed_in_the_resident_says_so_and_leaves_nothing_running(
    one_step: Path, runtime_dir: Path, scenario: Scenario, fake_log: FakeLog
) -> None:
    resident = entry_resident(one_step, runtime_dir)
    cli, steering = slow_run(one_step, scenario, fake_log)
    try:
        [command] = children(resident)
        os.kill(command, signal.SIGKILL)  # out of memory, say
        _, stderr = cli.communicate(timeout=60)
    finally:
        cli.kill()
    assert cli.returncode == 1
    assert stderr.strip().splitlines()[-1] == (
        "agentls: the command's process ended without an exit status (killed?); "
        "AGENTLS_RESIDENT=0 runs commands without the resident process"
    )
    wait_until(lambda: with_environment(SCENARIO_VARIABLE, str(steering)) == [], "the agent to end")
    assert "return sum(values) / len(values)" in (one_step / "calc.py").read_text()
    status, _, _ = hand_off("workflows", cwd=one_step)  # the resident serves on
    assert status == "0"
