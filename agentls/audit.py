"""A tamper-evident audit log: append-only JSON lines, each holding the SHA-256 of the line
before it, so a changed, removed or reordered record breaks the chain at that record.

Files rotate by size (``audit.log`` -> ``audit.log.1`` -> ...); the first record of a new file
carries the hash of the last record of the file before, so the chain runs across files. Only
``keep_files`` rotated files are kept; verification starts at the oldest one left. Writers in
several processes (the CLI, the server) take a file lock, and every value is redacted.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentls.redaction import redact

GENESIS = "0" * 64


def line_hash(line: str) -> str:
    return hashlib.sha256(line.rstrip("\n").encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    records: int
    message: str


class AuditLog:
    def __init__(self, path: Path, max_bytes: int = 10 * 1024 * 1024, keep_files: int = 5):
        self.path = path
        self.max_bytes = max_bytes
        self.keep_files = keep_files

    def append(self, event: str, **fields: Any) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                previous, sequence = self._tail()
                if self.path.exists() and self.path.stat().st_size >= self.max_bytes:
                    self._rotate()
                record = {
                    "seq": sequence + 1,
                    "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "event": event,
                    **_redacted(fields),
                    "prev": previous,
                }
                with open(self.path, "a", encoding="utf-8") as stream:
                    stream.write(json.dumps(record, sort_keys=True, ensure_ascii=False) + "\n")
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def files(self) -> list[Path]:
        """Oldest first."""
        rotated = sorted(
            (p for p in self.path.parent.glob(self.path.name + ".*") if p.suffix[1:].isdigit()),
            key=lambda p: int(p.suffix[1:]),
            reverse=True,
        )
        return [*rotated, *([self.path] if self.path.exists() else [])]

    def records(self) -> Iterator[tuple[Path, int, str]]:
        for file in self.files():
            with open(file, encoding="utf-8") as stream:
                for number, line in enumerate(stream, 1):
                    yield file, number, line

    def verify(self) -> VerifyResult:
        expected: str | None = None
        last_seq: int | None = None
        count = 0
        for file, number, line in self.records():
            where = f"{file}:{number}"
            try:
                record = json.loads(line)
            except ValueError:
                return VerifyResult(False, count, f"{where}: not a JSON record (changed)")
            if not isinstance(record, dict) or "prev" not in record or "seq" not in record:
                return VerifyResult(False, count, f"{where}: not an audit record (changed)")
            if expected is not None and record["prev"] != expected:
                return VerifyResult(
                    False,
                    count,
                    f"{where} (seq {record['seq']}): does not follow the record before it; "
                    "a record was changed, removed or reordered here",
                )
            if last_seq is not None and record["seq"] != last_seq + 1:
                return VerifyResult(
                    False,
                    count,
                    f"{where}: sequence jumps from {last_seq} to {record['seq']} "
                    "(a record was removed or reordered)",
                )
            expected, last_seq = line_hash(line), record["seq"]
            count += 1
        return VerifyResult(True, count, f"{count} records, chain intact")

    def _tail(self) -> tuple[str, int]:
        """Hash and sequence number of the last record (across rotation)."""
        for file in reversed(self.files()):
            line = _last_line(file)
            if line:
                try:
                    sequence = int(json.loads(line)["seq"])
                except (ValueError, KeyError, TypeError):
                    sequence = 0
                return line_hash(line), sequence
        return GENESIS, 0

    def _rotate(self) -> None:
        for file in self.files():  # oldest first, so no rename lands on a file still there
            index = 1 if file == self.path else int(file.suffix[1:]) + 1
            if index > self.keep_files:
                file.unlink()
            else:
                os.replace(file, self.path.with_name(f"{self.path.name}.{index}"))


def _last_line(path: Path) -> str:
    try:
        with open(path, "rb") as stream:
            stream.seek(0, os.SEEK_END)
            end = stream.tell()
            chunk = b""
            position = end
            while position > 0 and chunk.count(b"\n") < 2:
                step = min(4096, position)
                position -= step
                stream.seek(position)
                chunk = stream.read(step) + chunk
    except FileNotFoundError:
        return ""
    lines = [line for line in chunk.split(b"\n") if line.strip()]
    return lines[-1].decode("utf-8") if lines else ""


def _redacted(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _redacted(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_redacted(item) for item in value]
    return value
