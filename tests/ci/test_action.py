"""The composite GitHub Action (action.yml) run step by step on this machine, as the runner
would: each ``run:`` script under ``bash -eo pipefail`` with its ``env:`` (the inputs
substituted), in a repository with a pull request's branch, and the offline reviewer.

Two things are stood in for, since a test has no network and no GitHub: ``python3`` (its
``-m venv`` makes a venv whose pip records what it was asked to install, and whose
``agentls`` is this checkout's), and ``gh``, which records the comment it would post. The
``uses:`` step (upload-sarif) is checked, not run: it names the SARIF the review wrote.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import SAMPLE, git

ROOT = Path(__file__).parents[2]
ACTION = yaml.safe_load((ROOT / "action.yml").read_text())
GITLAB = yaml.safe_load((ROOT / "ci" / "agentls.gitlab-ci.yml").read_text())
_EXPRESSION = re.compile(r"\$\{\{\s*(.+?)\s*\}\}")


_RECORD = (
    "import json, sys\nopen({log!r}, 'a').write(json.dumps([{tool!r}, *sys.argv[1:]]) + '\\n')\n"
)
_AGENTLS = (
    "import runpy, sys\nsys.argv[0] = 'agentls'\nrunpy.run_module('agentls', run_name='__main__')\n"
)
_VENV = """import os, sys
args = sys.argv[1:]
assert args[:2] == ["-m", "venv"], args
os.makedirs(os.path.join(args[2], "bin"))
for name, body in {scripts!r}.items():
    path = os.path.join(args[2], "bin", name)
    with open(path, "w") as file:
        file.write(body)
    os.chmod(path, 0o755)
"""


def stand_ins(folder: Path, log: Path) -> Path:
    """A folder for PATH with ``python3`` (whose venv's pip records what it is asked to
    install, and whose ``agentls`` is this checkout's) and ``gh`` (which records its
    arguments)."""
    shebang = f"#!{sys.executable}\n"
    venv_scripts = {
        "python": shebang + _RECORD.format(log=str(log), tool="pip"),
        "agentls": shebang + _AGENTLS,
    }
    folder.mkdir()
    for name, text in (
        ("python3", shebang + _VENV.format(scripts=venv_scripts)),
        ("gh", shebang + _RECORD.format(log=str(log), tool="gh")),
    ):
        (folder / name).write_text(text)
        (folder / name).chmod(0o755)
    return folder


def evaluate(text: str, context: dict[str, str]) -> str:
    """``${{ name }}`` replaced by its value (the expressions this action's ``env:`` uses)."""
    return _EXPRESSION.sub(lambda match: context[match[1]], text)


def read_outputs(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def run_action(repo: Path, tmp: Path, inputs: dict[str, str]) -> dict[str, Any]:
    given = {name: str(spec.get("default", "")) for name, spec in ACTION["inputs"].items()}
    given.update(inputs, **{"github-token": "test-token"})
    log = tmp / "calls.jsonl"
    files = {name: tmp / name for name in ("output", "path", "summary")}
    path = [str(stand_ins(tmp / "stand-ins", log)), os.environ["PATH"]]
    outputs: dict[str, str] = {}
    results = []
    for step in ACTION["runs"]["steps"]:
        if "uses" in step:
            results.append(("uses", step))
            continue
        assert step["shell"] == "bash" and "${{" not in step["run"]  # inputs only via env
        context = {f"inputs.{name}": value for name, value in given.items()}
        context |= {f"steps.review.outputs.{k}": v for k, v in outputs.items()}
        context |= {
            "runner.temp": str(tmp),
            "github.base_ref": "",
            "github.event.pull_request.number": "7",
        }
        env = {name: evaluate(str(value), context) for name, value in step.get("env", {}).items()}
        added = files["path"].read_text().split() if files["path"].exists() else []
        script = tmp / "step.sh"
        script.write_text(step["run"])
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=repo,
            env={
                **os.environ,
                **env,
                "PATH": os.pathsep.join([*reversed(added), *path]),
                "GITHUB_OUTPUT": str(files["output"]),
                "GITHUB_PATH": str(files["path"]),
                "GITHUB_STEP_SUMMARY": str(files["summary"]),
            },
            capture_output=True,
            text=True,
            timeout=180,
        )
        if step.get("id") == "review":
            outputs = read_outputs(files["output"])
        results.append((step["name"], done))
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return {"steps": results, "calls": calls, "outputs": outputs, "files": files}


@pytest.fixture
def repo(workspace: Path) -> Path:
    (workspace / "calc.py").write_text(SAMPLE)
    git(workspace, "init", "-q", "-b", "main")
    git(workspace, "add", "-A")
    git(workspace, "commit", "-q", "-m", "base")
    git(workspace, "checkout", "-q", "-b", "feature")
    (workspace / "calc.py").write_text("import os\n" + SAMPLE)
    git(workspace, "commit", "-q", "-am", "an unused import")
    return workspace


@pytest.mark.parametrize(("gate", "code"), [("error", 0), ("warning", 1)])
def test_the_action_s_steps_review_annotate_comment_and_gate(
    repo: Path, tmp_path: Path, gate: str, code: int
) -> None:
    out = repo.parent / "report"
    ran = run_action(
        repo, tmp_path, {"workflow": "offline", "base": "main", "fail-on": gate, "output": str(out)}
    )
    names = [name for name, _ in ran["steps"]]
    assert names == [
        "Install agentls", "Fetch the base", "Review", "uses", "Comment on the pull request",
        "Gate",
    ]  # fmt: skip
    by_name = dict(ran["steps"])
    for name in [*names[:3], "Comment on the pull request"]:
        assert by_name[name].returncode == 0, (name, by_name[name].stderr)
    assert ran["calls"][0] == ["pip", "-m", "pip", "install", "--quiet", "agentls"]
    review = by_name["Review"]
    assert ran["outputs"] == {"exit-code": str(code)}
    assert "::warning file=calc.py,line=1,endLine=1,title=ruff%3A F401::" in review.stdout
    assert sorted(p.name for p in out.iterdir()) == [
        "agentls-annotations.txt", "agentls.json", "agentls.md", "agentls.sarif",
    ]  # fmt: skip
    assert ran["files"]["summary"].read_text() == (out / "agentls.md").read_text()
    assert ran["calls"][1][:4] == ["gh", "pr", "comment", "7"]
    assert ran["calls"][1][4:6] == ["--body-file", f"{out}/agentls.md"]
    upload = by_name["uses"]
    assert upload["uses"].startswith("github/codeql-action/upload-sarif@")
    assert upload["with"]["sarif_file"] == "${{ inputs.output }}/agentls.sarif"
    assert "steps.review.outputs.exit-code != '3'" in upload["if"]  # an incomplete review
    assert by_name["Gate"].returncode == code


def test_the_review_step_passes_the_shard_and_base_it_is_given(repo: Path, tmp_path: Path) -> None:
    out = repo.parent / "report"
    inputs = {"workflow": "offline", "base": "main", "shard": "1/1", "output": str(out)}
    ran = run_action(repo, tmp_path, inputs)
    assert dict(ran["steps"])["Review"].returncode == 0
    report = json.loads((out / "agentls.json").read_text())
    assert report["shards"] == ["1/1"] and report["base"] == "main"


def test_a_hostile_input_is_data_not_code(repo: Path, tmp_path: Path) -> None:
    """An input reaches its script as an environment variable: quotes and ``$(...)`` in it
    run nothing."""
    marker = tmp_path / "ran"
    hostile = f'offline"; touch {marker}; echo "$(touch {marker})'
    ran = run_action(repo, tmp_path, {"workflow": hostile, "base": "main"})
    assert not marker.exists()
    assert ran["outputs"] == {"exit-code": "2"}  # no such workflow: bad input
    assert dict(ran["steps"])["Gate"].returncode == 2


def test_the_gitlab_template_s_jobs_call_agentls_ci() -> None:
    review, merge = GITLAB[".agentls-review"], GITLAB[".agentls-merge"]
    assert review["extends"] == merge["extends"] == ".agentls"
    assert GITLAB[".agentls"]["variables"]["GIT_DEPTH"] == "0"
    assert review["script"][-1] == 'agentls "$@"'
    assert any("--shard" in line and "CI_NODE_INDEX" in line for line in review["script"])
    assert merge["script"][0].startswith("agentls ci merge agentls-report-*/agentls.json")


def test_the_gitlab_review_script_runs(repo: Path) -> None:
    """The template's script lines, run in one shell as GitLab's runner does, with the
    variables GitLab would set for a merge request's second of two shards."""
    review = GITLAB[".agentls-review"]
    script = "set -e\n" + "\n".join(review["script"]) + "\n"
    env = {
        **os.environ,
        **{k: str(v) for k, v in review["variables"].items()},
        "AGENTLS_WORKFLOW": "offline",
        "CI_MERGE_REQUEST_DIFF_BASE_SHA": git(repo, "rev-parse", "main").strip(),
        "CI_NODE_INDEX": "2",
        "CI_NODE_TOTAL": "2",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    done = subprocess.run(["sh", "-c", script], cwd=repo, env=env, capture_output=True, text=True)
    assert done.returncode in (0, 1), done.stderr
    report = json.loads((repo / "agentls-report-2" / "agentls.json").read_text())
    assert report["shards"] == ["2/2"]
