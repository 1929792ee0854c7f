"""An agent that echoes a key (plain and encoded) reaches the editor only redacted: progress,
diagnostics and their quick-fix data, messages, the run's report and agentls.showRun."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from agentls.redaction import REDACTED
from tests.ops.test_redaction import SECRET, everything_echoed, leaks
from tests.server.conftest import Editor


async def test_an_echoed_key_never_reaches_the_editor(editor: Editor) -> None:
    editor.scenario("gemini", everything_echoed())
    uri = editor.open("calc.py")
    answer = await editor.command(
        "agentls.runTask", uri=uri, task="review", agent="gemini", instruction=f"use {SECRET}"
    )
    reports = await editor.finished(answer["runId"])
    shown = await editor.command("agentls.showRun", runId=answer["runId"])
    [diagnostic] = editor.client.diagnostics[uri]
    sent = [
        *(str(report) for report in reports),
        str(diagnostic.message),
        str(diagnostic.data),
        *(message.message for message in editor.client.messages),
        str(shown),
    ]
    assert REDACTED in diagnostic.message and REDACTED in str(diagnostic.data)
    for text in sent:
        assert not leaks(text), text
    report = Path(os.environ["XDG_STATE_HOME"]).joinpath("agentls").rglob("reports/*.md")
    [written] = list(report)
    assert not leaks(written.read_text()) and stat.S_IMODE(written.stat().st_mode) == 0o600
