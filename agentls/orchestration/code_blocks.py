"""Proposed edits from an implement/refine reply's fenced code blocks.

An unnamed block replaces the selection (or the whole file when there is none). A block whose
info string names a file (```python path=src/x.py) creates or replaces that file.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from agentls.domain import textfile
from agentls.domain.errors import UnsafePathError
from agentls.domain.lines import lines as text_lines
from agentls.domain.paths import (
    ProtectedPathError,
    agent_path,
    protected_reason,
    refusal,
    workspace_relative,
)
from agentls.domain.results import LineRange, ProposedEdit, RefusedPath

_FENCE_OPEN = re.compile(r"^[ \t]*(?P<fence>`{3,}|~{3,})(?P<info>[^`\n]*)$")
_PATH_KEYS = ("path", "file", "filename", "title")


@dataclass(frozen=True)
class CodeBlock:
    code: str
    language: str | None
    path: str | None


@dataclass
class BlockEdits:
    edits: list[ProposedEdit] = field(default_factory=list)
    blocks: int = 0
    refused: list[RefusedPath] = field(default_factory=list)


def code_blocks(text: str) -> list[CodeBlock]:
    """Fenced blocks in order; an unclosed last block runs to the end of the text."""
    blocks: list[CodeBlock] = []
    lines = text_lines(text, keepends=True)
    index = 0
    while index < len(lines):
        opening = _FENCE_OPEN.match(lines[index].rstrip("\r\n"))
        index += 1
        if not opening:
            continue
        fence = opening["fence"]
        body: list[str] = []
        while index < len(lines):
            stripped = lines[index].strip()
            if stripped.startswith(fence[0] * len(fence)) and not stripped.strip(fence[0]):
                index += 1
                break
            body.append(lines[index])
            index += 1
        language, path = _parse_info(opening["info"])
        code = "".join(body)
        if code and not code.endswith("\n"):
            code += "\n"
        blocks.append(CodeBlock(code=code, language=language, path=path))
    return blocks


def _parse_info(info: str) -> tuple[str | None, str | None]:
    try:
        words = shlex.split(info.strip())
    except ValueError:
        words = info.split()
    language: str | None = None
    path: str | None = None
    for position, word in enumerate(words):
        key, sep, value = word.partition("=")
        if sep:
            if key.lower() in _PATH_KEYS and value:
                path = value
        elif position == 0:
            # ```python, ```python:src/x.py or ```src/x.py
            head, colon, rest = word.partition(":")
            if colon and rest:
                language, path = head or None, rest
            elif "/" in word:
                path = word
            else:
                language = word
        elif path is None and ("/" in word or "." in word):
            path = word
    return language, path


def edits_from_blocks(
    text: str,
    workspace: Path,
    target: str,
    file_text: str,
    selection: LineRange | None,
    protected: Sequence[str] = (),
) -> BlockEdits:
    """``protected``: the user's ``settings.protected_paths``."""
    result = BlockEdits()
    blocks = code_blocks(text)
    result.blocks = len(blocks)
    seen: set[str] = set()
    unnamed_used = False
    for block in blocks:
        if block.path is None or _same_path(block.path, target, workspace):
            if unnamed_used:
                continue  # the first block for the target wins; later ones are usually examples
            unnamed_used = True
            reason = protected_reason(workspace, target, protected)
            if reason is not None:
                result.refused.append(refusal(target, ProtectedPathError(target, reason)))
                continue
            edit = _target_edit(block.code, target, file_text, selection)
            if edit is not None:
                result.edits.append(edit)
                seen.add(target)
            continue
        try:
            path = agent_path(workspace, block.path, protected)
        except UnsafePathError as error:
            result.refused.append(refusal(block.path, error))
            continue
        if path in seen:
            continue
        seen.add(path)
        exists = (workspace / path).is_file()
        if exists and textfile.text_or_none(workspace / path, path) == block.code:
            continue
        result.edits.append(
            ProposedEdit(path=path, kind="replace" if exists else "create", new_text=block.code)
        )
    return result


def _same_path(path: str, target: str, workspace: Path) -> bool:
    try:
        return workspace_relative(workspace, path) == target
    except UnsafePathError:
        return False


def _target_edit(
    code: str, target: str, file_text: str, selection: LineRange | None
) -> ProposedEdit | None:
    lines = text_lines(file_text, keepends=True)
    if selection is None:
        if code == file_text:
            return None
        return ProposedEdit(path=target, new_text=code)
    old = "".join(lines[selection.start - 1 : selection.end])
    if not old.endswith("\n") and code.endswith("\n") and selection.end >= len(lines):
        code = code[:-1]  # the file had no final newline; keep it that way
    if code == old:
        return None
    return ProposedEdit(path=target, range=selection, new_text=code)
