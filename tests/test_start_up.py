"""What starting costs, held without timing anything: the modules an initialized server has
imported before anything is asked of it, and those ``agentls --help`` and ``--version``
import. Everything else loads on first use (docs/architecture.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest

from agentls.cli.group import COMMANDS, LazyGroup, cli

LOADED_ON_FIRST_USE = (
    "agentls.orchestration.workflow",
    "agentls.orchestration.runtime",
    "agentls.orchestration.config_loader",
    "agentls.adapters.base",
    "agentls.server.convert",
    "agentls.server.runs",
    "agentls.server.commands",
    "agentls.server.code_actions",
    "agentls.server.configuration",
    "agentls.acp_agent",
    "agentls.audit",
    "agentls.cache",
    "agentls.redaction",
    "pydantic",
    "yaml",
    "structlog",
    "rich",
    "prometheus_client",
    "tenacity",
    "acp",
)


def imported(stderr: bytes) -> set[str]:
    """The modules ``python -X importtime`` reported."""
    return {
        line.rsplit("|", 1)[-1].strip()
        for line in stderr.decode(errors="replace").splitlines()
        if line.startswith("import time:")
    }


def heavy(modules: set[str]) -> list[str]:
    return sorted(
        m for m in modules if any(m == p or m.startswith(p + ".") for p in LOADED_ON_FIRST_USE)
    )


def frame(message: dict[str, object]) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def read_answer(stream: Any) -> dict[str, Any]:
    header = b""
    while not header.endswith(b"\r\n\r\n"):
        header += stream.read(1)
    answer: dict[str, Any] = json.loads(stream.read(int(header.split(b":")[1].split(b"\r\n")[0])))
    return answer


@pytest.mark.parametrize(("level", "idle"), [("INFO", False), ("INFO", True), ("WARNING", True)])
def test_a_server_loads_nothing_that_runs_agents_until_asked(
    tmp_path: Path, level: str, idle: bool
) -> None:
    """By its ``initialize`` answer, and once initialized and idle (the shutdown answer comes
    after the initialized notification's work), nothing of what configures or runs agents is
    loaded. At INFO (the default) its first log line, after the answer, loads structlog."""
    server = subprocess.Popen(
        [sys.executable, "-X", "importtime", "-m", "agentls", "serve", "--log-level", level],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    assert server.stdin is not None and server.stdout is not None
    initialize = {"processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {}}
    server.stdin.write(frame({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                              "params": initialize}))  # fmt: skip
    server.stdin.flush()
    capabilities = read_answer(server.stdout)["result"]["capabilities"]
    if idle:
        server.stdin.write(frame({"jsonrpc": "2.0", "method": "initialized", "params": {}}))
        server.stdin.write(frame({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}))
        server.stdin.flush()
        assert read_answer(server.stdout)["id"] == 2
    server.kill()
    _, stderr = server.communicate(timeout=30)
    assert "agentls.runWorkflow" in capabilities["executeCommandProvider"]["commands"]
    assert capabilities["codeActionProvider"]["resolveProvider"] is True
    modules = imported(stderr)
    assert "lsprotocol.types" in modules  # the report is read right
    assert "click" not in modules  # ``agentls serve`` is read with argparse
    logging = {"structlog", "rich", "agentls.redaction"} if idle and level == "INFO" else set()
    assert [m for m in heavy(modules) if m.split(".")[0] not in logging and m not in logging] == []


def test_help_and_version_import_no_subcommand() -> None:
    for argument in ("--help", "--version"):
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "agentls", argument],
            capture_output=True,
            timeout=60,
        )
        assert done.returncode == 0
        modules = imported(done.stderr)
        assert "click" in modules
        assert heavy(modules) == []
        assert sorted(m for m in modules if m.startswith("agentls.cli.")) == [
            "agentls.cli.group",
            "agentls.cli.handoff",  # which finds neither worth handing to the resident
            "agentls.cli.startup",
        ]


def test_the_help_lists_each_subcommand_with_its_own_first_sentence() -> None:
    group = cli
    assert isinstance(group, LazyGroup)
    context = click.Context(group)
    for name, (_, listed) in COMMANDS.items():
        command = group.get_command(context, name)
        assert command is not None and command.get_short_help_str(limit=1000) == listed


def test_serve_reached_through_the_group_reads_the_same_options(tmp_path: Path) -> None:
    """``agentls -v serve ...`` goes through click to the same parser and checks."""
    for argv in (["serve", "--tcp", "1", "--ws", "2"], ["-v", "serve", "--tcp", "1", "--ws", "2"]):
        done = subprocess.run(
            [sys.executable, "-m", "agentls", *argv], capture_output=True, timeout=60, cwd=tmp_path
        )
        assert (done.returncode, done.stderr) == (2, b"agentls: give --tcp or --ws, not both\n")
    done = subprocess.run(
        [sys.executable, "-m", "agentls", "serve", "--port", "1"], capture_output=True, timeout=60
    )
    assert done.returncode == 2 and b"unrecognized arguments: --port 1" in done.stderr


def test_a_terminal_review_loads_only_what_it_uses(tmp_path: Path) -> None:
    """``agentls run offline FILE --json`` keeps no metrics (nothing exports them), renders no
    Markdown and logs nothing below WARNING."""
    (tmp_path / "bad.py").write_text("import os\n")
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "agentls", "run", "offline", "bad.py", "--json"],
        capture_output=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]  # a warning does not fail the run
    assert json.loads(done.stdout)["findings"][0]["code"] == "F401"
    modules = imported(done.stderr)
    assert "agentls.orchestration.workflow" in modules  # the report is read right
    assert {"prometheus_client", "markdown_it", "rich.markdown", "structlog"} & modules == set()
