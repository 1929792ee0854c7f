"""What an ACP agent's permission policy asks about, in a terminal: the question on stderr,
the answer read from the terminal (y allows; anything else, or no terminal, denies)."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.adapters.test_acp import FINDINGS, configure


def in_a_terminal(
    workspace: Path, answer: bytes, *args: str, on_question: Callable[[], None] | None = None
) -> str:
    """``agentls ARGS`` on a pseudo-terminal, answering the first question with ``answer``
    (after ``on_question``, while it waits); everything it printed."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "agentls", *args],
        cwd=workspace,
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env=dict(os.environ, COLUMNS="200"),
    )
    os.close(follower)
    seen = b""
    answered = False
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the other end closed: the command ended
                break
            seen += chunk
            if not answered and b"Allow? [y/N]" in seen:
                if on_question is not None:
                    on_question()
                os.write(leader, answer)
                answered = True
        elif process.poll() is not None:
            break
    process.wait(timeout=30)
    os.close(leader)
    return seen.decode(errors="replace")


@pytest.mark.parametrize(("answer", "allowed"), [(b"y\n", True), (b"\n", False)])
def test_the_terminal_asks_and_reads_the_answer(
    workspace: Path, fakes_io: Path, scenario: Any, fake_log: Any, answer: bytes, allowed: bool
) -> None:
    configure(workspace, fakes_io)
    scenario("ok", reply=FINDINGS, asks=[{"kind": "execute", "title": "npm test"}])
    shown = in_a_terminal(workspace, answer, "exec", "fake", "calc.py", "--task", "review")
    assert "fake wants to execute: npm test" in shown
    assert "asked because permissions.execute: ask" in shown
    [call] = fake_log()
    assert call["asked"] == [allowed]


def test_without_a_terminal_nobody_is_asked(
    workspace: Path, fakes_io: Path, scenario: Any, fake_log: Any
) -> None:
    configure(workspace, fakes_io)
    scenario("ok", reply=FINDINGS, asks=[{"kind": "execute", "title": "npm test"}])
    done = subprocess.run(
        [sys.executable, "-m", "agentls", "exec", "fake", "calc.py", "--task", "review"],
        cwd=workspace,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert b"Allow?" not in done.stderr + done.stdout
    [call] = fake_log()
    assert call["asked"] == [False]
