"""Runs an ACP agent and records every line of its stdio, both ways, as JSON lines:

    python acp_tap.py LOG AGENT [ARGS...]

Each record is ``{"from": "client" | "agent", "message": ...}``, in the order the tap saw
them, so a test can tell what agentls sent and what the real agent answered (and when)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from typing import IO


def main() -> None:
    log_path, argv = sys.argv[1], sys.argv[2:]
    agent = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert agent.stdin is not None and agent.stdout is not None
    lock = threading.Lock()
    with open(log_path, "a", encoding="utf-8") as log:

        def relay(source: IO[bytes], target: IO[bytes], side: str) -> None:
            for line in iter(source.readline, b""):
                try:
                    message = json.loads(line)
                except ValueError:
                    message = line.decode("utf-8", "replace")
                with lock:  # recorded before it is passed on: the log's order is the wire's
                    log.write(json.dumps({"from": side, "message": message}) + "\n")
                    log.flush()
                try:
                    target.write(line)
                    target.flush()
                except (BrokenPipeError, ValueError):  # the other side is gone
                    return
            target.close()

        threading.Thread(
            target=relay, args=(sys.stdin.buffer, agent.stdin, "client"), daemon=True
        ).start()
        relay(agent.stdout, sys.stdout.buffer, "agent")
    sys.exit(agent.wait())


if __name__ == "__main__":
    main()
