"""What a line is, everywhere in agentls: the Language Server Protocol's definition.

A line ends at ``\\n``, ``\\r\\n`` or ``\\r`` and nowhere else. ``str.splitlines`` also breaks
at ``\\v``, ``\\f``, ``\\x1c``-``\\x1e``, ``\\x85``, ``\\u2028`` and ``\\u2029``, which editors,
git and Python's tokenizer keep inside a line; counting with it would put a finding or an edit
after a form feed on the wrong line. Everything that numbers lines (prompts, findings, edits,
adapters, the server) splits text with these functions. This module imports nothing of agentls.
"""

from __future__ import annotations

import re

LINE_BREAK = re.compile(r"\r\n|\r|\n")
"""A line ending: ``\\r\\n``, ``\\r`` or ``\\n``."""
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")
_NOT_BREAKS = re.compile("[\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
"""What ``str.splitlines`` breaks at besides line endings: in a text without any, it splits
as ``lines`` does (and faster)."""
_ASCII_NOT_BREAKS = "\x0b\x0c\x1c\x1d\x1e"


def lines(text: str, keepends: bool = False) -> list[str]:
    """``text``'s lines, as ``str.splitlines`` gives them but broken only at line endings:
    no empty last line after a final line ending, none at all for ``""``. With ``keepends``
    each line keeps its ending, so ``"".join(lines(text, keepends=True)) == text``."""
    if _breaks_only_at_line_endings(text):
        return text.splitlines(keepends)
    if keepends:
        return _LINE.findall(text)
    pieces = LINE_BREAK.split(text)
    if pieces[-1] == "":
        pieces.pop()
    return pieces


def _breaks_only_at_line_endings(text: str) -> bool:
    """Whether ``str.splitlines`` breaks ``text`` only at line endings. An ASCII text (which
    CPython knows without looking) can hold only five of the others, each found by a scan
    in C, many times faster than the pattern."""
    if text.isascii():
        return not any(other in text for other in _ASCII_NOT_BREAKS)
    return _NOT_BREAKS.search(text) is None


class LineIndex:
    """``text``'s lines (as ``lines`` has them) by number, found only as far as asked: the
    lines of a finding near the top of a long file cost only the text above them."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._starts = [0]  # where each line found so far begins
        self._breaks = LINE_BREAK.finditer(text)
        self._count: int | None = None

    def __len__(self) -> int:
        if self._count is None:
            text = self.text
            if "\r" in text:
                self._count = len(lines(text))
            else:
                self._count = text.count("\n") + (text != "" and not text.endswith("\n"))
        return self._count

    def start(self, line: int) -> int:
        """Where line ``line`` (from 0) begins; the text's length for a line after its last."""
        starts = self._starts
        while len(starts) <= line:
            found = next(self._breaks, None)
            if found is None:
                return len(self.text)
            starts.append(found.end())
        return starts[line]

    def span(self, begin: int, end: int) -> str:
        """Lines ``begin`` to ``end`` (from 0, ``end`` not included), with their endings: as
        ``"".join(lines(text, keepends=True)[begin:end])`` for ``0 <= begin``."""
        return self.text[self.start(begin) : self.start(end)] if begin < end else ""


def line_count(text: str) -> int:
    """How many lines ``text`` has (a last line without an ending counts; ``""`` has 0)."""
    return len(lines(text))


def lsp_lines(text: str) -> list[str]:
    """The lines an LSP client sees: always one more than ``text`` has line endings, the
    last being the (possibly empty) text after the final line ending."""
    return LINE_BREAK.split(text)


def to_lf(text: str) -> str:
    """``text`` with every line ending ``\\n``: how agentls holds texts (an editor's buffer
    may use ``\\r\\n``); the lines stay the same lines."""
    return LINE_BREAK.sub("\n", text)


def newline_of(text: str) -> str:
    """The line ending ``text`` uses most (the first of equals; ``\\n`` when it has none)."""
    endings = LINE_BREAK.findall(text)
    return max(dict.fromkeys(endings), key=endings.count) if endings else "\n"


def with_newline(text: str, newline: str) -> str:
    """``text`` with every line ending ``newline``: new text in a document's own style."""
    return LINE_BREAK.sub(newline, text)
