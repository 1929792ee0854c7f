"""The language server's memory over many runs: RSS after a few runs and after many, on one
server. Each run reviews a 10,000-line file (40 findings) and rewrites it (one whole-file
edit), with the fake agents of tests/fakes answering at once."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from tests.server.rawlsp import RawServer as Client

FINDINGS = 40
LINES = 10_000


def memory_workspace(base: Path) -> tuple[Path, dict[str, str]]:
    """A workspace and the environment for its server: the agents' scenarios sit in the user's
    own (trusted) config, in folders of the benchmark's own."""
    root = base / "mem-ws"
    root.mkdir()
    text = "".join(f"value_{n} = {n}\n" for n in range(LINES))
    (root / "big.py").write_text(text)
    findings = [
        {"line": n * 10 + 1, "severity": "warning", "message": f"finding {n} " + "x" * 200}
        for n in range(FINDINGS)
    ]
    replies = {
        "claude": json.dumps({"findings": findings}),
        "codex": "```python\n" + text.replace("= 1", "= 2") + "```",
    }
    agents = {}
    scenarios = base / "mem-fakes"  # contained agents see it (sandbox_paths), not the rest
    scenarios.mkdir()
    for agent, reply in replies.items():
        scenario = scenarios / f"mem-{agent}.json"
        scenario.write_text(json.dumps({"behavior": "ok", "reply": reply}))
        agents[agent] = {
            "set_env": {"AGENTLS_FAKE_SCENARIO": str(scenario)},
            "sandbox_paths": [str(scenarios)],
        }
    steps = [{"agent": "claude", "task": "review"}, {"agent": "codex", "task": "implement"}]
    config = {
        "agents": agents,
        "workflows": {"mem": {"steps": steps}},
        "settings": {"cache": {"enabled": False}, "audit": {"enabled": False}},
    }
    user = base / "mem-home"
    (user / "config" / "agentls").mkdir(parents=True)
    (user / "config" / "agentls" / "config.yaml").write_text(json.dumps(config))
    env = {"XDG_CONFIG_HOME": str(user / "config"), "XDG_STATE_HOME": str(user / "state")}
    return root, env


async def rss_after_runs(
    command: list[str], root: Path, env: dict[str, str], marks: list[int]
) -> dict[int, int]:
    """RSS (KiB) of one server after each count of finished runs in ``marks``."""
    client = await Client.start(root, command, env)
    seen: dict[int, int] = {}
    try:
        await client.initialize(root)
        uri = client.open(root / "big.py")
        for done in range(1, max(marks) + 1):
            await _run(client, uri)
            client.notifications.clear()
            if done in marks:
                await asyncio.sleep(0.3)
                seen[done] = client.rss_kib()
        return seen
    finally:
        await client.close()


async def _run(client: Client, uri: str) -> None:
    started = await client.request(
        "workspace/executeCommand",
        {"command": "agentls.runWorkflow", "arguments": [{"uri": uri, "workflow": "mem"}]},
    )
    show = {"command": "agentls.showRun", "arguments": [{"runId": started["result"]["runId"]}]}
    while (await client.request("workspace/executeCommand", show))["result"]["status"] == "running":
        await asyncio.sleep(0.02)
