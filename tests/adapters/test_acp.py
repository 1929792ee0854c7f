"""The acp adapter against a fake ACP agent written with the SDK (tests/fakes/acp_fake.py):
a review, usage, progress, the permission policy (allowed, denied, asked), reads from the
editor's buffers, writes that never reach the user's files, attacks on paths, follow-ups
through ``session/load``, and every way the agent can fail, cancel included."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from agentls.audit import AuditLog
from agentls.domain.config import PermissionOverrides
from agentls.domain.locations import audit_log_path, reported_findings_dir
from agentls.domain.permissions import PermissionQuestion
from agentls.domain.results import ErrorKind, TaskKind, TaskResult
from agentls.orchestration.config_loader import load_config
from agentls.orchestration.tasks import TaskSpec, run_task
from agentls.orchestration.workflow import WorkflowEngine, WorkflowRequest
from tests.conftest import SAMPLE, write_trusted
from tests.processes import marked, wait_until

FAKE = Path(__file__).parent.parent / "fakes" / "acp_fake.py"
FINDINGS = json.dumps(
    {"findings": [{"line": 5, "severity": "warning", "message": "mean of [] divides by zero"}]}
)


def configure(workspace: Path, fakes_io: Path, **agent: Any) -> None:
    settings = yaml.safe_load((workspace / ".agentls.yaml").read_text())
    settings["settings"]["cache"] = {"enabled": False}  # each test counts the agent's calls
    entry = {
        "adapter": "acp",
        "command": [sys.executable, str(FAKE)],
        "sandbox_paths": [str(fakes_io)],
        **agent,
    }
    write_trusted(
        workspace / ".agentls.yaml", yaml.safe_dump({**settings, "agents": {"fake": entry}})
    )


@pytest.fixture
def acp_workspace(workspace: Path, fakes_io: Path) -> Path:
    configure(workspace, fakes_io)
    return workspace


def run(
    workspace: Path,
    task: TaskKind = TaskKind.REVIEW,
    lines: list[str] | None = None,
    **spec: Any,
) -> TaskResult:
    on_line = lines.append if lines is not None else None
    task_spec = TaskSpec(agent="fake", task=task, workspace=workspace, path="calc.py", **spec)
    return asyncio.run(run_task(load_config(workspace), task_spec, on_line))


def test_a_review_gives_findings_usage_and_readable_progress(
    acp_workspace: Path, scenario: Any
) -> None:
    scenario("ok", reply=FINDINGS, usage={"input": 120, "output": 30, "cost": 0.0125})
    lines: list[str] = []
    result = run(acp_workspace, lines=lines)
    assert result.ok, result.error
    [finding] = result.findings
    assert (finding.line, finding.agent, finding.path) == (5, "fake", "calc.py")
    usage = result.usage
    assert (usage.input_tokens, usage.output_tokens, usage.cost_usd) == (120, 30, 0.0125)
    assert result.session_id
    assert "read: Read the file" in lines and "completed: Read the file" in lines
    assert not any("jsonrpc" in line or "sessionUpdate" in line for line in lines)


def test_tokens_reported_in_the_responses_meta_reach_the_usage(
    acp_workspace: Path, scenario: Any
) -> None:
    """gemini --acp leaves ``usage`` out of its ``session/prompt`` answer and reports the
    turn's tokens in ``_meta.quota.token_count`` instead."""
    scenario("ok", reply=FINDINGS, usage={"input": 120, "output": 30, "meta": 1})
    result = run(acp_workspace)
    assert result.ok, result.error
    assert (result.usage.input_tokens, result.usage.output_tokens) == (120, 30)


def test_reads_answer_with_the_editors_unsaved_text(
    acp_workspace: Path, scenario: Any, fake_log: Any
) -> None:
    scenario("ok", reply=FINDINGS, reads=["calc.py", "other.py"])
    (acp_workspace / "other.py").write_text("on disk\n")
    result = run(acp_workspace, file_text="unsaved = True\n", overlay={"other.py": "unsaved\n"})
    assert result.ok, result.error
    [call] = fake_log()
    assert call["read"] == {"calc.py": "unsaved = True\n", "other.py": "unsaved\n"}


def test_reads_outside_the_folder_are_refused(
    acp_workspace: Path, scenario: Any, fake_log: Any
) -> None:
    secret = acp_workspace.parent / "secret.txt"
    secret.write_text("the key\n")
    (acp_workspace / "link.txt").symlink_to(secret)
    scenario("ok", reply=FINDINGS, reads=["../secret.txt", str(secret), "link.txt", ".git/x"])
    assert run(acp_workspace).ok
    [call] = fake_log()
    assert all("error" in answer for answer in call["read"].values()), call["read"]
    assert "the key" not in json.dumps(call)


def test_an_edit_in_a_text_step_is_denied_by_default(
    acp_workspace: Path, scenario: Any, fake_log: Any
) -> None:
    scenario("ok", reply="I could not edit.", edits={"calc.py": "changed\n"})
    result = run(acp_workspace, TaskKind.IMPLEMENT)
    [decision] = result.permissions
    assert (decision.kind, decision.allowed, decision.by) == ("edit", False, "policy")
    assert "sandbox" in decision.reason
    assert fake_log()[0]["written"] == {"calc.py": False}
    assert (acp_workspace / "calc.py").read_text() == SAMPLE


def test_an_allowed_write_becomes_the_proposal_never_the_file(
    workspace: Path, fakes_io: Path, scenario: Any
) -> None:
    configure(workspace, fakes_io, permissions={"edit": "allow"})
    new = SAMPLE.replace("return a + b", "return b + a")
    scenario("ok", reply="Done.", edits={"calc.py": new}, rogue_writes={"notes.md": "hi\n"})
    result = run(workspace, TaskKind.IMPLEMENT)
    assert result.ok, result.error
    assert sorted((e.path, e.new_text) for e in result.edits) == [
        ("calc.py", "    return b + a\n"),
        ("notes.md", "hi\n"),
    ]
    assert (workspace / "calc.py").read_text() == SAMPLE
    assert not (workspace / "notes.md").exists()
    [decision] = result.permissions
    assert decision.paths == ["calc.py"]  # named by its location and its diff: once


@pytest.mark.parametrize("sandbox", ["os", "off"])
def test_an_agent_that_writes_files_itself_never_changes_the_users_in_a_text_step(
    workspace: Path, fakes_io: Path, scenario: Any, fake_log: Any, sandbox: str
) -> None:
    """claude-agent-acp edits with Claude Code's own tools, not ``fs/write_text_file``. In a
    step kept read-only (``sandbox: os``) an allowed edit fails there; where nothing keeps it
    read-only, an edit is denied whatever the policy says."""
    configure(workspace, fakes_io, sandbox=sandbox, permissions={"edit": "allow"})
    scenario("ok", reply="Done.", edits={"calc.py": "changed\n"}, writes_itself=True)
    result = run(workspace, TaskKind.IMPLEMENT)
    [decision] = result.permissions
    [written] = fake_log()[0]["written"].values()
    if sandbox == "os":
        assert decision.allowed and written == "Read-only file system"
    else:
        assert not decision.allowed and "not kept read-only" in decision.reason
        assert written is False
    assert (workspace / "calc.py").read_text() == SAMPLE
    assert not result.edits


def test_writes_outside_the_folder_or_to_protected_paths_are_refused(
    workspace: Path, fakes_io: Path, scenario: Any, fake_log: Any
) -> None:
    configure(workspace, fakes_io, permissions={"edit": "allow"})
    outside = workspace.parent / "escape.py"
    (workspace / "out").symlink_to(workspace.parent)
    scenario(
        "ok",
        reply="Done.",
        edits={"../escape.py": "x\n"},
        rogue_writes={str(outside): "x\n", "out/escape.py": "x\n", ".git/config": "x\n"},
    )
    result = run(workspace, TaskKind.IMPLEMENT, write=True)
    [call] = fake_log()
    assert call["written"] == {"../escape.py": False}  # the policy denied the edit
    assert all("error" in answer for answer in call["rogue"].values()), call["rogue"]
    assert not outside.exists() and not (workspace / ".git").exists()
    [decision] = result.permissions
    assert not decision.allowed and "outside" in decision.reason


def test_in_an_agentic_step_writes_go_to_its_folder(
    acp_workspace: Path, scenario: Any, fake_log: Any
) -> None:
    """The folder is the sandbox there: its diff is the proposal (tests/orchestration)."""
    scenario("ok", reply="Done.", edits={"calc.py": "sandboxed = 1\n"})
    result = run(acp_workspace, TaskKind.IMPLEMENT, write=True)
    assert result.ok, result.error
    assert result.permissions[0].allowed and result.permissions[0].by == "policy"
    assert (acp_workspace / "calc.py").read_text() == "sandboxed = 1\n"


def test_what_the_policy_asks_goes_to_the_user_or_is_denied(
    acp_workspace: Path, scenario: Any, fake_log: Any
) -> None:
    asks = [{"kind": "execute", "title": "npm test"}, {"kind": "fetch", "title": "GET x"}]
    scenario("ok", reply=FINDINGS, asks=asks)
    assert run(acp_workspace).ok
    assert fake_log()[0]["asked"] == [False, False]  # nobody to ask
    questions: list[PermissionQuestion] = []

    async def user(question: PermissionQuestion) -> bool:
        questions.append(question)
        return question.kind == "execute"

    result = run(acp_workspace, ask=user)
    assert fake_log()[1]["asked"] == [True, False]
    assert [q.summary() for q in questions] == [
        "fake wants to execute: npm test",
        "fake wants to fetch: GET x",
    ]
    assert [(d.allowed, d.by) for d in result.permissions] == [(True, "user"), (False, "user")]
    records = [json.loads(line) for _, _, line in AuditLog(audit_log_path()).records()]
    audited = [r for r in records if r["event"] == "permission"]
    assert [(r["kind"], r["allowed"], r["by"]) for r in audited][-2:] == [
        ("execute", True, "user"),
        ("fetch", False, "user"),
    ]


def test_a_workflows_permissions_and_rules_decide(
    acp_workspace: Path, scenario: Any, fake_log: Any
) -> None:
    asks = [
        {"kind": "read", "title": "read .env", "paths": [".env"]},
        {"kind": "execute", "title": "make", "paths": []},
        {"kind": "read", "title": "read main", "paths": ["calc.py"]},
    ]
    scenario("ok", reply=FINDINGS, asks=asks)
    overrides = PermissionOverrides.model_validate(
        {"execute": "allow", "rules": [{"kind": "read", "paths": ["**/.env", ".env"],
                                        "decision": "deny"}]}
    )  # fmt: skip
    result = run(acp_workspace, permissions=overrides)
    assert fake_log()[0]["asked"] == [False, True, True]
    assert [d.by for d in result.permissions] == ["policy", "policy", "policy"]


@pytest.mark.parametrize(
    ("behavior", "kind", "words"),
    [
        ("auth", ErrorKind.AUTH, "Please run /login"),
        ("crash", ErrorKind.CRASH, "TypeError: Cannot read properties"),
        ("garbage", ErrorKind.BAD_OUTPUT, "not ACP"),
    ],
)
def test_failures_are_one_clear_error(
    acp_workspace: Path, scenario: Any, behavior: str, kind: ErrorKind, words: str
) -> None:
    scenario(behavior)
    result = run(acp_workspace)
    assert result.error is not None and result.error.kind is kind, result.error
    assert words in result.error.message and "\n" not in result.error.message


def test_a_session_refused_as_auth_required_is_an_auth_error_saying_what_to_set(
    workspace: Path, fakes_io: Path, scenario: Any
) -> None:
    """gemini --acp without a key refuses ``session/new`` with ACP's auth-required code and
    "Gemini API key is missing or not configured.": the code says auth, not the words."""
    configure(workspace, fakes_io, options={"state_of": "gemini"})
    scenario("no_key")
    result = run(workspace)
    assert result.error is not None and result.error.kind is ErrorKind.AUTH, result.error
    message = result.error.message
    assert "Gemini API key is missing" in message
    assert "set GEMINI_API_KEY or GOOGLE_API_KEY (and allow it in agents.fake.env)" in message


def test_a_missing_command_is_said(workspace: Path, fakes_io: Path) -> None:
    configure(workspace, fakes_io, command=None)
    result = run(workspace)
    assert result.error is not None and "agents.fake.command" in result.error.message


def test_a_hung_agent_is_stopped_at_its_timeout(
    workspace: Path, fakes_io: Path, scenario: Any
) -> None:
    marker = f"hung-{os.getpid()}-{id(workspace)}"
    configure(workspace, fakes_io, timeout_s=1.5, retries=0, extra_args=[marker])
    scenario("hang")
    result = run(workspace)
    assert result.error is not None and result.error.kind is ErrorKind.TIMEOUT
    wait_until(lambda: not marked(marker), "the hung agent gone")


@pytest.mark.parametrize("behavior", ["slow", "hang"])
def test_cancel_asks_the_agent_then_stops_its_group(
    workspace: Path, fakes_io: Path, scenario: Any, behavior: str
) -> None:
    """``slow`` answers the ``session/cancel``; ``hang`` ignores it and SIGTERM: SIGKILL
    follows the grace. Either way nothing is left when the cancel returns."""
    marker = f"cancelled-{behavior}-{os.getpid()}"
    configure(workspace, fakes_io, extra_args=[marker])
    started = Path(f"{scenario(behavior)}.pid")

    async def cancel_once_started() -> None:
        spec = TaskSpec(agent="fake", task=TaskKind.REVIEW, workspace=workspace, path="calc.py")
        task = asyncio.ensure_future(run_task(load_config(workspace), spec))
        while not started.exists():
            await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancel_once_started())
    assert marked(marker) == []


def test_a_follow_up_loads_the_session_without_its_history_as_the_reply(
    acp_workspace: Path, scenario: Any, fake_log: Any
) -> None:
    scenario("ok", replies=[FINDINGS, "The second answer."])
    first = run(acp_workspace)
    second = run(acp_workspace, TaskKind.EXPLAIN, session_id=first.session_id)
    assert second.ok, second.error
    assert second.session_id == first.session_id
    assert second.text == "The second answer."
    assert [c["session_id"] for c in fake_log()] == [first.session_id] * 2


def test_a_lost_session_starts_anew(acp_workspace: Path, scenario: Any) -> None:
    scenario("ok", reply="Fresh.")
    result = run(acp_workspace, TaskKind.EXPLAIN, session_id="gone")
    assert result.ok and result.text == "Fresh."
    assert any("could not resume" in note for note in result.notes)


def test_findings_reported_through_the_mcp_tool_are_checked_like_any(
    acp_workspace: Path, scenario: Any, fake_log: Any
) -> None:
    """A review offers the agent agentls's MCP server; what it reports there becomes findings
    after the same checks as a reply's JSON (a path outside is dropped, a bad call refused)."""
    reports = [
        {"path": "calc.py", "line": 5, "end_line": 6, "severity": "error", "code": "zero",
         "message": "divides by zero on []", "suggestion": "    return 0.0\n"},
        {"path": "../outside.py", "line": 1, "severity": "info", "message": "elsewhere"},
        {"path": "calc.py", "line": 0, "severity": "error", "message": "bad line"},
    ]  # fmt: skip
    scenario("ok", reply="Reported with the tool.", reports=reports)
    result = run(acp_workspace)
    assert result.ok, result.error
    [call] = fake_log()
    assert call["mcp"] == ["agentls"]
    assert call["reported"][0] == "recorded finding 1"
    assert call["reported"][2].startswith("not recorded: line must be a whole number")
    [finding] = result.findings
    assert (finding.line, finding.end_line, finding.code) == (5, 6, "zero")
    assert finding.severity == "error" and finding.suggestion == "    return 0.0\n"
    assert "report_finding" in call["prompt"]
    assert list(reported_findings_dir().iterdir()) == []  # its file went with the task


@pytest.mark.parametrize(
    "title", ["mcp__agentls__report_finding", "report_finding (agentls MCP Server)"]
)
def test_the_permission_real_agents_ask_for_the_tool_is_granted(
    acp_workspace: Path, scenario: Any, fake_log: Any, title: str
) -> None:
    """claude-agent-acp and gemini --acp ask before any MCP tool call (``kind: other``, which
    the policy asks about, so nobody would allow it): agentls's own tool is allowed."""
    report = {"path": "calc.py", "line": 5, "severity": "warning", "message": "divides by 0"}
    scenario("ok", reply='{"findings": []}', reports=[report], report_title=title)
    result = run(acp_workspace)
    assert [(d.kind, d.title, d.allowed, d.by) for d in result.permissions] == [
        ("other", title, True, "policy")
    ]
    assert [f.line for f in result.findings] == [5]
    assert fake_log()[0]["reported"] == ["recorded finding 1"]


def test_only_reviews_are_offered_the_tool(
    acp_workspace: Path, scenario: Any, fake_log: Any
) -> None:
    scenario("ok", reply="It adds numbers.")
    assert run(acp_workspace, TaskKind.EXPLAIN).ok
    assert fake_log()[0]["mcp"] == []


def test_an_agentic_step_proposes_the_sandboxs_diff_and_leaves_the_files(
    acp_workspace: Path, scenario: Any
) -> None:
    """Through the engine: the agent writes through ``fs/write_text_file`` into its sandbox
    (contained by bubblewrap where it runs); the run proposes that diff; the user's file is as
    it was."""
    config = yaml.safe_load((acp_workspace / ".agentls.yaml").read_text())
    config["workflows"] = {
        "build": {"steps": [{"agent": "fake", "task": "implement", "mode": "agentic"}]}
    }
    write_trusted(acp_workspace / ".agentls.yaml", yaml.safe_dump(config))
    new = SAMPLE.replace("return a + b", "return b + a")
    scenario("ok", reply="Swapped.", edits={"calc.py": new})
    engine = WorkflowEngine(load_config(acp_workspace))
    request = WorkflowRequest(workflow="build", workspace=acp_workspace, path="calc.py")
    result = asyncio.run(engine.run(request))
    assert result.status == "ok", result.summary
    assert [(e.path, e.new_text) for e in result.edits] == [("calc.py", "    return b + a\n")]
    [step] = result.steps
    assert step.result is not None and step.result.permissions[0].allowed
    assert (acp_workspace / "calc.py").read_text() == SAMPLE
