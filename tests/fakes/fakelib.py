"""What the fake agent CLIs share: steering by scenario, logging, edits, the failure modes.

Each fake (``bin/claude``, ``bin/codex``, ``bin/gemini``, ``bin/copilot``) parses the real
tool's flags and prints the real tool's output format; this module decides what happens.
See README.md beside it for the steering contract.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, Protocol

HUGE_DEFAULT = 50 * 1024 * 1024


@dataclass
class Call:
    """One invocation as the fake understood it."""

    tool: str
    prompt: str
    stdin: str | None
    cwd: Path
    write: bool
    session_id: str | None = None
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class Scenario:
    behavior: str = "ok"
    reply: str = "OK"
    edits: dict[str, str] = field(default_factory=dict)
    session_id: str | None = None
    huge_bytes: int = HUGE_DEFAULT
    delay_s: float = 0.0
    rogue_writes: dict[str, str] = field(default_factory=dict)
    """Written as given in write mode, outside the tool's own checks: a misbehaving agent."""
    commands: list[list[str]] = field(default_factory=list)
    """Programs the agent runs in its working folder (a shell tool), waited for in order."""
    own_sandbox_failed: bool = False
    """The tool's own read-only sandbox did not start (as Codex's helper may not): the rogue
    writes and commands happen in read-only mode too."""
    asks: list[dict[str, Any]] = field(default_factory=list)
    """ACP: permission requests made before the reply (``kind``, ``title``, ``paths``)."""
    reads: list[str] = field(default_factory=list)
    """ACP: files read through the client (``fs/read_text_file``) before the reply."""
    writes_itself: bool = False
    """ACP: allowed ``edits`` are written to disk by the agent itself, not through
    ``fs/write_text_file`` (as claude-agent-acp does)."""
    usage: dict[str, float] = field(default_factory=dict)
    """ACP and Claude: ``input``, ``output`` tokens and ``cost`` (USD) reported for the turn;
    with ``meta``, the tokens are in the response's ``_meta.quota`` (as gemini --acp reports
    them)."""
    reports: list[Any] = field(default_factory=list)
    """ACP: findings sent, one ``tools/call`` each, to the MCP server the client offered."""
    report_title: str = "mcp__agentls__report_finding"
    """ACP: the title of the permission asked before those calls (claude-agent-acp's)."""
    path: Path | None = None


@dataclass
class Edit:
    path: Path
    kind: str  # "add" or "update"
    content: str
    applied: bool
    reason: str = ""


class Tool(Protocol):
    """The output format of one CLI."""

    name: str
    credential_env: tuple[str, ...]

    def start(self, call: Call, session: str) -> None: ...
    def filler(self, session: str) -> str: ...
    def edits(self, call: Call, session: str, edits: list[Edit]) -> None: ...
    def succeed(self, call: Call, session: str, reply: str, edits: list[Edit]) -> int: ...
    def fail(self, call: Call, session: str, kind: str) -> int: ...
    def crash(self) -> NoReturn: ...


def emit(obj: Any, stream: Any = None) -> None:
    out = stream or sys.stdout
    out.write(json.dumps(obj, ensure_ascii=False) + "\n")
    out.flush()


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())


def read_stdin() -> str | None:
    if sys.stdin is None or sys.stdin.isatty():
        return None
    data = sys.stdin.read()
    return data or None


def load_scenario() -> Scenario:
    raw_path = os.environ.get("AGENTLS_FAKE_SCENARIO")
    if not raw_path:
        return Scenario()
    path = Path(raw_path)
    data: dict[str, Any] = json.loads(path.read_text())
    sequence = data.pop("sequence", None)
    if sequence:
        step = sequence[min(_bump(path, ".seq"), len(sequence) - 1)]
        data.update(step)
    if data.get("behavior") == "rate_limit_once":
        data["behavior"] = "rate_limit" if _bump(path, ".count") == 0 else "ok"
    known = {k: v for k, v in data.items() if k in Scenario.__dataclass_fields__}
    return Scenario(**known, path=path)


def reported_version(default: str) -> str:
    """What ``--version`` prints: the scenario's ``version`` (an upgraded CLI), else ``default``.
    Read without counting a call of a ``sequence``."""
    raw_path = os.environ.get("AGENTLS_FAKE_SCENARIO")
    if not raw_path or not Path(raw_path).exists():
        return default
    return str(json.loads(Path(raw_path).read_text()).get("version") or default)


def _bump(path: Path, suffix: str) -> int:
    """How many times this counter was read before (and count this time)."""
    counter = Path(f"{path}{suffix}")
    count = int(counter.read_text()) if counter.exists() else 0
    counter.write_text(str(count + 1))
    return count


def log_call(call: Call, argv: list[str]) -> None:
    target = os.environ.get("AGENTLS_FAKE_LOG")
    if not target:
        return
    record = {
        "tool": call.tool,
        "argv": argv,
        "stdin": call.stdin,
        "prompt": call.prompt,
        "cwd": str(call.cwd),
        "env": sorted(os.environ),
        "pid": os.getpid(),
    }
    with open(target, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")


def plan_edits(call: Call, scenario: Scenario) -> list[Edit]:
    planned = []
    root = call.cwd.resolve()
    for relative, content in scenario.edits.items():
        target = (root / relative).resolve()
        if not target.is_relative_to(root):
            continue  # the real tools' sandboxes refuse writes outside the working directory
        kind = "update" if target.exists() else "add"
        planned.append(Edit(target, kind, content, applied=call.write))
        if not call.write:
            planned[-1].reason = "Permission denied: the tool is not allowed to write"
    return planned


def apply_edits(edits: list[Edit]) -> None:
    for edit in edits:
        if edit.applied:
            edit.path.parent.mkdir(parents=True, exist_ok=True)
            edit.path.write_text(edit.content)


def run(tool: Tool, call: Call, argv: list[str]) -> NoReturn:
    """Act out the scenario for one parsed call."""
    log_call(call, argv)
    scenario = load_scenario()
    session = call.session_id or scenario.session_id or str(uuid.uuid4())
    behavior = scenario.behavior
    if behavior == "garbage":
        sys.stdout.write("Welcome!!! <<<not json>>> {{{\n")
        sys.stdout.flush()
        sys.stdout.buffer.write(b"\x89PNG\r\n\x1a\n\x00\xff\xfe binary \xc3\x28 tail\n")
        sys.stdout.buffer.flush()
        sys.exit(0)
    if behavior == "auth" or not any(os.environ.get(n) for n in tool.credential_env):
        sys.exit(tool.fail(call, session, "auth"))  # each tool prints what it prints first
    tool.start(call, session)
    if behavior == "hang":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        while True:
            time.sleep(3600)
    if behavior == "crash":
        sys.stdout.write('{"type": "partial", "tru')
        sys.stdout.flush()
        tool.crash()
    if behavior in ("rate_limit", "server_error", "max_turns"):
        code = tool.fail(call, session, behavior)
        if code >= 0:  # -1: the tool has no such failure, it just succeeds
            sys.exit(code)
    if behavior == "huge":
        _write_huge(tool, session, scenario.huge_bytes)
    if behavior == "orphan":
        _spawn_orphan(scenario)
    if scenario.delay_s:
        time.sleep(scenario.delay_s)
    edits = plan_edits(call, scenario)
    apply_edits(edits)
    if call.write or scenario.own_sandbox_failed:
        _misbehave(scenario)
    tool.edits(call, session, edits)
    call.options["usage"] = scenario.usage
    code = tool.succeed(call, session, scenario.reply, edits)
    if behavior == "exit_after_result":
        code = 1
    sys.exit(code)


def _misbehave(scenario: Scenario) -> None:
    """What a hostile or confused agent does beyond its tool's rules; failures are ignored,
    as an agent shrugs off a denied write."""
    for written, content in scenario.rogue_writes.items():
        try:
            target = Path(written)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
        except OSError as error:
            sys.stderr.write(f"rogue write {written}: {error}\n")
    for argv in scenario.commands:
        subprocess.run(argv, check=False, stdin=subprocess.DEVNULL)


def _write_huge(tool: Tool, session: str, size: int) -> None:
    line = tool.filler(session)
    chunk = line * max(1, (256 * 1024) // len(line))
    written = 0
    while written < size:
        sys.stdout.write(chunk)
        written += len(chunk)
    sys.stdout.flush()


def _spawn_orphan(scenario: Scenario) -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    if scenario.path is not None:
        Path(f"{scenario.path}.orphan_pid").write_text(str(child.pid))


def usage_error(message: str, code: int) -> NoReturn:
    sys.stderr.write(message + "\n")
    sys.exit(code)


def node_crash() -> NoReturn:
    sys.stderr.write(
        "file:///usr/lib/node_modules/agent/dist/index.js:4211\n"
        "TypeError: Cannot read properties of undefined (reading 'content')\n"
        "    at handleMessage (file:///usr/lib/node_modules/agent/dist/index.js:4211:33)\n"
        "\nNode.js v22.11.0\n"
    )
    sys.stderr.flush()
    os._exit(1)


def split_reply(reply: str) -> list[str]:
    """The reply in two or more pieces, as streamed deltas."""
    middle = max(1, len(reply) // 2)
    return [reply[:middle], reply[middle:]] if len(reply) > 1 else [reply]
