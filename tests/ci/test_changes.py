"""What a pull request changed, read from a real repository with a branch: the new side's
files and lines, whatever the names hold; and the base, from --base or the CI's variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentls.ci.changes import NO_BASE, Changes, changes_since, new_lines, resolve_base
from agentls.domain.errors import TaskInputError
from agentls.domain.results import Finding
from tests.conftest import git

ODD_NAMES = ["sp ace.py", "ünï code.py", "t\tab.py", "new\nline.py", 'quo"te.py', "back\\slash.py"]


def commit(root: Path, message: str) -> None:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """``main`` with a few files; ``HEAD`` a branch that changes them every way there is."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    for name in ODD_NAMES:
        (root / name).write_text("a\nb\nc\n")
    (root / "old.py").write_text("one\ntwo\nthree\nfour\n")
    (root / "gone.py").write_text("bye\n")
    (root / "logo.png").write_bytes(b"\x89PNG\0\1")
    (root / "same.py").write_text("x\n")
    commit(root, "base")
    git(root, "checkout", "-q", "-b", "feature")
    for name in ODD_NAMES:
        (root / name).write_text("a\nB\nc\nd\n")  # line 2 changed, line 4 added
    (root / "old.py").rename(root / "renamed.py")
    (root / "renamed.py").write_text("one\nTWO\nthree\nfour\n")
    (root / "gone.py").unlink()
    (root / "logo.png").write_bytes(b"\x89PNG\0\2")
    (root / "shrunk.py").write_text("k\n")
    commit(root, "change")
    return root


async def test_the_new_side_of_every_kind_of_change_is_read(repo: Path) -> None:
    changes = await changes_since(repo, "main")
    assert sorted(changes.files) == sorted([*ODD_NAMES, "renamed.py", "logo.png", "shrunk.py"])
    for name in ODD_NAMES:
        assert changes.lines[name] == [(2, 2), (4, 4)], name
    assert changes.lines["renamed.py"] == [(2, 2)]  # a rename: only its changed line
    assert changes.lines["shrunk.py"] == [(1, 1)]  # a new file: all of it
    assert changes.lines["logo.png"] == []  # binary: no lines
    assert "gone.py" not in changes.files and "same.py" not in changes.files


async def test_the_base_is_the_merge_base_not_the_target_as_it_is_now(repo: Path) -> None:
    git(repo, "checkout", "-q", "main")
    (repo / "same.py").write_text("moved on\n")
    commit(repo, "main moves on")
    git(repo, "checkout", "-q", "feature")
    assert "same.py" not in (await changes_since(repo, "main")).files


async def test_a_base_git_does_not_know_is_one_clear_line(repo: Path) -> None:
    with pytest.raises(TaskInputError, match=r"cannot compare HEAD with 'nope' \(.*\); give a"):
        await changes_since(repo, "nope")


async def test_outside_git_is_said(tmp_path: Path) -> None:
    with pytest.raises(TaskInputError, match="not in a git repository"):
        await changes_since(tmp_path, "main")


def test_a_patch_s_hunks_give_the_new_lines() -> None:
    patch = (
        "diff --git a/x.py b/x.py\n--- a/x.py\n+++ b/x.py\n"
        "@@ -1,0 +2,3 @@ ctx\n+a\n+b\n+c\n"
        "@@ -9 +11,0 @@\n-gone\n"  # a pure deletion adds no line
        "@@ -20 +22 @@\n-x\n+y\n"
        "diff --git a/d.py b/d.py\ndeleted file mode 100644\n--- a/d.py\n+++ /dev/null\n"
        "@@ -1 +0,0 @@\n-d\n"
        'diff --git "a/\\303\\274.py" "b/\\303\\274.py"\n--- "a/\\303\\274.py"\n'
        '+++ "b/\\303\\274.py"\n@@ -1 +1 @@\n-u\n+U\n'
    )
    assert new_lines(patch) == {"x.py": [(2, 4), (22, 22)], "ü.py": [(1, 1)]}


def test_a_finding_spanning_a_changed_line_touches_it() -> None:
    changes = Changes(files=["a.py"], lines={"a.py": [(5, 6)]})

    def at(line: int, end: int | None = None, path: str = "a.py") -> bool:
        return changes.touches(Finding(path=path, line=line, end_line=end, message="m"))

    assert at(5) and at(6) and at(3, 5) and at(6, 9) and at(1, 20)
    assert not at(4) and not at(7) and not at(1, 4) and not at(5, path="b.py")


@pytest.mark.parametrize(
    ("given", "environ", "expected"),
    [
        ("main", {"GITHUB_BASE_REF": "dev"}, "main"),
        (None, {"GITHUB_BASE_REF": "dev"}, "origin/dev"),
        (None, {"CI_MERGE_REQUEST_DIFF_BASE_SHA": "abc123"}, "abc123"),
        (None, {"CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "trunk"}, "origin/trunk"),
        (
            None,
            {"CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "trunk", "CI_MERGE_REQUEST_DIFF_BASE_SHA": "f"},
            "f",
        ),
    ],
)
def test_the_base_comes_from_the_flag_then_the_ci(
    given: str | None, environ: dict[str, str], expected: str
) -> None:
    assert resolve_base(given, environ) == expected


def test_no_base_says_to_pass_one() -> None:
    with pytest.raises(TaskInputError) as raised:
        resolve_base(None, {"GITHUB_BASE_REF": ""})
    assert str(raised.value) == NO_BASE and "pass --base REF" in NO_BASE


@pytest.mark.parametrize("base", ["--output=/tmp/x", "-p", "a\nb"])
def test_a_base_that_would_be_an_option_is_refused(base: str) -> None:
    with pytest.raises(TaskInputError, match="is not a revision"):
        resolve_base(base, {})
