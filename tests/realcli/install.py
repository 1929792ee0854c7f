"""Install the real agent CLIs, and the ACP agents that are not one of them
(claude-agent-acp), from npm for the contract tests (``make realcli``).

    python tests/realcli/install.py            the versions pinned in versions.json
    python tests/realcli/install.py --latest   the newest on npm (``make realcli-latest``)

Each goes to ``.cache/realcli/NAME@VERSION`` (kept between runs; npm's own cache makes a
reinstall quick), all at once. Where the npm registry cannot be reached, the reason is
written to ``.cache/realcli/unavailable.txt`` and the tests skip, saying it; any other failure
fails the install.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
CACHE = ROOT / ".cache" / "realcli"
UNAVAILABLE = CACHE / "unavailable.txt"
LATEST = CACHE / "latest.json"
_UNREACHABLE = ("ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED", "ETIMEDOUT", "ECONNRESET", "ENETUNREACH")


def pinned() -> dict[str, dict[str, str]]:
    return json.loads((HERE / "versions.json").read_text())


def folder(name: str, version: str) -> Path:
    return CACHE / f"{name}@{version}"


def binary(name: str, spec: dict[str, str]) -> Path:
    return folder(name, spec["version"]) / "node_modules" / ".bin" / spec["bin"]


def newest(specs: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    latest = {}
    for name, spec in specs.items():
        done = _npm("view", spec["package"], "version")
        if done.returncode != 0:
            _give_up(done)
        latest[name] = {**spec, "version": done.stdout.strip()}
    return latest


def install(specs: dict[str, dict[str, str]]) -> None:
    missing = {name: spec for name, spec in specs.items() if not binary(name, spec).exists()}
    running = {}
    for name, spec in missing.items():
        target = folder(name, spec["version"])
        shutil.rmtree(target, ignore_errors=True)  # a half-finished earlier install
        target.mkdir(parents=True)
        running[name] = subprocess.Popen(
            ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", "--prefix",
             str(target), f"{spec['package']}@{spec['version']}"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
    for name, process in running.items():
        stdout, stderr = process.communicate()
        if process.returncode != 0 or not binary(name, specs[name]).exists():
            shutil.rmtree(folder(name, specs[name]["version"]), ignore_errors=True)
            _give_up(subprocess.CompletedProcess([], process.returncode, stdout, stderr))
    for name, spec in specs.items():
        print(f"{name} {spec['version']}: {binary(name, spec)}")


def _npm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["npm", *args], capture_output=True, text=True, timeout=300)


def _give_up(done: subprocess.CompletedProcess[str]) -> None:
    output = f"{done.stderr}\n{done.stdout}".strip()
    if any(code in output for code in _UNREACHABLE):
        reason = "the npm registry cannot be reached: " + output.splitlines()[-1][:200]
        UNAVAILABLE.write_text(reason + "\n")
        print(f"realcli: {reason}; the real-CLI tests will be skipped", file=sys.stderr)
        sys.exit(0)
    sys.exit(f"realcli: npm failed:\n{output}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latest", action="store_true", help="the newest versions on npm")
    args = parser.parse_args()
    if shutil.which("npm") is None:
        sys.exit("realcli: npm is needed (Node >= 20) to install the real agent CLIs")
    CACHE.mkdir(parents=True, exist_ok=True)
    UNAVAILABLE.unlink(missing_ok=True)
    specs = newest(pinned()) if args.latest else pinned()
    install(specs)
    if args.latest:
        LATEST.write_text(json.dumps(specs, indent=2) + "\n")


if __name__ == "__main__":
    main()
