"""What the editor is offered: code actions for the workflows and quick tasks (at once, on a
large file, while runs go on) and the agents to choose from."""

from __future__ import annotations

from lsprotocol import types

from tests.adapters.test_agent_adapters import fake_processes
from tests.server.conftest import Editor, code_actions


async def test_code_actions_list_workflows_and_quick_tasks(editor: Editor) -> None:
    uri = editor.open("calc.py")
    actions = await code_actions(editor, uri, diagnostics=[])
    titles = [a.title for a in actions]
    assert "agentls: run default on the selection (codex → gemini → claude)" in titles
    assert "agentls: run review on the selection (claude+gemini+codex)" in titles
    assert "agentls: review the selection with gemini" in titles
    by_title = {a.title: a for a in actions}
    default = by_title["agentls: run default on the selection (codex → gemini → claude)"]
    assert default.kind == "refactor.rewrite.agentls"
    assert default.command is not None and default.command.command == "agentls.runWorkflow"
    [argument] = default.command.arguments or []
    assert argument["uri"] == uri and argument["workflow"] == "default"
    only = await code_actions(editor, uri, diagnostics=[], only=["source.agentls.review"])
    assert only and all((a.kind or "").startswith("source.agentls.review") for a in only)


async def test_list_agents(editor: Editor) -> None:
    uri = editor.open("calc.py")
    agents = {a["name"]: a for a in await editor.command("agentls.listAgents", uri=uri)}
    assert agents["claude"]["binary"].endswith("fakes/bin/claude")
    assert agents["ruff"]["ready"]
    assert agents["ruff"]["tasks"] == ["review"]
    assert agents["claude"]["tasks"] == ["explain", "implement", "refine", "review"]


async def test_code_actions_answer_on_a_large_file_while_runs_go_on(editor: Editor) -> None:
    editor.scenario("codex", behavior="hang")
    big = "".join(f"value_{n} = {n}\n" for n in range(10_000))
    (editor.workspace / "big.py").write_text(big)
    uri = editor.open("big.py")
    runs = [(await editor.command("agentls.runWorkflow", uri=uri))["runId"] for _ in range(2)]
    middle = types.Range(
        start=types.Position(line=5000, character=0), end=types.Position(line=5010, character=0)
    )
    for _ in range(5):
        assert await code_actions(editor, uri, middle, diagnostics=[])
    for run_id in runs:
        await editor.command("agentls.cancel", runId=run_id)
        await editor.finished(run_id)
    assert fake_processes("codex") == []
