"""``WorkspacePaths`` (the fast path for many files) answers as ``Path.resolve`` would."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentls.domain.errors import UnsafePathError
from agentls.domain.paths import ProtectedPathError, WorkspacePaths

NAMES = ["a", "b", ".hidden", "..", ".", "", "link", "out", "loop", "file.py", ".git"]


def reference(root: Path, candidate: str) -> str | None:
    """The workspace-relative path by ``Path.resolve``, or None when outside or the root."""
    try:
        full = (root / candidate).resolve()
    except (OSError, RuntimeError):
        return None
    try:
        relative = full.relative_to(root.resolve())
    except ValueError:
        return None
    return relative.as_posix() if relative.parts else None


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("paths")
    root = base / "ws"
    (root / "a" / "b").mkdir(parents=True)
    (root / ".hidden").mkdir()
    (root / "a" / "file.py").write_text("x\n")
    (base / "outside").mkdir()
    os.symlink(root / "a", root / "link")
    os.symlink(base / "outside", root / "a" / "out")
    os.symlink(root / "loop", root / "loop")
    return root


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(st.sampled_from(NAMES), min_size=1, max_size=5), absolute=st.booleans())
def test_the_fast_path_agrees_with_resolve(tree: Path, parts: list[str], absolute: bool) -> None:
    candidate = "/".join(parts)
    if not candidate.strip() or ".git" in parts:
        return  # refused before resolving, or protected: other tests cover them
    if absolute:  # as a folder's listing names its files
        candidate = os.path.join(tree, candidate)
    expected = reference(tree, candidate)
    shared = SHARED.setdefault(tree, WorkspacePaths(tree))  # its folders' cache kept
    for paths in (WorkspacePaths(tree), shared):
        try:
            got: str | None = paths.relative(candidate)
        except UnsafePathError:
            got = None
        assert got == expected, candidate


SHARED: dict[Path, WorkspacePaths] = {}


@pytest.mark.parametrize(
    "candidate",
    [
        "GIT~1/config",
        "a/gi7eba~1/HEAD",
        "a/b/git~2/hooks/x",
        ".git/config",
        "a/../.git/config",
        ".GIT/config",
        "a/./.git/x",
        "a/b/.git./config",
    ],
)
def test_gits_own_files_are_refused_plain_names_or_not(tree: Path, candidate: str) -> None:
    """Plain names (letters, digits, ``_``, ``-``, ``.``, none first) take a shorter way through
    the check, written relative or absolute; none of git's names is plain (a leading dot, a
    ``~``), so each is refused either way."""
    paths = WorkspacePaths(tree)
    for spelled in (candidate, os.path.join(tree, candidate)):
        with pytest.raises(ProtectedPathError):
            paths.relative(spelled)
