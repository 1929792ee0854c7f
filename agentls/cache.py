"""Results of read-only tasks (review, explain), cached in memory (LRU) and in SQLite.

The key is a SHA-256 over everything that changes the answer: the tool (its adapter, its
version, its command, model, arguments and options, the names of the environment variables
it gets), the task kind, the prompt template version, the prompt itself (the code and its
context), the texts of the files the task covers and the contents of the files the tool reads
on its own (``Adapter.answer_inputs``: ruff's configuration), with secrets redacted first.
Failures are never cached; entries expire after ``ttl_s``. A result read back is marked
``cached``; one is never stored so.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from agentls.domain.results import TaskResult
from agentls.redaction import redact, redact_value
from agentls.state import private_file


def cache_key(
    tool: Mapping[str, Any],
    task: str,
    prompt_version: str,
    prompt: str,
    inputs: Mapping[str, str],
) -> str:
    """``inputs``: a digest (``file_digest``) per file the answer depends on, by name."""
    material = json.dumps(
        {
            "tool": tool,
            "task": task,
            "prompt_version": prompt_version,
            "prompt": prompt,
            "inputs": inputs,
        },
        sort_keys=True,
        default=str,
    )
    return _digest(redact(material).encode("utf-8"))


def file_digest(path: Path) -> str:
    """The SHA-256 of the file's contents, or ``missing``."""
    try:
        return _digest(path.read_bytes())
    except OSError:
        return "missing"


def text_digest(text: str) -> str:
    return _digest(text.encode("utf-8", errors="surrogatepass"))


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class ResultCache:
    def __init__(self, path: Path | None, ttl_s: float, memory_entries: int = 256) -> None:
        self.path = path
        self.ttl_s = ttl_s
        self.memory_entries = memory_entries
        self._memory: OrderedDict[str, tuple[float, str]] = OrderedDict()
        if path is not None:
            private_file(path)
            with self._db() as db:
                db.execute(
                    "create table if not exists results "
                    "(key text primary key, stored real not null, result text not null)"
                )

    def _db(self) -> sqlite3.Connection:
        assert self.path is not None
        return sqlite3.connect(self.path, timeout=10)

    def get(self, key: str) -> TaskResult | None:
        now = time.time()
        entry = self._memory.get(key)
        if entry is None and self.path is not None:
            with self._db() as db:
                row = db.execute(
                    "select stored, result from results where key = ?", (key,)
                ).fetchone()
            entry = (row[0], row[1]) if row else None
        if entry is None or now - entry[0] > self.ttl_s:
            return None
        self._remember(key, entry)
        return TaskResult.model_validate_json(entry[1]).model_copy(update={"cached": True})

    def put(self, key: str, result: TaskResult) -> None:
        if not result.ok:
            return
        stored = result.model_copy(update={"cached": False})
        entry = (time.time(), redact_value(stored).model_dump_json())
        self._remember(key, entry)
        if self.path is not None:
            with self._db() as db:
                db.execute("insert or replace into results values (?, ?, ?)", (key, *entry))

    def _remember(self, key: str, entry: tuple[float, str]) -> None:
        self._memory[key] = entry
        self._memory.move_to_end(key)
        while len(self._memory) > self.memory_entries:
            self._memory.popitem(last=False)
