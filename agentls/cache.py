"""Results of read-only tasks (review, explain), cached in memory (LRU) and in SQLite.

The key is a SHA-256 over the agent, its model and arguments, the task kind, the prompt
template version and the prompt itself (which holds the code and its context), with secrets
redacted first. Failures are never cached; entries expire after ``ttl_s``.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections import OrderedDict
from pathlib import Path

from agentls.orchestration.results import TaskResult
from agentls.redaction import redact, redact_value
from agentls.state import private_file


def cache_key(
    agent: str, model: str | None, args: list[str], task: str, version: str, prompt: str
) -> str:
    material = json.dumps([agent, model, args, task, version, redact(prompt)])
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


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
        return TaskResult.model_validate_json(entry[1])

    def put(self, key: str, result: TaskResult) -> None:
        if not result.ok:
            return
        entry = (time.time(), redact_value(result).model_dump_json())
        self._remember(key, entry)
        if self.path is not None:
            with self._db() as db:
                db.execute("insert or replace into results values (?, ?, ?)", (key, *entry))

    def _remember(self, key: str, entry: tuple[float, str]) -> None:
        self._memory[key] = entry
        self._memory.move_to_end(key)
        while len(self._memory) > self.memory_entries:
            self._memory.popitem(last=False)
