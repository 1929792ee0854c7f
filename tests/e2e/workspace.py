"""What every real-editor test shares: a workspace, the fake agent CLIs steered from its
``.agentls.yaml``, an ``agentls`` launcher on PATH, and an environment with no user
configuration and no real credentials."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import AGENT_CLIS, write_trusted
from tests.fakes.script import PREFIX, log_file, read_calls, script_agent, write_scenario

ROOT = Path(__file__).resolve().parents[2]
FAKES_BIN = ROOT / "tests" / "fakes" / "bin"
CREDENTIALS = ("ANTHROPIC_API_KEY", "CODEX_API_KEY", "GEMINI_API_KEY", "GH_TOKEN")
# Fast retries and a short grace before SIGKILL, as in the server tests.
SETTINGS = {"settings": {"retry_backoff_s": 0.01, "retry_backoff_max_s": 0.05, "kill_grace_s": 0.5}}


# A review agent's finding on calc.py's division, with a fix, and an implementer's new mean().
FIX = "    return sum(values) / max(len(values), 1)\n"
FINDINGS = {
    "findings": [
        {
            "line": 6,
            "severity": "error",
            "message": "ZeroDivisionError on an empty list",
            "code": "empty-mean",
            "suggestion": FIX,
        }
    ]
}
OLD_MEAN = "def mean(values):\n    return sum(values) / len(values)\n"
NEW_MEAN = "def mean(values):\n    return sum(values) / len(values) if values else 0.0\n"


def fenced(text: str, language: str = "json") -> str:
    """An agent's reply: ``text`` in a fenced block."""
    return f"```{language}\n{text.rstrip(chr(10))}\n```"


def docs_snippet(heading: str, language: str) -> str:
    """The first ``language`` block under ``heading`` in docs/editors.md."""
    docs = (ROOT / "docs" / "editors.md").read_text()
    section = docs.split(f"## {heading}\n", 1)[1]
    return section.split(f"```{language}\n", 1)[1].split("```", 1)[0]


class EditorWorkspace:
    """A workspace for one test's editor sessions; ``scratch`` holds everything else."""

    # Environment variables of the editor itself, left out so no user setup leaks in.
    editor_variables: tuple[str, ...] = ()

    def __init__(self, workspace: Path, scratch: Path) -> None:
        self.workspace = workspace
        self.scratch = scratch
        bin_dir = scratch / "bin"
        bin_dir.mkdir(parents=True, exist_ok=True)
        # `agentls` on PATH, as an installed agentls would be.
        self.launcher = launcher = bin_dir / "agentls"
        launcher.write_text(f'#!/bin/sh\nexec {sys.executable} -m agentls "$@"\n')
        launcher.chmod(0o755)
        self.home = home = scratch / "home"
        self.state_home = home / ".local" / "state"
        self.env = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith((PREFIX, *self.editor_variables))
            and not name.endswith(("_API_KEY", "_TOKEN"))
        }
        self.env.update(
            {
                "PATH": os.pathsep.join([str(FAKES_BIN), str(bin_dir), os.environ["PATH"]]),
                "HOME": str(home),
                "XDG_CONFIG_HOME": str(home / ".config"),
                "XDG_STATE_HOME": str(home / ".local" / "state"),
                "XDG_DATA_HOME": str(home / ".local" / "share"),
                "XDG_CACHE_HOME": str(home / ".cache"),
                **{name: "test-credential-value-1234" for name in CREDENTIALS},
                "AGENTLS_FAKES": str(FAKES_BIN),
                "AGENTLS_MARK": str(scratch),
            }
        )
        # The fakes read their scenario and write their log here: contained agents may too.
        self.fakes_io = scratch / "fakes-io"
        self.fakes_io.mkdir(exist_ok=True)
        user = home / ".config" / "agentls" / "config.yaml"
        user.parent.mkdir(parents=True, exist_ok=True)
        agents = {name: {"sandbox_paths": [str(self.fakes_io)]} for name in AGENT_CLIS}
        user.write_text(yaml.safe_dump({"agents": agents}))
        config = workspace / ".agentls.yaml"
        current = (yaml.safe_load(config.read_text()) if config.exists() else None) or {}
        current.setdefault("settings", {}).update(SETTINGS["settings"])
        write_trusted(config, yaml.safe_dump(current), self.state_home)

    def _config(self) -> dict[str, Any]:
        return yaml.safe_load((self.workspace / ".agentls.yaml").read_text()) or {}

    def _write_config(self, config: dict[str, Any]) -> None:
        write_trusted(self.workspace / ".agentls.yaml", yaml.safe_dump(config), self.state_home)

    def scenario(self, agent: str, *replies: str, behavior: str = "ok", **fields: Any) -> Path:
        """Script ``agent``'s fake in the workspace configuration, as the server tests do."""
        path = write_scenario(self.fakes_io, agent, behavior, replies, **fields)
        config = self._config()
        script_agent(config, agent, path, log_file(self.fakes_io, agent))
        self._write_config(config)
        return path

    def workflow(self, name: str, *steps: dict[str, Any]) -> None:
        config = self._config()
        config.setdefault("workflows", {})[name] = {"steps": list(steps)}
        self._write_config(config)

    def calls(self, agent: str) -> list[dict[str, Any]]:
        """What ``agent``'s fake was asked, in order."""
        return read_calls(log_file(self.fakes_io, agent))

    def session(
        self, command: list[str], env: dict[str, str], result_file: Path, timeout: float
    ) -> tuple[dict[str, Any] | None, str]:
        """Run one editor session in the workspace: the JSON it wrote to ``result_file``
        (None when it wrote nothing), and what it printed."""
        try:
            done = subprocess.run(
                command,
                cwd=self.workspace,
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout,
            )
            output = done.stdout + done.stderr
        except subprocess.TimeoutExpired as error:
            output = f"(killed after {timeout} s)\n{error.stdout or ''}{error.stderr or ''}"
        if not result_file.exists():
            return None, output
        return json.loads(result_file.read_text()), output

    def agents_alive(self) -> list[int]:
        """This workspace's fake agents still running (their environment names ``scratch``)."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes()
                environ = (entry / "environ").read_bytes()
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            state = stat[stat.rfind(")") + 2]
            ours = str(FAKES_BIN).encode() in cmdline and str(self.scratch).encode() in environ
            if ours and state not in "ZX":
                found.append(int(entry.name))
        return found
