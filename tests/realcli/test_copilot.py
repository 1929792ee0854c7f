"""GitHub Copilot CLI, the real CLI, driven by agentls against the mock Chat Completions API
(copilot's bring-your-own-key provider, ``COPILOT_PROVIDER_BASE_URL``)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.realcli.conftest import RealCLI, real_cli
from tests.realcli.mock import Call, Failure, MockModelAPI, Recorded, say

FINDINGS = (
    '```json\n{"findings": [{"line": 6, "severity": "warning", "message": "empty list"}]}\n```'
)
NO_FINDINGS = '```json\n{"findings": []}\n```'
WRITE_TOOLS = {"edit", "create", "write", "bash", "write_bash", "task"}
BYOK = ("COPILOT_PROVIDER_BASE_URL", "COPILOT_PROVIDER_API_KEY", "COPILOT_MODEL", "COPILOT_OFFLINE")


@pytest.fixture
def copilot(api: MockModelAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RealCLI:
    return real_cli("copilot", api, tmp_path, monkeypatch)


def tools(turn: Recorded) -> set[str]:
    return {str(tool["function"]["name"]) for tool in turn.body.get("tools") or []}


def system_prompt(turn: Recorded) -> str:
    return "".join(str(m["content"]) for m in turn.body["messages"] if m["role"] == "system")


def invocations(cli: RealCLI) -> list[list[str]]:
    """The argv of every agent process agentls started, from its audit log."""
    done = cli.agentls("audit", "show", "--tail", "500")
    records = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return [r["argv"] for r in records if r.get("event") == "agent_invocation"]


def folder_option(argv: list[str]) -> str:
    return argv[argv.index("-C") + 1]


def resumed(argv: list[str]) -> str:
    [session] = [a.split("=", 1)[1] for a in argv if a.startswith("--resume=")]
    return session


def session_folder(cli: RealCLI, session: str) -> str:
    """The folder copilot keeps for a session (and returns to when it is resumed)."""
    state = cli.home / ".copilot" / "session-state" / session / "workspace.yaml"
    [folder] = [line[5:] for line in state.read_text().splitlines() if line.startswith("cwd: ")]
    return folder


def one_step(cli: RealCLI, **step: object) -> None:
    cli.configure(workflows={"one": {"steps": [{"agent": "copilot", **step}]}})


def run_json(cli: RealCLI, *args: str) -> dict[str, Any]:
    """``agentls ARGS --json``: a run's or a follow-up's report."""
    done = cli.agentls(*args, "--json")
    assert done.stdout, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def exec_json(cli: RealCLI, *args: str) -> dict[str, Any]:
    return cli.exec_json("calc.py", *args)


def no_retries(cli: RealCLI) -> None:
    cli.configure(agents={"copilot": {"command": [str(cli.binary)], "retries": 0}})


def test_a_review_reads_findings_session_and_the_workspace_folder(copilot: RealCLI) -> None:
    copilot.api.script(FINDINGS)
    result = exec_json(copilot, "--task", "review")
    assert result["status"] == "ok", result
    assert [(f["line"], f["message"]) for f in result["findings"]] == [(6, "empty list")]
    session = str(result["session_id"])
    assert (copilot.home / ".copilot" / "session-state" / session).is_dir()  # copilot's own id
    [turn] = copilot.api.turns()
    assert "calc.py" in str(turn.body["messages"])
    [argv] = invocations(copilot)
    assert "-p" not in argv  # the prompt (the user's code) is piped, not in the process list
    assert folder_option(argv) == str(copilot.workspace)  # -C: the folder agentls means
    assert f"Current working directory: {copilot.workspace}" in system_prompt(turn)


def test_a_prompt_past_the_size_of_one_argument_reaches_the_model(
    copilot: RealCLI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COPILOT_PROVIDER_MAX_PROMPT_TOKENS", "200000")  # gpt-4.1's is 64000
    lines = [f"VALUE_{n} = {n}  # padding past Linux's 128 KiB per argument" for n in range(3000)]
    (copilot.workspace / "big.py").write_text("\n".join(lines) + "\n")
    copilot.api.script(NO_FINDINGS)
    result = copilot.exec_json("big.py", "--task", "review")
    assert result["status"] == "ok", result["error"]  # refused when it went in argv (-p)
    [turn] = copilot.api.turns()
    [user] = [str(m["content"]) for m in turn.body["messages"] if m["role"] == "user"]
    assert len(user.encode()) > 128 * 1024 and "VALUE_2999 = 2999" in user


def test_a_read_only_review_offers_no_tool_that_writes(copilot: RealCLI) -> None:
    edit = {"path": "calc.py", "old_str": "return a + b", "new_str": "return a - b"}
    copilot.api.script(say(Call("edit", edit)), say(Call("bash", {"command": "touch x"})), FINDINGS)
    result = exec_json(copilot, "--task", "review")
    assert result["status"] == "ok", result
    first = copilot.api.turns()[0]
    assert tools(first), "copilot offered no tools at all"
    assert not tools(first) & WRITE_TOOLS
    assert {"view", "grep"} <= tools(first)  # it can still read the workspace
    refusals = [
        m["content"] for m in copilot.api.turns()[1].body["messages"] if m["role"] == "tool"
    ]
    assert "Tool 'edit' does not exist" in str(refusals)  # a call of it anyway is refused
    assert "return a + b" in (copilot.workspace / "calc.py").read_text()
    assert not (copilot.workspace / "x").exists()


def test_an_implement_in_text_mode_proposes_an_edit(copilot: RealCLI) -> None:
    before = (copilot.workspace / "calc.py").read_text()
    new_text = before.replace("len(values)", "len(values) if values else 0.0")
    copilot.api.script(f"```python\n{new_text}```")
    result = exec_json(copilot, "--task", "implement")
    assert result["status"] == "ok", result
    [edit] = result["edits"]
    assert edit["path"] == "calc.py"
    assert "if values else 0.0" in edit["new_text"]
    assert (copilot.workspace / "calc.py").read_text() == before  # proposed, not written
    assert not tools(copilot.api.turns()[0]) & WRITE_TOOLS


def test_a_run_reports_copilots_premium_requests(copilot: RealCLI) -> None:
    copilot.api.script(FINDINGS)
    one_step(copilot, task="review")
    report = run_json(copilot, "run", "one", "calc.py")
    assert report["status"] == "ok", report
    usage = report["usage"]["by_agent"]["copilot"]
    assert usage["premium_requests"] == 0  # read from its result record (0: our own provider)
    # Its JSON output holds no token counts: agentls estimates them, and says so.
    assert usage["input_tokens"] > 0 and usage["estimated"] is True


@pytest.mark.parametrize(
    ("status", "kind", "says"),
    [
        (401, "auth", "Authentication failed with provider"),
        (429, "rate_limit", "429 rate limit exceeded"),
        (500, "transient", "500 internal server error"),
    ],
)
def test_an_api_failure_is_typed_and_says_why(
    copilot: RealCLI, status: int, kind: str, says: str
) -> None:
    copilot.api.always(Failure(status, retry=False))  # copilot gives up at once
    no_retries(copilot)
    result = exec_json(copilot, "--task", "review")
    assert result["status"] == "failed"
    error = result["error"]
    assert error["kind"] == kind, error
    assert says in error["message"], error
    if kind == "auth":  # the advice is about the provider's key, not a GitHub login
        assert "COPILOT_PROVIDER_API_KEY" in error["message"]
        assert "/login" not in error["message"]
    assert len(copilot.api.turns()) == 1


@pytest.mark.parametrize(
    ("token", "kind", "says"),
    [
        (None, "auth", "No authentication information found"),
        ("ghp_" + "a" * 36, "auth", "Classic Personal Access Tokens (ghp_) are not supported"),
        ("gho_" + "a" * 36, "transient", "could not reach GitHub to check its token"),
    ],
    ids=["no-token", "classic-pat", "network-down"],
)
def test_a_github_login_problem_quotes_the_line_that_says_what_went_wrong(
    copilot: RealCLI, monkeypatch: pytest.MonkeyPatch, token: str | None, kind: str, says: str
) -> None:
    for name in BYOK:  # no provider of its own: copilot logs in to GitHub, past a dead proxy
        monkeypatch.delenv(name)
    if token is not None:
        monkeypatch.setenv("COPILOT_GITHUB_TOKEN", token)
    no_retries(copilot)
    result = exec_json(copilot, "--task", "review")
    assert result["status"] == "failed"
    error = result["error"]
    assert error["kind"] == kind, error
    assert says in error["message"], error
    assert "gh auth login" not in error["message"]  # copilot's advice, not what went wrong
    if kind == "transient":  # a token that may be fine is not called "not authenticated"
        assert "not authenticated" not in error["message"]
        assert "network fetch failed" in error["message"]
    assert token is None or token not in json.dumps(result)
    assert not copilot.api.requests


def test_a_follow_up_resumes_the_session_in_the_workspace_folder(copilot: RealCLI) -> None:
    copilot.api.script(FINDINGS, NO_FINDINGS)
    one_step(copilot, task="review")
    first = run_json(copilot, "run", "one", "calc.py")
    assert first["status"] == "ok", first
    second = run_json(copilot, "followup", str(first["run_id"]), "Look again.")
    assert second["status"] == "ok", second
    before, after = invocations(copilot)
    assert not any(a.startswith("--resume") for a in before)
    assert session_folder(copilot, resumed(after)) == str(copilot.workspace)
    assert folder_option(after) == str(copilot.workspace)
    turn1, turn2 = copilot.api.turns()
    earlier = [m["content"] for m in turn2.body["messages"]]
    assert turn1.body["messages"][1]["content"] in earlier  # resumed: the first request
    assert FINDINGS in earlier  # and its answer
    assert f"Current working directory: {copilot.workspace}" in system_prompt(turn2)


def test_a_session_copilot_no_longer_has_starts_afresh_with_a_note(copilot: RealCLI) -> None:
    copilot.api.script(FINDINGS, NO_FINDINGS)
    one_step(copilot, task="review")
    first = run_json(copilot, "run", "one", "calc.py")
    assert first["status"] == "ok", first
    shutil.rmtree(copilot.home / ".copilot" / "session-state")
    second = run_json(copilot, "followup", str(first["run_id"]), "Look again.")
    assert second["status"] == "ok", second  # not "crashed"
    assert "could not resume its session" in str(second["summary"])
    resume, rerun = invocations(copilot)[-2:]  # both audited
    assert resumed(resume) and not any(a.startswith("--resume") for a in rerun)
    _, turn2 = copilot.api.turns()  # the failed resume never reached the model
    assert [m["role"] for m in turn2.body["messages"]] == ["system", "user"]  # a new session
    assert "Look again." in str(turn2.body["messages"][1]["content"])


@pytest.mark.parametrize("containment", ["os", "off"])
def test_a_follow_up_of_an_agentic_step_stays_in_its_sandbox(
    copilot: RealCLI, containment: str
) -> None:
    """Copilot returns to the folder a resumed session was recorded in: resuming the review's
    session (recorded in the workspace) it edited the user's file. ``-C`` keeps it where
    agentls runs it, each step resumes its own session, and nothing is written until applied."""
    swap = {"path": "calc.py", "old_str": "return a + b", "new_str": "return b + a"}
    zero = {
        "path": "calc.py",
        "old_str": "return sum(values) / len(values)",
        "new_str": "return 0.0",
    }
    copilot.api.script(
        say(Call("edit", swap)), "Swapped.", FINDINGS, say(Call("edit", zero)), "Zeroed.", FINDINGS
    )
    copilot.configure(
        agents={"copilot": {"command": [str(copilot.binary)], "sandbox": containment}},
        workflows={
            "one": {
                "steps": [
                    {"agent": "copilot", "task": "implement", "mode": "agentic"},
                    {"agent": "copilot", "task": "review"},
                ]
            }
        },
    )
    before = (copilot.workspace / "calc.py").read_text()
    first = run_json(copilot, "run", "one", "calc.py")
    assert first["status"] == "ok", first
    second = run_json(copilot, "followup", str(first["run_id"]), "Make mean return 0.0.")
    assert second["status"] == "ok", second
    assert (copilot.workspace / "calc.py").read_text() == before  # nobody asked to apply
    [edit] = second["edits"]
    assert "+    return b + a" in edit["diff"] and "+    return 0.0" in edit["diff"]
    implement, _, implement_again, review_again = invocations(copilot)
    sandbox = folder_option(implement)
    assert sandbox != str(copilot.workspace)
    assert folder_option(implement_again) == sandbox
    assert f"Current working directory: {sandbox}" in system_prompt(copilot.api.turns()[3])
    own, reviews = resumed(implement_again), resumed(review_again)
    assert own != reviews  # each step resumes its own session
    assert session_folder(copilot, own) == sandbox
    assert session_folder(copilot, reviews) == str(copilot.workspace)
