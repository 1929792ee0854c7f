"""What a pull request changed: the base it is compared with, its files and their new lines.

The base comes from ``--base`` or the CI's own variables; the changes are
``git diff BASE...HEAD`` (against the merge base), read NUL-separated for the file list and
``--unified=0`` for the lines, so names with spaces, tabs, newlines or any unicode, renames,
deletions and binary files are all read right.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from agentls.domain.errors import TaskInputError, UnsafePathError
from agentls.domain.paths import WorkspacePaths
from agentls.domain.results import Finding
from agentls.orchestration.git import GitError, git, git_env

NO_BASE = (
    "no base to compare with: pass --base REF (a branch, tag or commit), or run where the CI "
    "names the pull request's target (GITHUB_BASE_REF, CI_MERGE_REQUEST_TARGET_BRANCH_NAME)"
)


def resolve_base(given: str | None, environ: Mapping[str, str]) -> str:
    """The revision to compare with: ``given``, else the pull request's target as GitHub
    Actions or GitLab CI name it. ``TaskInputError`` when there is none."""
    if given:
        base = given
    elif environ.get("GITHUB_BASE_REF"):
        base = f"origin/{environ['GITHUB_BASE_REF']}"
    elif environ.get("CI_MERGE_REQUEST_DIFF_BASE_SHA"):
        base = environ["CI_MERGE_REQUEST_DIFF_BASE_SHA"]
    elif environ.get("CI_MERGE_REQUEST_TARGET_BRANCH_NAME"):
        base = f"origin/{environ['CI_MERGE_REQUEST_TARGET_BRANCH_NAME']}"
    else:
        raise TaskInputError(NO_BASE)
    if base.startswith("-") or any(c in base for c in "\0\n"):
        raise TaskInputError(f"{base!r} is not a revision; give a branch, tag or commit")
    return base


Span = tuple[int, int]
"""Lines ``start`` to ``end`` of the new side, both included."""


@dataclass
class Changes:
    """The files a change added or modified (the new side's paths; deleted ones are not
    here) and, for each, its added or changed lines."""

    files: list[str] = field(default_factory=list)
    lines: dict[str, list[Span]] = field(default_factory=dict)

    def touches(self, finding: Finding) -> bool:
        """Whether ``finding`` is on a changed line, or spans one."""
        return any(
            start <= finding.last_line and finding.line <= end
            for start, end in self.lines.get(finding.path, ())
        )


_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")
_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}


def new_lines(patch: str) -> dict[str, list[Span]]:
    """Each file's new-side changed lines in a ``git diff --unified=0`` patch made with the
    prefixes ``a/`` and ``b/``. Pure deletions add no line; binary files have none."""
    found: dict[str, list[Span]] = {}
    current: str | None = None
    for line in patch.split("\n"):
        if line.startswith("diff --git "):
            current = None
        elif line.startswith("+++ ") and current is None:
            name = line[4:]
            current = None if name == "/dev/null" else _header_path(name).removeprefix("b/")
            if current is not None:
                found.setdefault(current, [])
        elif current is not None and (hunk := _HUNK.match(line)):
            start, count = int(hunk[1]), int(hunk[2] if hunk[2] is not None else 1)
            if count:
                found[current].append((start, start + count - 1))
    return found


def _header_path(name: str) -> str:
    """A path as git writes it in a ``+++`` line: C-quoted when it holds special characters
    (``core.quotePath``), else as it is with a tab after it when it holds a space."""
    if not name.startswith('"'):
        return name.removesuffix("\t")
    raw = bytearray()
    body = name[1 : name.rindex('"')]
    index = 0
    while index < len(body):
        char = body[index]
        if char != "\\":
            raw += char.encode("utf-8", "surrogateescape")
            index += 1
        elif body[index + 1] in _ESCAPES:
            raw.append(_ESCAPES[body[index + 1]])
            index += 2
        else:  # \ooo: one byte in octal
            raw.append(int(body[index + 1 : index + 4], 8))
            index += 4
    return raw.decode("utf-8", "surrogateescape")


async def changes_since(workspace: Path, base: str) -> Changes:
    """What ``HEAD`` changed in ``workspace`` since its merge base with ``base``."""
    if not await _in_git(workspace):
        raise TaskInputError(
            f"{workspace} is not in a git repository; agentls ci reviews a git change"
        )
    revisions = f"{base}...HEAD"
    options = ["--no-color", "--no-ext-diff", "--no-textconv", "--relative", "-M"]
    try:
        status = await _git(workspace, "diff", "--name-status", "-z", *options, revisions)
        patch = await _git(
            workspace, "diff", "--unified=0", "--src-prefix=a/", "--dst-prefix=b/", *options,
            revisions,
        )  # fmt: skip
    except GitError as error:
        reason = str(error).split(": ", 1)[-1].removeprefix("fatal: ")
        raise TaskInputError(
            f"cannot compare HEAD with {base!r} ({reason}); give a branch, tag or commit this "
            "repository has (in a shallow clone, fetch the base first)"
        ) from None
    files = _new_paths(status)
    lines = new_lines(patch)
    unknown = set(lines) - set(files)
    if unknown:  # never expected: the two listings come from one diff
        raise GitError(f"git diff named {sorted(unknown)[0]!r} in one listing only")
    kept = _inside(workspace, files)
    return Changes(files=kept, lines={path: lines.get(path, []) for path in kept})


async def tracked_files(workspace: Path) -> list[str]:
    """Every file git tracks in ``workspace`` (``--scope all``), in git's order."""
    if not await _in_git(workspace):
        raise TaskInputError(f"{workspace} is not in a git repository")
    listing = await _git(workspace, "ls-files", "-z", "--cached", "--", ".")
    return _inside(workspace, [name for name in listing.split("\0") if name])


def _new_paths(status: str) -> list[str]:
    """The new-side paths of ``--name-status -z``: ``S\\0PATH\\0``, or ``R90\\0OLD\\0NEW\\0``
    for a rename or copy; deleted files left out."""
    fields = status.split("\0")
    paths: list[str] = []
    index = 0
    while index < len(fields) and fields[index]:
        kind = fields[index][0]
        if kind in "RC":
            paths.append(fields[index + 2])
            index += 3
        else:
            if kind != "D":
                paths.append(fields[index + 1])
            index += 2
    return paths


def _inside(workspace: Path, names: list[str]) -> list[str]:
    """Those of ``names`` that are files inside the workspace (no link out of it, nothing in
    ``.git``), workspace-relative."""
    checked = WorkspacePaths(workspace)
    kept = []
    for name in names:
        path = workspace / name
        if not path.is_file():
            continue
        try:
            kept.append(checked.relative(str(path)))
        except UnsafePathError:
            continue
    return kept


async def _git(workspace: Path, *args: str) -> str:
    return await git(workspace, *args, env=git_env(), needed_for="agentls ci")


async def _in_git(workspace: Path) -> bool:
    try:
        inside = await _git(workspace, "rev-parse", "--is-inside-work-tree")
    except GitError:
        return False
    return inside.strip() == "true"
