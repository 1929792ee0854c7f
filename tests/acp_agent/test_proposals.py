"""A run's change: a diff tool call, a permission request, and a write only on ``Apply``:
through the client's ``fs/write_text_file`` when it offers it, else on disk with a backup."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from acp import embedded_text_resource, resource_block, text_block
from acp.schema import FileEditToolCallContent, ToolCallStart

from tests.acp_agent.client import RecordingClient, acp_agent, statuses
from tests.acp_agent.conftest import NEW_MEAN
from tests.conftest import SAMPLE, Scenario

pytestmark = pytest.mark.usefixtures("credentials")

OLD_MEAN = "def mean(values):\n    return sum(values) / len(values)\n"
AFTER = SAMPLE.replace(OLD_MEAN, NEW_MEAN)


def selection(path: Path, start: int, end: int) -> object:
    """A selection as Zed sends it: the file's URI with ``#Lstart:end``, its text embedded."""
    lines = path.read_text().splitlines(keepends=True)[start - 1 : end]
    return resource_block(embedded_text_resource(f"{path.as_uri()}#L{start}:{end}", "".join(lines)))


async def propose(
    workspace: Path, log: Path, client: RecordingClient, reads: bool, writes: bool
) -> str:
    """Run ``fix`` on lines 5-6 of calc.py (codex rewrites ``mean``); the stop reason."""
    async with acp_agent(client, workspace, log, reads=reads, writes=writes) as agent:
        await agent.conn.set_config_option(
            config_id="workflow", session_id=agent.session_id, value="fix"
        )
        prompt = [text_block("handle an empty list "), selection(workspace / "calc.py", 5, 6)]
        answer = await agent.conn.prompt(session_id=agent.session_id, prompt=prompt)
    return answer.stop_reason


async def test_applied_through_the_client_the_editor_gets_the_change(
    acp_workspace: Path, stderr_log: Path, scenario: Scenario
) -> None:
    scenario("ok", reply=f"```python\n{NEW_MEAN}```")
    client = RecordingClient(answer="apply")
    assert await propose(acp_workspace, stderr_log, client, reads=True, writes=True) == "end_turn"

    step = client.titled("implement: codex implement")
    assert isinstance(step[0], ToolCallStart) and step[0].kind == "edit"
    assert statuses(step) == ["pending", "in_progress", "completed"]

    proposal = client.titled("Proposed changes: calc.py")
    start = proposal[0]
    assert isinstance(start, ToolCallStart) and start.kind == "edit"
    [diff] = start.content or []
    assert isinstance(diff, FileEditToolCallContent)
    target = str(acp_workspace / "calc.py")
    assert (diff.path, diff.old_text, diff.new_text) == (target, SAMPLE, AFTER)

    [asked] = client.asked
    assert asked.tool_call.tool_call_id == start.tool_call_id
    assert [(o.option_id, o.name, o.kind) for o in asked.options] == [
        ("apply", "Apply", "allow_once"),
        ("discard", "Discard", "reject_once"),
    ]
    assert client.writes == {target: AFTER}
    assert (acp_workspace / "calc.py").read_text() == SAMPLE  # the editor saves, not agentls
    assert statuses(proposal)[-1] == "completed"
    assert "applied to calc.py" in client.text()


async def test_without_fs_the_change_is_written_on_disk_and_can_be_undone(
    acp_workspace: Path, stderr_log: Path, scenario: Scenario
) -> None:
    scenario("ok", reply=f"```python\n{NEW_MEAN}```")
    client = RecordingClient(answer="apply")
    assert await propose(acp_workspace, stderr_log, client, reads=False, writes=False) == "end_turn"
    assert client.reads == [] and client.writes == {}
    assert (acp_workspace / "calc.py").read_text() == AFTER
    [line] = [line for line in client.text().splitlines() if line.startswith("applied to")]
    run_id = line.rsplit("agentls undo ", 1)[1].strip("`")
    undone = subprocess.run(
        [sys.executable, "-m", "agentls", "undo", run_id],
        cwd=acp_workspace,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert undone.returncode == 0, undone.stderr
    assert (acp_workspace / "calc.py").read_text() == SAMPLE


@pytest.mark.parametrize("answer", ["discard", "cancelled"])
@pytest.mark.parametrize("writes", [True, False], ids=["fs", "disk"])
async def test_a_change_the_user_did_not_accept_is_never_written(
    acp_workspace: Path, stderr_log: Path, scenario: Scenario, answer: str, writes: bool
) -> None:
    scenario("ok", reply=f"```python\n{NEW_MEAN}```")
    client = RecordingClient(answer=answer)
    assert await propose(acp_workspace, stderr_log, client, reads=writes, writes=writes) == (
        "end_turn"
    )
    assert len(client.asked) == 1
    assert client.writes == {}
    assert (acp_workspace / "calc.py").read_text() == SAMPLE
    assert statuses(client.titled("Proposed changes: calc.py"))[-1] == "failed"
    assert "nothing was written" in client.text()


@pytest.mark.parametrize("writes", [True, False], ids=["fs", "disk"])
async def test_a_file_edited_while_the_user_decided_is_not_overwritten(
    acp_workspace: Path, stderr_log: Path, scenario: Scenario, writes: bool
) -> None:
    """The user typed in the file while the agents worked: applying would lose that."""
    scenario("ok", reply=f"```python\n{NEW_MEAN}```")
    calc = acp_workspace / "calc.py"
    client = RecordingClient(answer="apply")

    def type_in_it() -> None:
        client.buffers[str(calc)] = SAMPLE + "# typed meanwhile\n"
        calc.write_text(SAMPLE + "# typed meanwhile\n")

    client.while_asked = type_in_it
    assert await propose(acp_workspace, stderr_log, client, reads=writes, writes=writes) == (
        "end_turn"
    )
    assert client.writes == {}
    assert calc.read_text() == SAMPLE + "# typed meanwhile\n"
    assert "calc.py changed since run" in client.text()
