"""An ACP agent in the editor: what the permission policy asks about is put to the user in
a message box (``window/showMessageRequest``), and only a click on Allow allows it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import write_trusted
from tests.server.conftest import FINDINGS, Editor

FAKE = Path(__file__).parent.parent / "fakes" / "acp_fake.py"


def add_acp_agent(editor: Editor) -> None:
    config_file = editor.workspace / ".agentls.yaml"
    config = yaml.safe_load(config_file.read_text())
    config["agents"] = {
        "fake": {
            "adapter": "acp",
            "command": [sys.executable, str(FAKE)],
            "sandbox_paths": [str(editor.fakes_io)],
        }
    }
    config["workflows"] = {"acp": {"steps": [{"agent": "fake", "task": "review"}]}}
    config["settings"]["cache"] = {"enabled": False}
    write_trusted(config_file, yaml.safe_dump(config))


@pytest.mark.parametrize(("answer", "allowed"), [("Allow", True), ("Deny", False), (None, False)])
async def test_the_user_is_asked_in_a_message_box(
    editor: Editor, answer: str | None, allowed: bool
) -> None:
    add_acp_agent(editor)
    editor.scenario("fake", FINDINGS, asks=[{"kind": "execute", "title": "npm test"}])
    editor.answer = answer
    uri = editor.open("calc.py")
    run_id = (await editor.command("agentls.runWorkflow", uri=uri, workflow="acp"))["runId"]
    await editor.finished(run_id)
    [question] = [q for q in editor.asked if "npm test" in q.message]
    assert question.message.startswith("agentls: fake wants to execute: npm test")
    assert "asked because permissions.execute: ask" in question.message
    assert [a.title for a in question.actions or []] == ["Allow", "Deny"]
    [call] = editor.calls("fake")
    assert call["asked"] == [allowed]
    report = await editor.command("agentls.showRun", runId=run_id)
    assert report["status"] == "ok"
