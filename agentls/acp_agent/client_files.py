"""The files as the client has them: read and written through it when it offers ``fs``.

An editor's ``fs/read_text_file`` answers with the buffer's text, unsaved changes included, and
``fs/write_text_file`` changes the buffer, so runs see what the user sees and an applied change
lands in the editor (its undo included). A client without them leaves agentls the disk.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from acp.interfaces import Client
from acp.schema import ClientCapabilities

from agentls.domain import textfile
from agentls.domain.lines import to_lf
from agentls.log import get_logger

log = get_logger("agentls.acp")


@dataclass(frozen=True)
class FileAccess:
    """What the client said at ``initialize`` it can do with files."""

    read: bool = False
    write: bool = False

    @classmethod
    def of(cls, capabilities: ClientCapabilities | None) -> FileAccess:
        fs = capabilities.fs if capabilities is not None else None
        if fs is None:
            return cls()
        return cls(read=bool(fs.read_text_file), write=bool(fs.write_text_file))


async def client_texts(
    client: Client, session_id: str, folder: Path, paths: Iterable[str]
) -> dict[str, str]:
    """The client's text of each of ``paths`` (workspace-relative) it could read, with
    ``\\n`` line endings as agentls holds texts; the others are left to the disk."""
    texts: dict[str, str] = {}
    for path in paths:
        try:
            answer = await client.read_text_file(session_id=session_id, path=str(folder / path))
        except Exception as error:  # a file the editor cannot open is read from disk
            log.info("the client did not read a file", path=path, error=str(error))
            continue
        texts[path] = to_lf(answer.content)
    return texts


async def current_text(
    client: Client, session_id: str, folder: Path, path: str, access: FileAccess
) -> str | None:
    """``path``'s text now: the client's when it reads files, else the disk's (None: the file
    does not exist)."""
    if access.read:
        read = await client_texts(client, session_id, folder, [path])
        if path in read:
            return read[path]
    return textfile.text_or_none(folder / path, path)
