"""A workflow over several files: the engine gives ruff every file it can read from disk in
one process, and every file whose text differs (an unsaved buffer, an earlier step's edit, a
latin-1 file) on its own; an agent gets one request per file, with that file's feedback."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agentls.domain.errors import TaskInputError
from agentls.orchestration.workflow import WorkflowRequest
from tests.orchestration.test_workflow import Setup, code, findings

pytestmark = pytest.mark.usefixtures("credentials")


def write_sources(workspace: Path) -> None:
    (workspace / "one.py").write_text("import os\n")
    (workspace / "two.py").write_text("import sys\n")
    (workspace / "old.py").write_bytes(b"# -*- coding: latin-1 -*-\nimport re\nname = '\xe9'\n")


def request(workspace: Path, workflow: str, **fields: object) -> WorkflowRequest:
    return WorkflowRequest(
        workflow=workflow,
        workspace=workspace,
        path="one.py",
        more_paths=("two.py", "old.py"),
        **fields,  # type: ignore[arg-type]
    )


def test_ruff_sees_buffers_and_encodings_as_the_user_does(workspace: Path, tmp_path: Path) -> None:
    write_sources(workspace)
    setup = Setup(workspace, tmp_path)
    buffers = {"two.py": "import sys\nimport json\n"}  # unsaved: two unused imports
    result = asyncio.run(setup.engine().run(request(workspace, "offline", buffers=buffers)))
    by_file = sorted((f.path, f.code, f.line) for f in result.findings)
    assert by_file == [
        ("old.py", "F401", 2),
        ("old.py", "I001", 2),
        ("one.py", "F401", 1),
        ("two.py", "F401", 1),
        ("two.py", "F401", 2),
        ("two.py", "I001", 1),
    ]
    assert result.files == ["one.py", "two.py", "old.py"]
    assert result.summary.startswith("offline on 3 files: ok")


def test_an_agent_gets_each_file_with_its_own_feedback(workspace: Path, tmp_path: Path) -> None:
    write_sources(workspace)
    setup = Setup(workspace, tmp_path)
    setup.agent("gemini", findings(1))
    setup.agent("claude", code("import os  # kept\n"))
    setup.workflow(
        "fix",
        steps=[{"agent": "gemini", "task": "review"}, {"agent": "claude", "task": "refine"}],
    )
    result = asyncio.run(setup.engine().run(request(workspace, "fix")))
    assert result.status == "ok", result.summary
    assert sorted(f.path for f in result.findings) == ["old.py", "one.py", "two.py"]
    refine_prompts = [call["prompt"] for call in setup.calls("claude")]
    assert len(refine_prompts) == 3
    for prompt in refine_prompts:
        assert prompt.count("Review findings to address") == 1
        assert prompt.count("issue 1") == 1  # its own file's finding, not the others'
    assert {edit.path for edit in result.edits} == {"one.py", "two.py", "old.py"}


def test_a_failure_on_one_file_names_it(workspace: Path, tmp_path: Path) -> None:
    write_sources(workspace)
    setup = Setup(workspace, tmp_path)
    setup.agent("gemini", "no json here")
    setup.workflow("look", steps=[{"agent": "gemini", "task": "review"}])
    result = asyncio.run(setup.engine().run(request(workspace, "look")))
    assert result.status == "failed"
    assert "failed: on one.py: " in result.summary or "failed: on two.py: " in result.summary


def test_a_range_needs_one_file(workspace: Path, tmp_path: Path) -> None:
    from agentls.domain.results import LineRange

    write_sources(workspace)
    engine = Setup(workspace, tmp_path).engine()
    with pytest.raises(TaskInputError, match="a line range needs a single file"):
        asyncio.run(engine.run(request(workspace, "offline", selection=LineRange(start=1, end=1))))


def test_binary_files_among_several_are_left_out(workspace: Path, tmp_path: Path) -> None:
    write_sources(workspace)
    (workspace / "two.py").write_bytes(b"\x00\x01binary")
    result = asyncio.run(Setup(workspace, tmp_path).engine().run(request(workspace, "offline")))
    assert result.files == ["one.py", "old.py"]
    assert "left out, not text: two.py" in result.summary


def test_the_files_a_listing_checked_are_not_checked_again_in_its_own_workspace_only(
    workspace: Path, tmp_path: Path
) -> None:
    """The engine takes the listing's checker along (each file is checked once), but not a
    checker of another folder: what that one let through is checked here afresh."""
    from agentls.domain.errors import UnsafePathError
    from agentls.domain.paths import WorkspacePaths
    from agentls.orchestration.targets import expand

    write_sources(workspace)
    engine = Setup(workspace, tmp_path).engine()
    checked = WorkspacePaths(workspace)
    files = asyncio.run(expand(workspace, ["one.py", "two.py"], cwd=workspace, paths=checked))
    listed = WorkflowRequest(
        workflow="offline", workspace=workspace, path=files[0], more_paths=(files[1],),
        paths=checked,
    )  # fmt: skip
    assert asyncio.run(engine.run(listed)).files == ["one.py", "two.py"]

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "link.py").write_text("x = 1\n")
    (tmp_path / "secret.py").write_text("TOKEN = 'x'\n")
    (workspace / "link.py").symlink_to(tmp_path / "secret.py")  # out of the workspace
    other = WorkspacePaths(elsewhere)
    assert other.relative(elsewhere / "link.py") == "link.py"  # fine there
    smuggled = WorkflowRequest(workflow="offline", workspace=workspace, path="link.py", paths=other)
    with pytest.raises(UnsafePathError, match="outside the workspace"):
        asyncio.run(engine.run(smuggled))
