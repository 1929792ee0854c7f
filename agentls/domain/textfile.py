"""A text file's bytes as text agentls can edit, and that text back as the same kind of bytes.

``decode`` turns a file's bytes into text whose lines end in ``\\n``, remembering what it needs
to write the file back as it was: the encoding (UTF-8; for a Python file, the one its PEP 263
coding line declares, e.g. latin-1), a UTF-8 byte order mark, and the line endings (``\\r\\n``,
``\\n`` or ``\\r``). ``TextFile.encode`` writes new text in that same format, so a file nobody
changed encodes back to exactly its bytes, and an edited CRLF or latin-1 file stays one.

A file with mixed line endings keeps each unchanged line's own ending; a new or changed line
gets the file's most common ending (the first line's on a tie). A Python file is encoded as its
new text declares (a coding line the edit removed means UTF-8, as Python reads it). Bytes that
are not valid in the file's encoding are refused (``TextFileError``), never replaced, and a
binary file (a NUL byte in its first 8 KiB) is refused as one (``BinaryFileError``).
"""

from __future__ import annotations

import codecs
import difflib
import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path, PurePath

from agentls.domain.errors import TaskInputError
from agentls.domain.lines import LINE_BREAK as _LINE_BREAK

UTF8 = "utf-8"
_BOM = codecs.BOM_UTF8
_COOKIE = re.compile(r"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)", re.ASCII)
_BLANK = re.compile(r"^[ \t\f]*(?:#|$)", re.ASCII)
_PYTHON_SUFFIXES = frozenset({".py", ".pyi", ".pyw"})
BINARY_SNIFF = 8192
"""How many leading bytes are searched for a NUL, the mark of a binary file (as git does)."""


class TextFileError(TaskInputError):
    """A file's bytes are not text agentls can edit and write back exactly."""


class BinaryFileError(TextFileError):
    """A file is binary (a NUL byte in its first ``BINARY_SNIFF`` bytes), not text."""

    def __init__(self, name: str) -> None:
        super().__init__(f"{name} is not a text file (binary); agentls reviews and edits text")


@dataclass(frozen=True)
class TextFile:
    """A file's text (lines end in ``\\n``, no byte order mark) and how its bytes spell it."""

    name: str
    text: str
    encoding: str = UTF8
    bom: bool = False
    newline: str = "\n"
    """The most common line ending; the one new lines get."""
    endings: tuple[str, ...] | None = None
    """Every line's ending, when they are mixed (else None: all are ``newline``)."""

    def encode(self, text: str) -> bytes:
        """``text`` (lines ending in ``\\n``) as bytes in this file's format."""
        encoding = self.encoding
        if is_python(self.name):
            encoding = _declared(text, self.name) or UTF8
        lines = _LINE_BREAK.split(text)
        if self.endings is None:
            body = self.newline.join(lines)
        else:
            body = _join_mixed(lines, self.text.split("\n"), self.endings, self.newline)
        try:
            data = body.encode(encoding)
        except UnicodeEncodeError as error:
            raise TextFileError(
                f"{self.name}: the new text has {body[error.start]!r}, which {encoding} cannot "
                "encode"
            ) from None
        return (_BOM if self.bom and encoding == UTF8 else b"") + data


def new_file(name: str) -> TextFile:
    """The format a file agentls creates gets: UTF-8, ``\\n``, no byte order mark."""
    return TextFile(name=name, text="")


def looks_binary(data: bytes | str) -> bool:
    """Whether a file's bytes (or an editor's text of it) are binary: a NUL near the start."""
    if isinstance(data, bytes):
        return b"\0" in data[:BINARY_SNIFF]
    return "\0" in data[:BINARY_SNIFF]


def is_python(name: str | PurePath) -> bool:
    return suffix(name) in _PYTHON_SUFFIXES


def suffix(name: str | PurePath) -> str:
    """``PurePath(name).suffix`` in lower case, found without making a path of a plain
    relative or absolute posix name (a run asks it of every one of its files)."""
    text = str(name)
    base = text.rpartition("/")[2]
    if os.sep != "/" or "\\" in text or base in ("", ".", ".."):
        return PurePath(name).suffix.lower()  # pathlib's own reading of the odd ones
    dot = base.rfind(".")
    return base[dot:].lower() if 0 < dot < len(base) - 1 else ""


def decode(data: bytes, name: str) -> TextFile:
    """``data``, the bytes of the file ``name`` (a path: its suffix says if it is Python)."""
    if looks_binary(data):
        raise BinaryFileError(name)
    bom = data.startswith(_BOM)
    body = data[len(_BOM) :] if bom else data
    encoding = UTF8
    if is_python(name):
        declared = _declared(body[:1024].decode("latin-1"), name)
        if declared is not None and declared != UTF8 and bom:
            raise TextFileError(
                f"{name} starts with a UTF-8 byte order mark but its coding line says "
                f"{declared}; Python refuses such a file, and so does agentls"
            )
        encoding = declared or UTF8
    try:
        raw = body.decode(encoding)
    except UnicodeDecodeError as error:
        where = error.start + (len(_BOM) if bom else 0)
        hint = (
            ""
            if encoding != UTF8
            else "; agentls edits UTF-8 text, and Python files in the encoding their coding "
            "line declares"
        )
        raise TextFileError(
            f"{name} is not {encoding} text (byte 0x{body[error.start]:02x} at offset {where})"
            + hint
        ) from None
    if "\r" not in raw:  # the usual file: nothing to convert or remember
        return TextFile(name=name, text=raw, encoding=encoding, bom=bom)
    pieces = _LINE_BREAK.split(raw)
    endings = _LINE_BREAK.findall(raw)
    counts = Counter(endings)
    newline = "\n"
    if counts:
        top = max(counts.values())
        newline = next(e for e in endings if counts[e] == top)  # the first seen of the most used
    return TextFile(
        name=name,
        text="\n".join(pieces),
        encoding=encoding,
        bom=bom,
        newline=newline,
        endings=tuple(endings) if len(counts) > 1 else None,
    )


def read(path: str | Path, name: str | None = None) -> TextFile | None:
    """The file at ``path`` decoded (``name``: how messages call it), None when missing."""
    try:
        with open(path, "rb") as file:  # pathlib's read_bytes, without its Path-making
            data = file.read()
    except FileNotFoundError:
        return None
    return decode(data, name or str(path))


def read_text(path: Path, name: str | None = None) -> str | None:
    """Just the text of ``read``: what agents see and edit, and what results record."""
    file = read(path, name)
    return None if file is None else file.text


def text_or_none(path: Path, name: str | None = None) -> str | None:
    """The file's text, or None when there is none agentls can read: missing, a folder,
    unreadable, binary or not in its encoding."""
    try:
        return read_text(path, name)
    except (OSError, TextFileError):
        return None


def _declared(text: str, name: str) -> str | None:
    """The encoding a PEP 263 coding line in the first two lines declares, normalized."""
    for line in _LINE_BREAK.split(text, maxsplit=2)[:2]:
        match = _COOKIE.match(line)
        if match:
            return _codec(match[1], name)
        if not _BLANK.match(line):
            return None
    return None


def _codec(declared: str, name: str) -> str:
    """As Python's tokenizer spells it (``utf-8-unix`` is UTF-8, ``latin-1`` is iso-8859-1)."""
    spelled = declared[:12].lower().replace("_", "-")
    if spelled == "utf-8" or spelled.startswith("utf-8-"):
        return UTF8
    if spelled in ("latin-1", "iso-8859-1", "iso-latin-1") or spelled.startswith(
        ("latin-1-", "iso-8859-1-", "iso-latin-1-")
    ):
        return "iso-8859-1"
    try:
        codec = codecs.lookup(declared).name
        spelled_alike = "# coding".encode(codec) == b"# coding"  # LookupError: not text (zlib)
    except LookupError:
        raise TextFileError(
            f"{name} declares the encoding {declared!r}, which Python does not know"
        ) from None
    if not spelled_alike:
        raise TextFileError(f"{name} declares {codec}, which a Python file cannot be in")
    return codec


def _join_mixed(
    lines: list[str], old_lines: list[str], old_endings: tuple[str, ...], newline: str
) -> str:
    """``lines`` joined, each unchanged line keeping the ending it had in ``old_lines``."""
    endings = [newline] * (len(lines) - 1)
    matcher = difflib.SequenceMatcher(a=old_lines, b=lines, autojunk=False)
    for block in matcher.get_matching_blocks():
        for offset in range(block.size):
            old, new = block.a + offset, block.b + offset
            if old < len(old_endings) and new < len(endings):
                endings[new] = old_endings[old]
    return "".join(line + ending for line, ending in zip(lines, [*endings, ""], strict=True))
