"""``agentls ci`` as a CI job runs it: a repository with a real history and a pull request's
branch, the offline reviewer and the fake agents; reports on stdout or in a folder, the exit
codes, shards merged, and the proposals as a patch, written, or committed."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft4Validator

from agentls.ci.changes import NO_BASE
from tests.adapters.test_acp import FINDINGS as ACP_FINDINGS
from tests.adapters.test_acp import configure
from tests.cli.test_asking import in_a_terminal
from tests.cli.test_cli import agentls
from tests.cli.test_exit_codes import one_line
from tests.conftest import SAMPLE, Scenario, git, write_trusted

pytestmark = pytest.mark.usefixtures("credentials")

SCHEMA = json.loads(
    (Path(__file__).parents[1] / "ci" / "sarif" / "sarif-schema-2.1.0.json").read_text()
)
BASE_CALC = "import sys\n" + SAMPLE
PR_CALC = "import sys\nimport os\n" + SAMPLE  # line 2 is the pull request's
UTIL = "import json\n\n\ndef util():\n    return 1\n"  # unchanged, with its own finding
NEW_FILE = "import re\n"


@pytest.fixture
def pr(workspace: Path) -> Path:
    """``main``: calc.py, util.py and a file that the branch deletes; ``HEAD``: the branch
    ``feature``, which adds an import to calc.py and a new file with a space in its name."""
    config = yaml.safe_load((workspace / ".agentls.yaml").read_text())
    config["workflows"] = {
        "fake": {"steps": [{"agent": "claude", "task": "review"}]},
        "fix": {"steps": [{"agent": "codex", "task": "implement"}]},
    }
    write_trusted(workspace / ".agentls.yaml", yaml.safe_dump(config))
    (workspace / "calc.py").write_text(BASE_CALC)
    (workspace / "util.py").write_text(UTIL)
    (workspace / "gone.py").write_text("import gone\n")
    git(workspace, "init", "-q", "-b", "main")
    git(workspace, "add", "-A")
    git(workspace, "commit", "-q", "-m", "base")
    git(workspace, "checkout", "-q", "-b", "feature")
    (workspace / "calc.py").write_text(PR_CALC)
    (workspace / "new file.py").write_text(NEW_FILE)
    (workspace / "gone.py").unlink()
    git(workspace, "add", "-A")
    git(workspace, "commit", "-q", "-m", "feature")
    return workspace


def ci(root: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    if env is None:
        return agentls("ci", *args, cwd=root)
    saved = dict(os.environ)
    try:
        os.environ.update(env)
        return agentls("ci", *args, cwd=root)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def report(root: Path, *args: str) -> dict[str, Any]:
    done = ci(root, *args, "--format", "json")
    assert done.returncode in (0, 1), done.stderr
    loaded: dict[str, Any] = json.loads(done.stdout)
    return loaded


def places(found: dict[str, Any]) -> set[tuple[str, int, str | None]]:
    return {(f["path"], f["line"], f["code"]) for f in found["findings"]}


def test_the_offline_reviewer_reviews_only_the_changed_lines(pr: Path) -> None:
    found = report(pr, "offline", "--base", "main")
    assert found["files"] == ["calc.py", "new file.py"]
    assert ("calc.py", 2, "F401") in places(found)  # os: the pull request's import
    assert ("new file.py", 1, "F401") in places(found)
    assert ("calc.py", 1, "F401") not in places(found)  # sys: there before
    assert all(f["path"] != "util.py" for f in found["findings"])
    for finding in found["findings"]:
        assert finding["line"] <= 2 <= (finding["end_line"] or finding["line"]) or (
            finding["path"] == "new file.py"
        )
    assert [tool["name"] for tool in found["tools"]] == ["ruff"]
    assert found["tools"][0]["version"].startswith("ruff ")
    assert found["base"] == "main" and found["status"] == "ok"


def test_the_scope_widens_to_the_changed_files_or_everything(pr: Path) -> None:
    files = report(pr, "offline", "--base", "main", "--scope", "changed-files")
    assert ("calc.py", 1, "F401") in places(files) and "util.py" not in files["files"]
    everything = report(pr, "offline", "--scope", "all")  # no base needed
    assert ("util.py", 1, "F401") in places(everything)
    assert everything["files"] == [".agentls.yaml", "calc.py", "new file.py", "util.py"]


def test_the_fake_agent_s_findings_are_kept_on_the_changed_lines_only(
    pr: Path, scenario: Scenario
) -> None:
    findings = [
        {"line": 2, "severity": "error", "message": "unused", "code": "U1"},
        {"line": 6, "severity": "error", "message": "old code", "code": "U2"},
        {"line": 1, "end_line": 3, "severity": "warning", "message": "imports"},
    ]
    scenario("ok", reply=json.dumps({"findings": findings}))
    done = ci(pr, "fake", "--base", "main", "--format", "github", "--scope", "changed-lines")
    assert done.returncode == 1, done.stderr  # an error finding: the default gate
    lines = done.stdout.splitlines()
    assert "::error file=calc.py,line=2,endLine=2,title=claude%3A U1::unused" in lines
    assert "::warning file=calc.py,line=1,endLine=3,title=claude%3A claude-review::imports" in lines
    assert not any("old code" in line for line in lines)
    assert "agentls: review ok" in done.stderr


@pytest.mark.parametrize(("gate", "code"), [("error", 0), ("warning", 1), ("never", 0)])
def test_the_gate_sets_the_exit_code(pr: Path, gate: str, code: int) -> None:
    done = ci(pr, "offline", "--base", "main", "--fail-on", gate, "--format", "github")
    assert done.returncode == code, done.stderr
    assert done.stdout.startswith("::warning file=")


def test_an_agent_failure_exits_3_and_still_reports(pr: Path, scenario: Scenario) -> None:
    scenario("server_error")
    done = ci(pr, "fake", "--base", "main", "--format", "markdown")
    assert done.returncode == 3, done.stderr
    assert "**The review is incomplete: a step failed.**" in done.stdout
    as_json = ci(pr, "fake", "--base", "main", "--format", "json")
    assert as_json.returncode == 3
    [tool] = json.loads(as_json.stdout)["tools"]
    assert (tool["name"], tool["succeeded"]) == ("claude", False)


def test_several_formats_go_to_a_folder_and_the_sarif_validates(pr: Path) -> None:
    out = pr.parent / "out"
    done = ci(pr, "offline", "--base", "main", "--format", "sarif,github,json,markdown",
              "--output", str(out))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert sorted(p.name for p in out.iterdir()) == [
        "agentls-annotations.txt", "agentls.json", "agentls.md", "agentls.sarif",
    ]  # fmt: skip
    log = json.loads((out / "agentls.sarif").read_text())
    assert list(Draft4Validator(SCHEMA).iter_errors(log)) == []
    [run] = log["runs"]
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]
    }
    assert uris == {"calc.py", "new%20file.py"}
    single = pr.parent / "one.sarif"
    assert ci(pr, "offline", "--base", "main", "--format", "sarif", "--output", str(single))
    assert json.loads(single.read_text())["version"] == "2.1.0"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--format", "sarif,json"], "several formats need --output DIR"),
        (["--format", "xml"], "unknown format 'xml'; give one or more of sarif, github, json"),
        (["--shard", "5/4"], "--shard '5/4' is not I/N with 1 <= I <= N"),
        (["--commit"], "--commit commits what --apply writes; give --apply too"),
        (["nope"], "no workflow 'nope'; `agentls workflows` lists them"),
        (["--base", "no-such-branch"], "cannot compare HEAD with 'no-such-branch'"),
    ],
)
def test_bad_input_exits_2_in_one_line(pr: Path, args: list[str], expected: str) -> None:
    if "--base" not in args:
        args = [*args, "--base", "main"]
    done = ci(pr, *args)
    assert done.returncode == 2, done.stderr
    assert expected in one_line(done.stderr) and done.stdout == ""


def test_without_a_base_it_says_to_pass_one(pr: Path) -> None:
    done = ci(pr, "offline", env={"GITHUB_BASE_REF": "", "CI_MERGE_REQUEST_DIFF_BASE_SHA": ""})
    assert done.returncode == 2
    assert one_line(done.stderr) == f"agentls: {NO_BASE}"


def test_the_base_comes_from_github_s_variables(pr: Path) -> None:
    git(pr, "update-ref", "refs/remotes/origin/main", "main")  # as actions/checkout leaves it
    done = ci(pr, "offline", "--format", "json", env={"GITHUB_BASE_REF": "main"})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["base"] == "origin/main"


def test_nothing_changed_is_a_clean_report(pr: Path) -> None:
    done = ci(pr, "offline", "--base", "HEAD", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["files"] == []


def test_a_change_to_binary_files_only_is_a_clean_report(pr: Path) -> None:
    git(pr, "checkout", "-q", "-b", "images", "main")
    (pr / "logo.png").write_bytes(b"\x89PNG\0\1")
    git(pr, "add", "-A")
    git(pr, "commit", "-q", "-m", "a logo")
    done = ci(pr, "offline", "--base", "main", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["files"] == []


def test_shards_cover_every_file_once_and_merge_into_the_unsharded_report(pr: Path) -> None:
    for index in range(4):
        (pr / f"extra{index}.py").write_text(f"import m{index}\n")
    git(pr, "add", "-A")
    git(pr, "commit", "-q", "-m", "more")
    whole = report(pr, "offline", "--base", "main")
    paths = []
    for index in (1, 2, 3):
        shard = report(pr, "offline", "--base", "main", "--shard", f"{index}/3")
        paths.append(pr.parent / f"shard{index}.json")
        paths[-1].write_text(json.dumps(shard))
    shards = [json.loads(path.read_text()) for path in paths]
    assert sorted(f for s in shards for f in s["files"]) == whole["files"]
    merged = ci(pr, "merge", *map(str, paths), "--format", "json")
    assert merged.returncode == 0, merged.stderr
    joined = json.loads(merged.stdout)
    assert joined["shards"] == ["1/3", "2/3", "3/3"]
    differ = {"shards", "run_ids", "usage"}
    assert {k: v for k, v in joined.items() if k not in differ} == {
        k: v for k, v in whole.items() if k not in differ
    }
    as_markdown = ci(pr, "merge", *map(str, paths), "--fail-on", "warning")
    assert as_markdown.returncode == 1 and "Shards: 1/3, 2/3, 3/3." in as_markdown.stdout


def test_merge_refuses_what_is_not_a_report(pr: Path) -> None:
    bad = pr.parent / "bad.json"
    bad.write_text('{"workflow": 3}')
    done = ci(pr, "merge", str(bad))
    assert done.returncode == 2
    assert "bad.json is not an agentls ci JSON report" in one_line(done.stderr)


NEW_CALC = PR_CALC.replace(
    "return sum(values) / len(values)", "return sum(values) / max(len(values), 1)"
)


def test_proposals_are_a_patch_and_nothing_is_written(pr: Path, scenario: Scenario) -> None:
    scenario("ok", reply=f"```python\n{NEW_CALC}```")
    patch = pr.parent / "proposals.diff"
    done = ci(pr, "fix", "--base", "main", "--patch", str(patch))
    assert done.returncode == 0, done.stderr
    assert "+    return sum(values) / max(len(values), 1)" in patch.read_text()
    assert (pr / "calc.py").read_text() == PR_CALC
    assert "<details>" in done.stdout  # the markdown report folds them too


def test_apply_commit_makes_one_commit_by_the_fallback_author(pr: Path, scenario: Scenario) -> None:
    scenario("ok", reply=f"```python\n{NEW_CALC}```")
    done = ci(pr, "fix", "--base", "main", "--apply", "--commit", env={"GIT_AUTHOR_NAME": ""})
    assert done.returncode == 0, done.stderr
    assert (pr / "calc.py").read_text() == NEW_CALC
    assert "agentls <agentls@users.noreply.github.com> (from the fallback)" in done.stderr
    log = git(pr, "log", "-1", "--format=%an <%ae>|%s", "--name-only")
    head, _, names = log.partition("\n\n")
    assert head.startswith("agentls <agentls@users.noreply.github.com>|agentls: apply what fix")
    assert names.splitlines() == ["calc.py", "new file.py"]  # the fake answers each file alike
    assert git(pr, "status", "--porcelain", "--untracked-files=no") == ""


def test_the_commit_author_comes_from_the_environment(pr: Path, scenario: Scenario) -> None:
    scenario("ok", reply=f"```python\n{NEW_CALC}```")
    who = {"GIT_AUTHOR_NAME": "Review Bot", "GIT_AUTHOR_EMAIL": "bot@example.test"}
    done = ci(pr, "fix", "--base", "main", "--apply", "--commit", env=who)
    assert done.returncode == 0, done.stderr
    assert "(from the environment)" in done.stderr
    assert git(pr, "log", "-1", "--format=%an <%ae>") == "Review Bot <bot@example.test>\n"


def test_in_a_terminal_too_nobody_is_asked_and_what_would_ask_is_denied(
    workspace: Path, fakes_io: Path, scenario: Scenario, fake_log: Any
) -> None:
    """An ACP agent's permission request that the policy would put to the user is denied:
    CI has nobody to answer, even when it runs on a terminal."""
    configure(workspace, fakes_io)
    config = yaml.safe_load((workspace / ".agentls.yaml").read_text())
    config["workflows"] = {"acp": {"steps": [{"agent": "fake", "task": "review"}]}}
    write_trusted(workspace / ".agentls.yaml", yaml.safe_dump(config))
    git(workspace, "init", "-q", "-b", "main")
    git(workspace, "add", "-A")
    git(workspace, "commit", "-q", "-m", "base")
    git(workspace, "checkout", "-q", "-b", "feature")
    (workspace / "calc.py").write_text(SAMPLE + "\n\ndef more():\n    return 2\n")
    git(workspace, "commit", "-q", "-am", "more")
    scenario("ok", reply=ACP_FINDINGS, asks=[{"kind": "execute", "title": "npm test"}])
    shown = in_a_terminal(workspace, b"y\n", "ci", "acp", "--base", "main")
    assert "Allow?" not in shown and "1 file" in shown, shown
    [call] = fake_log()
    assert call["asked"] == [False]


def test_a_review_the_budget_stopped_is_incomplete(pr: Path, scenario: Scenario) -> None:
    """Findings of steps that never ran are missing: exit 3, so the Action uploads no SARIF."""
    config = yaml.safe_load((pr / ".agentls.yaml").read_text())
    config["workflows"]["twice"] = {
        "steps": [
            {"agent": "claude", "task": "review", "id": "first"},
            {"agent": "claude", "task": "review", "id": "second"},
        ]
    }
    write_trusted(pr / ".agentls.yaml", yaml.safe_dump(config))
    scenario("ok", reply='{"findings": []}', usage={"cost": 0.41})
    done = ci(pr, "twice", "--base", "main", "--format", "json", "--budget-usd", "0.5")
    assert done.returncode == 3, done.stderr
    found = json.loads(done.stdout)
    assert found["status"] == "failed"
    # two changed files, a review of each at $0.41: the cap is passed after the first step
    assert found["failures"] == ["budget: stopped before step second: $0.82 of $0.50 spent"]
    refused = ci(pr, "twice", "--base", "main", "--budget-tokens", "0")
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
