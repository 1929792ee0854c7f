"""Which paths agent output may change: inside the workspace, never agentls's or git's own files.

``workspace_relative`` keeps a path inside the workspace. ``protected_reason`` is the one rule
for what agent output (a code block, a diff, a change made in a sandbox) may never create,
change or delete there: ``.agentls.yaml`` at any depth (it chooses the programs agentls runs),
anything under ``.git`` (hooks and config run programs too), agentls's own configuration and
state when they lie inside the workspace, and the user's ``settings.protected_paths`` globs.

A name is compared the way some filesystem may see it: case-insensitive, trailing dots and
spaces dropped (Windows), ``:stream`` suffixes cut (NTFS), 8.3 short names (``GIT~1``),
code points HFS+ ignores, compatibility forms (ZFS formKC); each path is checked as written,
with ``..`` folded, and resolved through symbolic links.
"""

from __future__ import annotations

import fnmatch
import os
import posixpath
import re
import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path, PurePosixPath

from agentls.domain.errors import UnsafePathError
from agentls.domain.locations import state_dir, user_config_path
from agentls.domain.results import ProposedEdit, RefusedPath

GIT_REASON = "agent output may not change git's own files"
CONFIG_REASON = "agent output may not change agentls's config"
STATE_REASON = "agent output may not change agentls's own configuration or state"

_PLAIN = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*(?:/[A-Za-z0-9_-][A-Za-z0-9_.-]*)*")
"""A relative path of ASCII names none of which starts with a dot: no ``.``, ``..``, empty
name or backslash, so its written and folded forms are one."""
_GIT_NAMES = re.compile(r"\.git|(git|gi7eba)~\d+")  # gi7eba~N: NTFS's hashed short name
_CONFIG_NAMES = re.compile(r"\.agentls\.yaml|agentl~\d+\.yam")
_HFS_IGNORED = frozenset(
    chr(c) for c in (*range(0x200C, 0x2010), *range(0x202A, 0x202F), *range(0x206A, 0x2070), 0xFEFF)
)


class ProtectedPathError(UnsafePathError):
    """Agent output named a path it may never change."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def workspace_relative(workspace: Path, candidate: str | Path) -> str:
    """``candidate`` as a posix path relative to ``workspace``, or ``UnsafePathError``.

    Refuses absolute paths outside the workspace, ``..`` escapes, symlinks that resolve out of
    it, and anything under ``.git`` in any spelling (``ProtectedPathError``).
    """
    return WorkspacePaths(workspace).relative(candidate)


class WorkspacePaths:
    """``workspace_relative`` for many paths of one workspace: each folder is resolved once
    (a path's real location is its folder's plus its name, unless the name is a link), with
    string operations where no link or ``..`` is involved, and a path it answered is not
    checked again (a folder's listing, then the run on its files). Keep one only as long as
    the work it checks for (a listing and its run), as the folders' answers are kept."""

    def __init__(self, workspace: Path) -> None:
        self.root = workspace.resolve()
        self._prefix = os.path.join(str(self.root), "")
        self._folders: dict[str, str] = {}
        self._answered: set[str] = set()

    def relative(self, candidate: str | Path) -> str:
        text = os.fspath(candidate)
        if text in self._answered:  # an answer of its own: inside, in none of git's files
            return text
        relative = self._relative(text, candidate)
        if self._written(text) == relative:  # no link or "..": asked again, the same answer
            self._answered.add(relative)
        return relative

    def _written(self, text: str) -> str:
        """``text`` as written, relative to the workspace where it is absolute inside it."""
        return text[len(self._prefix) :] if text.startswith(self._prefix) else text

    def _relative(self, text: str, candidate: str | Path) -> str:
        if not text.strip():
            raise UnsafePathError("an empty path was given")
        try:
            full = self._real(os.path.join(self._prefix, text))
        except (OSError, RuntimeError):
            raise UnsafePathError(
                f"{candidate} cannot be resolved (a symbolic link loop?)"
            ) from None
        if full == str(self.root):
            raise UnsafePathError(f"{candidate} is the workspace folder itself, not a file")
        if not full.startswith(self._prefix):
            raise UnsafePathError(
                f"{candidate} is outside the workspace {self.root}; agentls only touches files "
                "inside it"
            )
        relative = full[len(self._prefix) :]
        written = self._written(text)
        if written == relative and _PLAIN.fullmatch(written):
            forms = {tuple(written.split("/"))}  # as written, folded and resolved: the same
        else:
            forms = set(_forms(self.root, text, resolved=tuple(relative.split(os.sep))))
        if any(_builtin_reason(form) == GIT_REASON for form in forms):
            raise ProtectedPathError(text, GIT_REASON)
        return PurePosixPath(relative).as_posix() if os.sep != "/" else relative

    def _real(self, path: str) -> str:
        """``path`` (absolute) through every link, as ``Path.resolve`` gives it."""
        folder, name = os.path.split(path)
        if name in ("", ".", "..") or "/." in folder or os.path.islink(path):
            return str(Path(path).resolve())  # links, loops, "..": pathlib's rules
        real = self._folders.get(folder)
        if real is None:
            real = self._folders[folder] = str(Path(folder).resolve())
        return os.path.join(real, name)


def protected_reason(workspace: Path, path: str | Path, patterns: Sequence[str] = ()) -> str | None:
    """Why agent output may not change ``path`` (relative to ``workspace``, or absolute inside
    it), or None when it may. ``patterns`` are the user's ``settings.protected_paths``."""
    root = workspace.resolve()
    forms = _forms(root, str(path))
    for form in forms:
        reason = _builtin_reason(form)
        if reason is not None:
            return reason
    if _is_agentls_own(root, str(path)):
        return STATE_REASON
    for form in forms:
        pattern = next((p for p in patterns if glob_match("/".join(form), p)), None)
        if pattern is not None:
            return f"it matches settings.protected_paths entry {pattern!r}"
    return None


def agent_path(workspace: Path, candidate: str | Path, patterns: Sequence[str] = ()) -> str:
    """``candidate`` relative to the workspace when agent output may change it; else
    ``UnsafePathError`` (``ProtectedPathError`` for a protected path)."""
    relative = workspace_relative(workspace, candidate)
    reason = protected_reason(workspace, candidate, patterns)
    if reason is not None:
        raise ProtectedPathError(str(candidate), reason)
    return relative


def refusal(path: str | Path, error: UnsafePathError, agent: str | None = None) -> RefusedPath:
    """The record of a refused path, for the run's result and the audit log."""
    reason = error.reason if isinstance(error, ProtectedPathError) else str(error)
    if reason.startswith(f"{path} "):
        reason = "it " + reason[len(f"{path} ") :]
    return RefusedPath(path=printable(str(path)), reason=printable(reason), agent=agent)


def screen_edits(
    workspace: Path,
    edits: Iterable[ProposedEdit],
    patterns: Sequence[str] = (),
    agent: str | None = None,
) -> tuple[list[ProposedEdit], list[RefusedPath]]:
    """The edits agent output may make, and one refusal per path it may not change."""
    kept: list[ProposedEdit] = []
    refused: dict[str, RefusedPath] = {}
    for edit in edits:
        try:
            agent_path(workspace, edit.path, patterns)
        except UnsafePathError as error:
            refused.setdefault(edit.path, refusal(edit.path, error, agent))
            continue
        kept.append(edit)
    return kept, list(refused.values())


def glob_match(relative: str, pattern: str) -> bool:
    """``fnmatch`` on the whole posix path, case-sensitive; ``*`` also crosses ``/``, a
    ``**/`` may match no folder at all, and a pattern ending in ``/`` covers what is below."""
    if pattern.endswith("/"):
        pattern += "**"
    return any(fnmatch.fnmatchcase(relative, variant) for variant in _variants(pattern))


@lru_cache(maxsize=4096)
def normalized_name(component: str) -> str:
    """The name some filesystem may take ``component`` for, folded for comparison."""
    name = "".join(ch for ch in component if ch not in _HFS_IGNORED)
    name = unicodedata.normalize("NFKC", name)
    name = name.split(":", 1)[0].rstrip(". ")
    return name.upper().casefold()  # upper() first: NTFS upcases "ı" to "I"


def printable(text: str) -> str:
    """``text`` with control and invisible characters escaped, so a message stays one line
    and a look-alike name shows what it holds."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else f"\\u{ord(ch):04x}" for ch in text)


def _builtin_reason(parts: Sequence[str]) -> str | None:
    for part in parts:
        reason = _name_reason(part)
        if reason is not None:
            return reason
    return None


@lru_cache(maxsize=4096)
def _name_reason(component: str) -> str | None:
    """Why no path through a file or folder of this name may be changed, or None."""
    name = normalized_name(component)
    if _GIT_NAMES.fullmatch(name):
        return GIT_REASON
    if _CONFIG_NAMES.fullmatch(name):
        return CONFIG_REASON
    return None


def _forms(root: Path, path: str, resolved: tuple[str, ...] | None = None) -> list[tuple[str, ...]]:
    """``path``'s components relative to ``root``: as written, with ``..`` folded, resolved
    (``resolved``, when the caller knows them)."""
    written = _written(root, path)
    folded = posixpath.normpath("/".join(written)) if written else "."
    forms = [written, _parts(folded)]
    if resolved is None:
        real = _resolved(root, path)
        resolved = _parts(real.as_posix()) if real is not None else None
    if resolved is not None:
        forms.append(resolved)
    return forms


def _written(root: Path, path: str) -> tuple[str, ...]:
    text = path.replace("\\", "/")  # Windows reads a backslash as a separator
    prefix = root.as_posix().rstrip("/") + "/"
    if text.startswith(prefix):
        text = text[len(prefix) :]
    elif text.startswith("/"):
        try:
            text = PurePosixPath(text).relative_to(root.as_posix()).as_posix()
        except ValueError:
            return ()  # absolute elsewhere: only its resolved form can be inside
    return _parts(text)


def _parts(text: str) -> tuple[str, ...]:
    return tuple(part for part in text.split("/") if part not in ("", "."))


def _resolved(root: Path, path: str) -> Path | None:
    """``path`` resolved through every symbolic link, relative to ``root`` (None: outside)."""
    raw = Path(path)
    try:
        return (raw if raw.is_absolute() else root / raw).resolve().relative_to(root)
    except (OSError, RuntimeError, ValueError):
        return None


def _is_agentls_own(root: Path, path: str) -> bool:
    """Whether ``path`` lies in agentls's configuration or state folder (a workspace that is
    the home folder holds them: trusted.json there would trust any ``.agentls.yaml``)."""
    resolved = _resolved(root, path)
    if resolved is None:
        return False
    full = root / resolved
    owned = (user_config_path().parent, state_dir())
    return any(full.is_relative_to(os.path.realpath(own)) for own in owned)


def _variants(pattern: str) -> list[str]:
    """``pattern`` with each ``**/`` kept or dropped, as ``**/`` may match no folder."""
    head, sep, tail = pattern.partition("**/")
    if not sep:
        return [pattern]
    rest = _variants(tail)
    return [head + "**/" + r for r in rest] + [head + r for r in rest]
