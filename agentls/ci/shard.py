"""Splitting the files to review among the jobs of a CI matrix (``--shard I/N``).

A file's shard depends on its path alone, through SHA-256 (Python's ``hash()`` differs from
process to process), so every job of a matrix agrees on the split without talking to the others
and each file is reviewed by exactly one of them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from agentls.domain.errors import TaskInputError

_FORM = re.compile(r"(\d+)/(\d+)")


@dataclass(frozen=True)
class Shard:
    index: int
    """From 1."""
    total: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``I/N``, 1 ≤ I ≤ N; ``TaskInputError`` says what to give otherwise."""
        form = _FORM.fullmatch(text.strip())
        if form is None or not 1 <= int(form[1]) <= int(form[2]):
            raise TaskInputError(
                f"--shard {text!r} is not I/N with 1 <= I <= N (e.g. 2/4: the second of four)"
            )
        return cls(int(form[1]), int(form[2]))

    def holds(self, path: str) -> bool:
        return shard_of(path, self.total) == self.index

    def select(self, paths: Iterable[str]) -> list[str]:
        return [path for path in paths if self.holds(path)]

    def __str__(self) -> str:
        return f"{self.index}/{self.total}"


def shard_of(path: str, total: int) -> int:
    """The shard (1 to ``total``) that reviews ``path``."""
    digest = hashlib.sha256(path.encode("utf-8", "surrogateescape")).digest()
    return int.from_bytes(digest[:8], "big") % total + 1
