"""A tamper-evident audit log: append-only JSON lines, each sealed with an HMAC-SHA256 over its
content, its sequence number and the MAC of the record before it.

The key (32 random bytes) lives in the user's state folder, 0600, apart from the log, so whoever
can edit the log cannot recompute a MAC without also reading the key. A sealed head beside the
log (``audit.log.head``, itself MACed) holds the count, the last record's sequence number and
MAC, and where the kept chain starts; it catches what a chain alone cannot: a truncated tail, a
deleted beginning, a deleted log, a forged record appended at the end.

Files rotate by size (``audit.log`` -> ``audit.log.1`` -> ...); the chain runs across files and
the head records where the oldest kept file begins. Writers in several processes take a file
lock. A crash between writing a record and its head leaves either a torn last line or one valid
record the head does not count yet: that is an incomplete write, repaired by the next append.

What it cannot detect: anyone holding the key (anyone running as the user) can write a
consistent forged log; deleting the log, its head and the key together looks like a fresh
install.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from agentls.redaction import redact_value
from agentls.state import private_dir, private_file, state_dir, write_private

GENESIS = "0" * 64
KEY_BYTES = 32
Status = Literal["ok", "incomplete", "tampered"]


def default_key_path() -> Path:
    return state_dir() / "keys" / "audit.key"


@dataclass(frozen=True)
class VerifyResult:
    status: Status
    records: int
    message: str

    @property
    def ok(self) -> bool:
        return self.status != "tampered"


@dataclass(frozen=True)
class _Line:
    file: Path
    number: int
    text: str
    complete: bool  # ends with a newline

    @property
    def where(self) -> str:
        return f"{self.file}:{self.number}"


class _Tampered(Exception):
    pass


def _canonical(value: dict[str, Any]) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


class AuditLog:
    def __init__(
        self,
        path: Path,
        max_bytes: int = 10 * 1024 * 1024,
        keep_files: int = 5,
        key_path: Path | None = None,
    ) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.keep_files = keep_files
        self.key_path = key_path or default_key_path()
        self.head_path = path.with_name(path.name + ".head")

    # -- writing ---------------------------------------------------------------------------

    def append(self, event: str, **fields: Any) -> None:
        with self._locked():
            key = self._created_key()
            head = self._repaired_head(key)
            if self.path.exists() and self.path.stat().st_size >= self.max_bytes:
                head = self._rotate(head)
            record: dict[str, Any] = {
                "seq": head["last_seq"] + 1,
                "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "event": event,
                **redact_value(fields),
                "prev": head["last_mac"],
            }
            record["mac"] = self._mac(key, b"record\0", record)
            private_file(self.path)
            with open(self.path, "a", encoding="utf-8") as stream:
                stream.write(_canonical(record).decode() + "\n")
                stream.flush()
                os.fsync(stream.fileno())
            if head["count"] == 0:
                head["first_seq"], head["first_prev"] = record["seq"], record["prev"]
            head.update(count=head["count"] + 1, last_seq=record["seq"], last_mac=record["mac"])
            self._write_head(key, head)

    def _repaired_head(self, key: bytes) -> dict[str, Any]:
        """The head, after finishing what a crash left undone (a torn line, an uncounted record).
        Anything worse is left for ``verify`` to report; the log keeps growing after it."""
        if not self.head_path.exists():
            self._set_aside_unsealed()
        head = self._read_head(key) or _empty_head()
        last = _last_line(self.path)
        if last is not None and not last.complete:
            _truncate_last_line(self.path)
            last = _last_line(self.path)
        if last is not None:
            record = self._parse(key, last)
            follows = record is not None and record["prev"] == head["last_mac"]
            if record is not None and follows and record["seq"] == head["last_seq"] + 1:
                if head["count"] == 0:
                    head["first_seq"], head["first_prev"] = record["seq"], record["prev"]
                head.update(count=head["count"] + 1, last_seq=record["seq"], last_mac=record["mac"])
                self._write_head(key, head)
        return head

    def _set_aside_unsealed(self) -> None:
        """A log from before records were sealed is renamed ``*.unsealed``, not called
        tampered forever; it can still be read, but proves nothing."""
        files = self.files()
        if files and '"mac"' not in files[0].read_text(encoding="utf-8", errors="replace")[:4096]:
            for file in files:
                os.replace(file, file.with_name(file.name + ".unsealed"))

    def _rotate(self, head: dict[str, Any]) -> dict[str, Any]:
        for file in self.files():  # oldest first, so no rename lands on a file still there
            index = 1 if file == self.path else int(file.suffix[1:]) + 1
            if index > self.keep_files:
                head["count"] -= _count_lines(file)
                file.unlink()
            else:
                os.replace(file, self.path.with_name(f"{self.path.name}.{index}"))
        oldest = self.files()
        if oldest:
            first = json.loads(oldest[0].read_text(encoding="utf-8").splitlines()[0])
            head["first_seq"], head["first_prev"] = first["seq"], first["prev"]
        return head

    # -- reading ---------------------------------------------------------------------------

    def files(self) -> list[Path]:
        """Oldest first."""
        rotated = sorted(
            (p for p in self.path.parent.glob(self.path.name + ".*") if p.suffix[1:].isdigit()),
            key=lambda p: int(p.suffix[1:]),
            reverse=True,
        )
        return [*rotated, *([self.path] if self.path.exists() else [])]

    def records(self) -> Iterator[tuple[Path, int, str]]:
        for line in self._lines():
            yield line.file, line.number, line.text

    def verify(self) -> VerifyResult:
        key = self._key()
        head_exists = self.head_path.exists()
        lines = list(self._lines())
        if key is None:
            if head_exists or lines:
                return _tampered(0, f"the audit key {self.key_path} is missing")
            return VerifyResult("ok", 0, "0 records, chain intact")
        try:
            return self._verify(key, lines, head_exists)
        except _Tampered as error:
            return _tampered(0, str(error))

    def _verify(self, key: bytes, lines: list[_Line], head_exists: bool) -> VerifyResult:
        head = self._read_head(key)
        if head is None:
            if head_exists:
                raise _Tampered(f"{self.head_path}: its seal does not match (changed)")
            if lines:
                raise _Tampered(f"{self.head_path} is missing (deleted)")
            return VerifyResult("ok", 0, "0 records, chain intact")
        if head["count"] and not lines:
            raise _Tampered(f"{self.path}: the log is missing ({head['count']} records deleted)")
        torn = lines[-1] if lines and not lines[-1].complete else None
        if torn is not None:
            lines = lines[:-1]
        expected_prev, expected_seq = head["first_prev"], head["first_seq"]
        count = 0
        for line in lines:
            record = self._parse(key, line)
            bad = f"{line.where}"
            if record is None:
                seq = _seq_of(line.text)
                raise _Tampered(f"{bad}{seq}: not a record sealed with this log's key (changed)")
            if record["seq"] != expected_seq:
                raise _Tampered(
                    f"{bad} (seq {record['seq']}): expected seq {expected_seq}; "
                    "records were removed, inserted or reordered here"
                )
            if record["prev"] != expected_prev:
                raise _Tampered(
                    f"{bad} (seq {record['seq']}): does not follow the record before it "
                    "(a record was removed or reordered here)"
                )
            count += 1
            expected_prev, expected_seq = record["mac"], record["seq"] + 1
            if count == head["count"] and record["mac"] != head["last_mac"]:
                raise _Tampered(f"{bad} (seq {record['seq']}): not the sealed last record")
        if count < head["count"]:
            raise _Tampered(
                f"{self.path}: {head['count'] - count} records after seq {expected_seq - 1} "
                "are missing (the log was truncated)"
            )
        if count > head["count"] + 1:
            extra = lines[head["count"] + 1]
            raise _Tampered(f"{extra.where}: records beyond the sealed head (appended)")
        if count == head["count"] + 1 or torn is not None:
            return VerifyResult(
                "incomplete",
                count,
                f"{count} records; the last write did not finish (a crash?); "
                "the next record repairs it",
            )
        return VerifyResult("ok", count, f"{count} records, chain intact")

    # -- pieces ----------------------------------------------------------------------------

    def _lines(self) -> Iterator[_Line]:
        for file in self.files():
            with open(file, encoding="utf-8", errors="replace") as stream:
                for number, text in enumerate(stream, 1):
                    if text.strip():
                        yield _Line(file, number, text.rstrip("\n"), text.endswith("\n"))

    def _parse(self, key: bytes, line: _Line) -> dict[str, Any] | None:
        """The record on ``line`` if its MAC is this log's, else None."""
        try:
            record = json.loads(line.text)
        except ValueError:
            return None
        if not isinstance(record, dict) or not isinstance(record.get("mac"), str):
            return None
        if not isinstance(record.get("seq"), int) or not isinstance(record.get("prev"), str):
            return None
        body = {name: value for name, value in record.items() if name != "mac"}
        if not hmac.compare_digest(record["mac"], self._mac(key, b"record\0", body)):
            return None
        return record

    @staticmethod
    def _mac(key: bytes, domain: bytes, value: dict[str, Any]) -> str:
        return hmac.new(key, domain + _canonical(value), hashlib.sha256).hexdigest()

    def _read_head(self, key: bytes) -> dict[str, Any] | None:
        try:
            head = json.loads(self.head_path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return None
        if not isinstance(head, dict) or not isinstance(head.get("mac"), str):
            return None
        body = {name: value for name, value in head.items() if name != "mac"}
        if set(body) != set(_empty_head()):
            return None
        if not hmac.compare_digest(head["mac"], self._mac(key, b"head\0", body)):
            return None
        return body

    def _write_head(self, key: bytes, head: dict[str, Any]) -> None:
        sealed = {**head, "mac": self._mac(key, b"head\0", head)}
        write_private(self.head_path, _canonical(sealed))

    def _key(self) -> bytes | None:
        try:
            return self.key_path.read_bytes()
        except FileNotFoundError:
            return None

    def _created_key(self) -> bytes:
        key = self._key()
        if key is not None:
            return key
        private_dir(self.key_path.parent)
        candidate = self.key_path.with_name(f".{self.key_path.name}.{os.getpid()}")
        write_private(candidate, secrets.token_bytes(KEY_BYTES))
        try:
            os.link(candidate, self.key_path)  # never replaces a key another process made
        except FileExistsError:
            pass
        finally:
            candidate.unlink()
        return self.key_path.read_bytes()

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        lock_path = private_file(self.path.with_suffix(".lock"))
        with open(lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


def _empty_head() -> dict[str, Any]:
    return {"count": 0, "first_seq": 1, "first_prev": GENESIS, "last_seq": 0, "last_mac": GENESIS}


def _tampered(records: int, message: str) -> VerifyResult:
    return VerifyResult("tampered", records, message)


def _seq_of(text: str) -> str:
    try:
        return f" (seq {int(json.loads(text)['seq'])})"
    except (ValueError, KeyError, TypeError):
        return ""


def _count_lines(path: Path) -> int:
    with open(path, encoding="utf-8", errors="replace") as stream:
        return sum(1 for line in stream if line.strip())


def _last_line(path: Path) -> _Line | None:
    try:
        with open(path, "rb") as stream:
            stream.seek(0, os.SEEK_END)
            end = stream.tell()
            position, chunk = end, b""
            while position > 0 and chunk.count(b"\n") < 2:
                step = min(4096, position)
                position -= step
                stream.seek(position)
                chunk = stream.read(step) + chunk
    except FileNotFoundError:
        return None
    if not chunk.strip():
        return None
    complete = chunk.endswith(b"\n")
    text = chunk.rstrip(b"\n").rsplit(b"\n", 1)[-1].decode("utf-8", "replace")
    return _Line(path, 0, text, complete)


def _truncate_last_line(path: Path) -> None:
    """Cut a torn last line (no newline) so the next record starts on a line of its own."""
    data = path.read_bytes()
    cut = data.rfind(b"\n") + 1
    with open(path, "r+b") as stream:
        stream.truncate(cut)
