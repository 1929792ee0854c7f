"""A client's settings and a repository's .agentls.yaml never choose what runs, until the user
trusts that file (through the server's "Trust" prompt or the agentls.trust command)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import yaml
from lsprotocol import types

from tests.server.conftest import Editor
from tests.server.rawlsp import RawServer


def marker_command(marker: Path) -> list[str]:
    """A program that leaves ``marker`` behind whenever it runs, whatever its arguments (even
    the ``--version`` that listing agents runs)."""
    program = marker.with_name("program")
    program.write_text(f"#!{sys.executable}\nopen({str(marker)!r}, 'w').write('ran')\n")
    program.chmod(0o755)
    return [str(program)]


def untrusted_config(workspace: Path, marker: Path) -> None:
    """What a cloned repository could ship: an agent command and a new agent, plus a workflow
    and a prompt (which may still run, on the built-in agents)."""
    config = {
        "agents": {
            "claude": {"command": marker_command(marker)},
            "helper": {"adapter": "command", "command": marker_command(marker)},
        },
        "workflows": {"explain_it": {"steps": [{"agent": "ruff", "task": "review"}]}},
        "settings": {"audit": {"enabled": False}, "pass_env": ["HOME"]},
    }
    (workspace / ".agentls.yaml").write_text(yaml.safe_dump(config))


async def until(condition: object, timeout: float = 15) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():  # type: ignore[operator]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.05)


async def test_initialization_options_cannot_set_an_agent_command(workspace: Path) -> None:
    marker = workspace.parent / "ran"
    server = await RawServer.start(workspace)
    try:
        options = {"agents": {"claude": {"command": marker_command(marker), "model": "opus"}}}
        await server.initialize(workspace, options)
        uri = server.open(workspace / "calc.py")
        await until(lambda: any(n["method"] == "window/showMessage" for n in server.notifications))
        shown = [
            n["params"]["message"] for n in server.notifications if "showMessage" in n["method"]
        ]
        assert any("agents.claude.command ignored" in m for m in shown), shown
        agents = await server.request(
            "workspace/executeCommand",
            {"command": "agentls.listAgents", "arguments": [{"uri": uri}]},
        )
        claude = next(a for a in agents["result"] if a["name"] == "claude")
        assert claude["binary"].endswith("fakes/bin/claude")
        answer = await server.request(
            "workspace/executeCommand",
            {
                "command": "agentls.runTask",
                "arguments": [{"uri": uri, "task": "explain", "agent": "claude"}],
            },
        )
        run_id = answer["result"]["runId"]
        await until(
            lambda: any(
                n["method"] == "$/progress"
                and run_id in str(n["params"]["token"])
                and n["params"]["value"]["kind"] == "end"
                for n in server.notifications
            ),
            30,
        )
        assert not marker.exists()
    finally:
        await server.close()


async def test_pushed_settings_cannot_set_an_agent_command(editor: Editor) -> None:
    marker = editor.workspace.parent / "ran"
    editor.scenario("claude", "It adds numbers.")
    uri = editor.open("calc.py")
    editor.client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(
            settings={"agentls": {"agents": {"claude": {"command": marker_command(marker)}}}}
        )
    )
    await until(lambda: any("agents.claude.command" in m.message for m in editor.client.messages))
    await editor.command("agentls.listAgents", uri=uri)
    run_id = (await editor.command("agentls.runTask", uri=uri, task="explain", agent="claude"))[
        "runId"
    ]
    await editor.finished(run_id)
    assert not marker.exists() and editor.calls("claude")


async def test_an_untrusted_workspace_file_runs_nothing_of_its_own(editor: Editor) -> None:
    marker = editor.workspace.parent / "ran"
    untrusted_config(editor.workspace, marker)
    editor.answer = None  # the user dismisses the prompt
    uri = editor.open("calc.py")
    await until(lambda: editor.asked)
    question = editor.asked[0]
    assert question.type == types.MessageType.Warning
    assert [a.title for a in question.actions or []] == ["Trust", "Not now"]
    for ignored in ("agents.claude.command", "agents.helper", "settings.pass_env"):
        assert ignored in question.message
    assert "settings.audit" in question.message and "agentls trust" in question.message
    agents = {a["name"]: a for a in await editor.command("agentls.listAgents", uri=uri)}
    assert "helper" not in agents and agents["claude"]["binary"].endswith("fakes/bin/claude")
    workflows = [w["name"] for w in await editor.command("agentls.listWorkflows", uri=uri)]
    assert "explain_it" in workflows  # its workflows still run, on the built-in agents
    run_id = (await editor.command("agentls.runWorkflow", uri=uri, workflow="explain_it"))["runId"]
    await editor.finished(run_id)
    assert not marker.exists()
    # Trusting it (the command an editor's palette runs) lets its agents run.
    await editor.command("agentls.trust", uri=uri)
    agents = {a["name"]: a for a in await editor.command("agentls.listAgents", uri=uri)}
    assert "helper" in agents and marker.exists()


async def test_the_trust_prompt_trusts_that_content_and_a_change_needs_trusting_again(
    editor: Editor,
) -> None:
    marker = editor.workspace.parent / "ran"
    untrusted_config(editor.workspace, marker)
    editor.answer = "Trust"
    uri = editor.open("calc.py")
    await until(lambda: any("trusted" in m.message for m in editor.client.messages))
    agents = {a["name"]: a for a in await editor.command("agentls.listAgents", uri=uri)}
    assert "helper" in agents and marker.exists()
    marker.unlink()
    # The repository changes its file (a pull, or an agent): it is untrusted again.
    editor.answer = None
    config = editor.workspace / ".agentls.yaml"
    config.write_text(config.read_text() + "\n# changed\n")
    editor.client.text_document_did_save(
        types.DidSaveTextDocumentParams(
            text_document=types.TextDocumentIdentifier(uri=config.as_uri())
        )
    )
    await until(lambda: len(editor.asked) == 2)
    agents = {a["name"]: a for a in await editor.command("agentls.listAgents", uri=uri)}
    assert "helper" not in agents and not marker.exists()
