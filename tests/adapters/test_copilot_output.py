"""The copilot adapter on what copilot 1.0.102 really printed (captured by tests/realcli), so
the parsing stays covered where the real CLI is not installed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agentls.adapters.base import AgentReply, TaskRequest
from agentls.adapters.copilot import CopilotAdapter
from agentls.adapters.runner import ProcessOutcome
from agentls.domain.config import AgentConfig, Settings
from agentls.domain.results import ErrorKind, TaskKind

SESSION = "88db8f20-e094-448f-a021-a6c946b72588"
NO_LOGIN = """\
Error: No authentication information found.

Copilot can be authenticated with GitHub using an OAuth Token or a Fine-Grained Personal Access \
Token.

To authenticate, you can use any of the following methods:
  \u2022 Start 'copilot' and run the '/login' command
  \u2022 Set the COPILOT_GITHUB_TOKEN, GH_TOKEN, or GITHUB_TOKEN environment variable
  \u2022 Run 'gh auth login' to authenticate with the GitHub CLI
"""
NETWORK_DOWN = """\
Error: Authentication token found but could not be validated.

  Failed to fetch PAT user login: network fetch failed: request failed: error sending request \
for url (https://api.github.com/copilot_internal/user)

Your token may still be valid. Check your network connection and try again.

To authenticate, you can use any of the following methods:
  \u2022 Start 'copilot' and run the '/login' command
  \u2022 Run 'gh auth login' to authenticate with the GitHub CLI
"""
NO_SUCH_SESSION = """\
Error: No session, task, or name matched 'e1afbc22-9b01-4a2f-8a81-0348d779deaa'.

To resume by session or task ID:  copilot --resume=<id>
To start a new session with ID:   copilot --session-id=<valid-uuid>
"""


def adapter() -> CopilotAdapter:
    return CopilotAdapter("copilot", AgentConfig(adapter="copilot"), Settings())


def request(tmp_path: Path, **fields: Any) -> TaskRequest:
    return TaskRequest(
        task=TaskKind.REVIEW,
        prompt="p",
        workspace=tmp_path,
        target="m.py",
        file_text="a\n",
        **fields,
    )


def event(kind: str, **data: Any) -> str:
    return json.dumps({"type": kind, "data": data, "id": "x", "timestamp": "t", "parentId": None})


def result(code: int = 0, modified: tuple[str, ...] = ()) -> str:
    changes = {"linesAdded": 0, "linesRemoved": 0, "filesModified": list(modified)}
    usage = {"premiumRequests": 0, "totalApiDurationMs": 19, "codeChanges": changes}
    return json.dumps({"type": "result", "sessionId": SESSION, "exitCode": code, "usage": usage})


def read(tmp_path: Path, stdout: str = "", stderr: str = "", code: int = 0) -> AgentReply:
    outcome = ProcessOutcome(exit_code=code, stdout=stdout, stderr=stderr, duration_s=0.1)
    return adapter().read(request(tmp_path), outcome)


def test_the_session_and_premium_requests_come_from_the_result_record(tmp_path: Path) -> None:
    stdout = "\n".join(
        [
            event("session.tools_updated", model="gpt-4.1"),
            event("assistant.message", content="Looks fine.", toolRequests=[]),
            result(),
        ]
    )
    reply = read(tmp_path, stdout)
    assert reply.error is None
    assert (reply.text, reply.session_id) == ("Looks fine.", SESSION)
    assert reply.usage.premium_requests == 0 and reply.usage.input_tokens is None


def test_edits_are_read_from_file_edits(tmp_path: Path) -> None:
    edited = str(tmp_path / "calc.py")
    start = {"toolName": "edit", "arguments": {"path": "calc.py"}}
    stdout = "\n".join(
        [
            event("tool.execution_start", toolCallId="c1", **start),
            event(
                "tool.execution_complete",
                toolCallId="c1",
                success=True,
                fileEdits=[{"path": edited, "kind": "edit"}],
            ),
            event("tool.execution_start", toolCallId="c2", **{**start, "toolName": "create"}),
            event("tool.execution_complete", toolCallId="c2", success=False, error={}),
            result(modified=(edited,)),
        ]
    )
    assert read(tmp_path, stdout).changed_files == [edited]


@pytest.mark.parametrize(
    ("status", "error_type", "kind"),
    [(401, "authentication", ErrorKind.AUTH), (429, "rate_limit", ErrorKind.RATE_LIMIT),
     (500, "query", ErrorKind.TRANSIENT), (None, "query", ErrorKind.TRANSIENT)],
)  # fmt: skip
def test_a_session_error_is_typed_by_its_http_status(
    tmp_path: Path, status: int | None, error_type: str, kind: ErrorKind
) -> None:
    message = "Failed to get response from the AI model; retried 5 times Last error: boom"
    error = event("session.error", errorType=error_type, message=message, statusCode=status)
    reply = read(tmp_path, f"{error}\n{result(1)}", code=1)
    assert reply.error is not None and reply.error.kind is kind
    assert "Last error: boom" in reply.error.message


@pytest.mark.parametrize(
    ("stderr", "kind", "says"),
    [
        (NO_LOGIN, ErrorKind.AUTH, "No authentication information found"),
        (NETWORK_DOWN, ErrorKind.TRANSIENT, "could not reach GitHub to check its token"),
        (NO_SUCH_SESSION, ErrorKind.AGENT_ERROR, "No session, task, or name matched"),
    ],
    ids=["no-login", "network-down", "no-such-session"],
)
def test_a_failure_before_the_session_quotes_its_error_line(
    tmp_path: Path, stderr: str, kind: ErrorKind, says: str
) -> None:
    reply = read(tmp_path, stderr=stderr, code=1)
    assert reply.error is not None and reply.error.kind is kind, reply.error
    assert says in reply.error.message
    assert "gh auth login" not in reply.error.message


def test_a_lost_session_is_recognised(tmp_path: Path) -> None:
    outcome = ProcessOutcome(exit_code=1, stdout="", stderr=NO_SUCH_SESSION, duration_s=0.1)
    assert adapter().lost_session(outcome)


def test_the_argv_keeps_copilot_in_the_workspace_and_offers_only_reading_tools(
    tmp_path: Path,
) -> None:
    argv = adapter().invocation(request(tmp_path, session_id=SESSION)).argv
    assert argv[argv.index("-C") + 1] == str(tmp_path)
    assert "--available-tools=view,grep,glob" in argv and f"--resume={SESSION}" in argv
    written = adapter().invocation(request(tmp_path, write=True)).argv
    assert "--allow-tool" in written and not any("available-tools" in a for a in written)
