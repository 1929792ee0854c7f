"""What a prompt asks agentls to run on: the files it mentions, a line range, the user's words.

An ACP client names files in a prompt as ``resource_link`` blocks (a mention without its text)
or as embedded ``resource`` blocks (the mention with its text, when the agent declares
``embeddedContext``). Zed spells a file ``file:///abs/path``, a folder ``file:///abs/dir/``, and
a selection or a symbol the file's URI with a ``#L10:20`` fragment (1-based, both lines
included; ``#L10-20`` and ``#L10`` are read too). The text blocks around the mentions are the
instruction. Other URIs (a thread, a web page, an image) are context agentls has no use for.

Every path must lie inside the session's folder, links resolved: ``..``, an absolute path
elsewhere and a symbolic link that leads out are refused before anything runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from acp.schema import (
    AudioContentBlock,
    EmbeddedResourceContentBlock,
    ImageContentBlock,
    ResourceContentBlock,
    TextContentBlock,
)

from agentls.domain.errors import TaskInputError
from agentls.domain.paths import WorkspacePaths
from agentls.domain.results import LineRange
from agentls.orchestration.targets import expand

ContentBlock = (
    TextContentBlock
    | ImageContentBlock
    | AudioContentBlock
    | ResourceContentBlock
    | EmbeddedResourceContentBlock
)

NO_FILE = (
    "mention a file with @ (or a selection, or a folder) so agentls knows what to run the "
    "workflow on; the rest of the message is the instruction"
)
_LINES = re.compile(r"L?(\d+)(?:[:-]L?(\d+))?")
_SPACES = re.compile(r"[ \t]+")


@dataclass(frozen=True)
class Mention:
    """A file or folder the prompt names, as the client wrote it, and the lines it selects."""

    path: str
    selection: LineRange | None = None
    folder: bool = False


@dataclass(frozen=True)
class PromptTarget:
    files: tuple[str, ...]
    """Workspace-relative, in the order mentioned, each once; never empty."""
    selection: LineRange | None
    """Lines of the one file, when the mention was a selection."""
    instruction: str | None


def mentions(blocks: Iterable[ContentBlock]) -> tuple[list[Mention], str | None]:
    """The files the prompt mentions and its text (None when there is none)."""
    found: list[Mention] = []
    words: list[str] = []
    for block in blocks:
        if isinstance(block, TextContentBlock):
            words.append(block.text)
        elif isinstance(block, ResourceContentBlock | EmbeddedResourceContentBlock):
            uri = block.uri if isinstance(block, ResourceContentBlock) else block.resource.uri
            mention = _mention(uri)
            if mention is not None:
                found.append(mention)
    text = _SPACES.sub(" ", " ".join(words)).strip()
    return found, text or None


async def read_target(blocks: Iterable[ContentBlock], folder: Path) -> PromptTarget:
    """The prompt's target in ``folder``; ``TaskInputError`` (an ``UnsafePathError`` for a path
    outside it) says in one line what is wrong."""
    found, instruction = mentions(blocks)
    if not found:
        raise TaskInputError(NO_FILE)
    checked = WorkspacePaths(folder)
    files: list[str] = []
    for mention in found:
        relative = checked.relative(mention.path)
        if mention.folder or (folder / relative).is_dir():
            files.extend(await expand(folder, [relative], cwd=folder))
        else:
            files.append(relative)
    unique = tuple(dict.fromkeys(files))
    selections = [m.selection for m in found if m.selection is not None]
    if selections and (len(unique) > 1 or len(selections) > 1):
        raise TaskInputError(
            "a selection needs a single file: mention one selection, or files without one"
        )
    return PromptTarget(unique, selections[0] if selections else None, instruction)


def _mention(uri: str) -> Mention | None:
    """The file ``uri`` names (``file:`` or a plain path), or None for any other resource."""
    parts = urlsplit(uri)
    if parts.scheme not in ("file", ""):
        return None
    path = unquote(parts.path)
    if not path:
        return None
    return Mention(path=path, selection=_lines(parts.fragment), folder=path.endswith("/"))


def _lines(fragment: str) -> LineRange | None:
    match = _LINES.fullmatch(fragment)
    if match is None:
        return None
    start = int(match[1])
    end = int(match[2]) if match[2] else start
    if start < 1 or end < 1:
        return None
    return LineRange(start=min(start, end), end=max(start, end))
