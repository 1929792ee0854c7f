"""A tamper-evident audit log: JSON lines sealed with HMAC-SHA256 and a sealed head.

Each record is ``{"seq", "ts", "event", ...fields, "prev", "mac"}``: ``seq`` counts from 1,
``prev`` is the previous record's ``mac`` (``"0" * 64`` before the first), and ``mac`` is the
HMAC-SHA256, keyed by a secret, of the record's canonical JSON without ``mac``. The key is 32
random bytes in ``$XDG_STATE_HOME/agentls/keys/audit.key`` (0600, in a 0700 folder), kept apart
from the log, whose place ``settings.audit.path`` may choose. Beside the log, ``audit.log.head``
seals what the log must hold: how many records, the first one kept (its seq and prev) and the
last one (its seq and mac), under its own HMAC with a ``head`` domain prefix. A marker beside
the key notes that a sealed log was kept at that path.

So ``verify`` catches a changed, removed, reordered, inserted or forged record, a cut tail, a
deleted first part, a chain rewritten with plain hashes or another key, and a deleted log, head
or rotated file, and names the first bad record as ``file:line (seq N)``. A crash mid-write is
no tampering: a torn last line, valid records chained on after the last one the head seals (a
write is one or more records: see ``hold``), or a rotation cut short verify as
``incomplete``, and the next append repairs them. Nothing else is repaired:
after tampering, appends chain on but never reseal over it, so the evidence stays. A log from
before records were sealed is renamed ``*.unsealed`` on the first append (never where the
marker says a sealed log was kept).

Files rotate by size (``audit.log`` -> ``audit.log.1`` -> ...); the chain runs across files.
Only ``keep_files`` rotated files are kept: before one is deleted the head moves its first kept
record past it, so the new start verifies while a deletion of what is kept does not. Writers in
several processes (the CLI, the server) take a file lock, and every value is redacted.

What it cannot detect: anyone holding the key (anyone running as the user) can write a
consistent log, head and all; and deleting the log, its head and the key folder together looks
like a fresh install.
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
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from agentls.domain.locations import audit_key_path
from agentls.redaction import redact_value
from agentls.state import append_private, private_dir, private_file, write_private

GENESIS = "0" * 64
KEY_BYTES = 32
HEAD_DOMAIN = b"head\0"
RESERVED = frozenset({"seq", "ts", "prev", "mac"})

Status = Literal["ok", "incomplete", "tampered"]


class AuditError(OSError):
    """The audit log cannot be written safely (a damaged key). An ``OSError`` so that callers
    which keep working when the log cannot be written (a full disk) do the same here."""


@dataclass(frozen=True)
class VerifyResult:
    status: Status
    records: int
    message: str

    @property
    def ok(self) -> bool:
        """Not tampered: intact, or a write cut short that the next append repairs."""
        return self.status != "tampered"


@dataclass(frozen=True)
class Head:
    """What the log must hold: records ``first_seq`` .. ``last_seq``."""

    first_seq: int
    first_prev: str
    last_seq: int
    last_mac: str

    @property
    def count(self) -> int:
        return self.last_seq - self.first_seq + 1

    @classmethod
    def empty(cls) -> Head:
        return cls(first_seq=1, first_prev=GENESIS, last_seq=0, last_mac=GENESIS)

    def after(self, seq: int, mac: str) -> Head:
        return replace(self, last_seq=seq, last_mac=mac)

    def starting_after(self, seq: int, mac: str) -> Head:
        return replace(self, first_seq=seq + 1, first_prev=mac)

    def fields(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "first_seq": self.first_seq,
            "first_prev": self.first_prev,
            "last_seq": self.last_seq,
            "last_mac": self.last_mac,
        }

    def sealed(self, key: bytes) -> bytes:
        fields = self.fields()
        return canonical({**fields, "mac": _head_mac(key, fields)}) + b"\n"

    @classmethod
    def unseal(cls, data: bytes, key: bytes) -> Head | None:
        """The head in ``data``, or None when its seal does not match ``key``."""
        try:
            fields = json.loads(data)
            mac = fields.pop("mac")
            head = cls(
                first_seq=fields["first_seq"],
                first_prev=fields["first_prev"],
                last_seq=fields["last_seq"],
                last_mac=fields["last_mac"],
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            return None
        if not isinstance(mac, str) or not _same(mac, _head_mac(key, fields)):
            return None
        return head if head.fields() == fields else None


@dataclass(frozen=True)
class _Line:
    file: Path
    number: int
    data: bytes  # without the newline
    complete: bool  # ended with a newline

    @property
    def where(self) -> str:
        return f"{self.file}:{self.number}"


def _unsealed(event: str, fields: dict[str, Any]) -> dict[str, Any]:
    """A record's body, redacted and stamped now; the log adds ``seq``, ``prev`` and ``mac``."""
    if reserved := RESERVED & fields.keys():
        raise ValueError(f"audit fields {sorted(reserved)} are set by the log itself")
    body = redact_value(fields)
    canonical(body)  # a value JSON cannot hold fails here, before anything is written
    return {**body, "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "event": event}


def canonical(value: dict[str, Any]) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def record_mac(key: bytes, record: dict[str, Any]) -> str:
    unsealed = {name: value for name, value in record.items() if name != "mac"}
    return hmac.new(key, canonical(unsealed), hashlib.sha256).hexdigest()


def _same(mac: str, expected: str) -> bool:
    return hmac.compare_digest(mac.encode(), expected.encode())


def _head_mac(key: bytes, fields: dict[str, Any]) -> str:
    # The domain prefix keeps a record's MAC from ever passing as a head's, and back.
    return hmac.new(key, HEAD_DOMAIN + canonical(fields), hashlib.sha256).hexdigest()


class AuditLog:
    def __init__(
        self,
        path: Path,
        max_bytes: int = 10 * 1024 * 1024,
        keep_files: int = 5,
        key_path: Path | None = None,
    ):
        self.path = path
        self.max_bytes = max_bytes
        self.keep_files = keep_files
        self.key_path = key_path if key_path is not None else audit_key_path()
        self.head_path = path.with_name(path.name + ".head")
        self.lock_path = path.with_name(path.name + ".lock")
        where = hashlib.sha256(str(path.expanduser().resolve()).encode()).hexdigest()[:16]
        self.marker_path = self.key_path.with_name(f"{self.key_path.stem}.{where}.sealed")
        self._key: bytes | None = None  # read once: a key changed under a writer shows at verify
        self._held: list[dict[str, Any]] = []

    # Writing

    def append(self, event: str, **fields: Any) -> None:
        """Write a record, after the held ones, and wait until all are on disk."""
        self._write([*self._held, _unsealed(event, fields)])

    def hold(self, event: str, **fields: Any) -> None:
        """Keep a record in memory until the next ``append`` or ``flush``, which write it first:
        one lock, one write and one wait for the disk for both. Only for records that one
        written at once always follows soon (a run's start, an agent's finish within a run);
        a held record dies with the process."""
        self._held.append(_unsealed(event, fields))

    def flush(self) -> None:
        if self._held:
            self._write(self._held)

    def _write(self, bodies: list[dict[str, Any]]) -> None:
        self._held = []
        key = self._key_for_writing()
        with self._lock(fcntl.LOCK_EX):
            head, trusted = self._head_for_writing(key)
            if trusted:
                if not self.marker_path.exists():
                    self._mark()
                self._drop_expired(head, key)
            head, newline_first = self._settle_tail(head, key, trusted)
            if self._full():
                head = self._rotate(head, key, trusted)
                newline_first = False
            lines = [b"\n"] if newline_first else []
            for body in bodies:
                record = {**body, "seq": head.last_seq + 1, "prev": head.last_mac}
                record["mac"] = record_mac(key, record)
                lines.append(canonical(record) + b"\n")
                head = head.after(record["seq"], record["mac"])
            self._write_line(b"".join(lines))
            if trusted:
                self._write_head(head, key)

    def _full(self) -> bool:
        size = self.path.stat().st_size if self.path.exists() else 0
        return size > 0 and size >= self.max_bytes

    def _head_for_writing(self, key: bytes) -> tuple[Head, bool]:
        """The head to chain to, and whether it is sealed (and so kept up to date). A missing
        or broken head is tampering: the log still chains on, but the head stays as found."""
        if self.head_path.exists():
            head = Head.unseal(self.head_path.read_bytes(), key)
            if head is not None:
                return head, True
            return self._head_from_log(key), False
        if not self.marker_path.exists():
            self._set_aside_unsealed()
        if self.marker_path.exists() or any(True for _ in self._lines()):
            return self._head_from_log(key), False
        # Sealed before the first record, so a missing head always means tampering.
        self._write_head(Head.empty(), key)
        self._mark()
        return Head.empty(), True

    def _mark(self) -> None:
        """Note beside the key that a sealed log is kept here, so that deleting the log and
        its head together shows."""
        write_private(self.marker_path, str(self.path.expanduser().resolve()).encode())

    def _set_aside_unsealed(self) -> None:
        """Rename a log from before records were sealed to ``*.unsealed``: readable, proving
        nothing, and not called tampered forever. Never done where a sealed log was kept."""
        files = self.files()
        first = _first_object(files[0]) if files else None
        if first is None or "mac" in first or "prev" not in first:
            return
        for file in files:
            os.replace(file, file.with_name(file.name + ".unsealed"))

    def _head_from_log(self, key: bytes) -> Head:
        for file in reversed(self.files()):
            line, _ = _tail(file)
            record = _parsed(line) if line is not None else None
            if record is not None:
                return Head.empty().after(record["seq"], record["mac"])
        return Head.empty()

    def _drop_expired(self, head: Head, key: bytes) -> None:
        """Delete files an interrupted rotation left before the first kept record."""
        for file in self.files():
            if file == self.path:  # keep_files >= 1: the current file is always kept
                return
            last = _valid_record(_tail(file)[0], key)
            if last is None or last["seq"] >= head.first_seq:
                return
            file.unlink()

    def _settle_tail(self, head: Head, key: bytes, trusted: bool) -> tuple[Head, bool]:
        """Repair what a crash left at the end of the current file: adopt the valid records
        one write added after the head's last, cut a torn last line. Returns the head and
        whether the next record must start with a newline (a torn line kept as evidence)."""
        line, torn_at = _tail(self.path)
        last = _valid_record(line, key) if line is not None else None
        in_order = line is None or (
            last is not None and last["seq"] == head.last_seq and last["mac"] == head.last_mac
        )
        unsealed = last is not None and last["seq"] > head.last_seq and self._chains_on(head, key)
        if trusted and unsealed and last is not None:
            head = head.after(last["seq"], last["mac"])
        if torn_at is None:
            return head, False
        if trusted and (in_order or unsealed):
            os.truncate(self.path, torn_at)
            return head, False
        return head, True

    def _chains_on(self, head: Head, key: bytes) -> bool:
        """Whether the current file's complete lines after the head's last record are valid
        records that follow it one by one (what a write cut before its head leaves)."""
        expected_seq, expected_prev = head.last_seq + 1, head.last_mac
        lines = [line for line in self._file_lines(self.path) if line.complete]
        records = [_valid_record(line.data, key) for line in lines]
        after = [r for r in records if r is None or r["seq"] >= expected_seq]
        for record in after:
            if record is None or (record["seq"], record["prev"]) != (expected_seq, expected_prev):
                return False
            expected_seq, expected_prev = record["seq"] + 1, record["mac"]
        return bool(after)

    def _rotate(self, head: Head, key: bytes, trusted: bool) -> Head:
        files = self.files()  # oldest first, so no rename lands on a file still there
        targets = [1 if file == self.path else int(file.suffix[1:]) + 1 for file in files]
        expired = [
            file for file, target in zip(files, targets, strict=True) if target > self.keep_files
        ]
        if expired and trusted:
            boundary = _valid_record(_tail(expired[-1])[0], key)
            if boundary is not None and boundary["seq"] <= head.last_seq:
                head = head.starting_after(boundary["seq"], boundary["mac"])
                # Sealed before the deletion: a crash in between leaves extra old records
                # (incomplete), never a missing first part (tampered).
                self._write_head(head, key)
        for file, target in zip(files, targets, strict=True):
            if target > self.keep_files:
                file.unlink()
            else:
                os.replace(file, self.path.with_name(f"{self.path.name}.{target}"))
        return head

    def _write_line(self, data: bytes) -> None:
        append_private(self.path, data)  # on disk before the head that seals it

    def _write_head(self, head: Head, key: bytes) -> None:
        write_private(self.head_path, head.sealed(key))

    def _key_for_writing(self) -> bytes:
        if self._key is not None:
            return self._key
        key = self._read_key()
        if key is None:
            self._create_key()
            key = self._read_key()
        if key is None or len(key) != KEY_BYTES:
            raise AuditError(f"{self.key_path}: the audit key is damaged; the log is not written")
        self._key = key
        return key

    def _create_key(self) -> None:
        private_dir(self.key_path.parent)
        candidate = self.key_path.with_name(f".{self.key_path.name}.{secrets.token_hex(8)}")
        write_private(candidate, secrets.token_bytes(KEY_BYTES))
        try:
            # link never replaces: of two processes creating the key at once, one wins and
            # both go on with its key.
            with contextlib.suppress(FileExistsError):
                os.link(candidate, self.key_path)
        finally:
            candidate.unlink()

    def _read_key(self) -> bytes | None:
        try:
            return self.key_path.read_bytes()
        except FileNotFoundError:
            return None

    @contextlib.contextmanager
    def _lock(self, operation: int) -> Iterator[None]:
        try:
            descriptor = os.open(self.lock_path, os.O_RDONLY)
        except FileNotFoundError:
            if operation != fcntl.LOCK_EX:  # nothing was ever written: nothing to wait for
                yield
                return
            private_file(self.lock_path)
            descriptor = os.open(self.lock_path, os.O_RDONLY)
        try:
            fcntl.flock(descriptor, operation)
            yield
        finally:
            os.close(descriptor)  # releases the lock

    # Reading

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
            text = line.data.decode("utf-8", errors="replace")
            yield line.file, line.number, text + ("\n" if line.complete else "")

    def _lines(self) -> Iterator[_Line]:
        for file in self.files():
            yield from self._file_lines(file)

    @staticmethod
    def _file_lines(file: Path) -> Iterator[_Line]:
        parts = file.read_bytes().split(b"\n")
        for number, part in enumerate(parts[:-1], 1):
            yield _Line(file, number, part, complete=True)
        if parts[-1]:
            yield _Line(file, len(parts), parts[-1], complete=False)

    # Verifying

    def verify(self) -> VerifyResult:
        with self._lock(fcntl.LOCK_SH):
            return self._verify()

    def _verify(self) -> VerifyResult:
        lines = list(self._lines())
        if not self.head_path.exists():
            if lines:
                return _tampered(f"{self.head_path} is missing (deleted); the log holds records")
            if self.marker_path.exists():
                return _tampered(
                    f"{self.path}: the log and its head are gone, but {self.marker_path} "
                    "records that a sealed log was kept here (deleted)"
                )
            return VerifyResult("ok", 0, "0 records, chain intact")
        key = self._read_key()
        if key is None or len(key) != KEY_BYTES:
            return _tampered(f"{self.key_path}: the audit key is missing or damaged")
        head = Head.unseal(self.head_path.read_bytes(), key)
        if head is None:
            return _tampered(
                f"{self.head_path}: its seal does not match the key (changed, or rewritten "
                "without the key)"
            )
        return _ChainCheck(head, key, self.path).run(lines)


class _ChainCheck:
    """One pass over the lines, against the sealed head."""

    def __init__(self, head: Head, key: bytes, current: Path):
        self.head = head
        self.key = key
        self.current = current
        self.expected_seq = head.first_seq
        self.expected_prev = head.first_prev
        self.count = 0
        self.last: _Line | None = None
        self.notes: list[str] = []  # incomplete writes

    def run(self, lines: list[_Line]) -> VerifyResult:
        for index, line in enumerate(lines):
            if not line.complete:
                if index == len(lines) - 1 and line.file == self.current:
                    self.notes.append(f"{line.where}: a torn last line (a write cut short)")
                    break
                return self._bad(f"{line.where}: a torn line inside the log (changed)")
            problem = self._check(line)
            if problem is not None:
                return self._bad(problem)
        return self._finish()

    def _check(self, line: _Line) -> str | None:
        record = _parsed(line.data)
        if record is None:
            return f"{line.where}: not an audit record (changed or inserted)"
        seq = record["seq"]
        at = f"{line.where} (seq {seq})"
        if not _same(record["mac"], record_mac(self.key, record)):
            return f"{at}: its MAC does not match (changed, or forged without the key)"
        if self.count == 0 and seq < self.head.first_seq:
            self._note(f"{line.file}: old records a rotation cut short did not delete")
            return None
        if seq != self.expected_seq:
            if self.count == 0:
                return f"{at}: the log must start at seq {self.head.first_seq} (deleted or moved)"
            return f"{at}: expected seq {self.expected_seq} (removed, reordered or inserted)"
        if record["prev"] != self.expected_prev:
            return f"{at}: does not follow the record before it (changed, removed or reordered)"
        if seq == self.head.last_seq and record["mac"] != self.head.last_mac:
            return f"{at}: not the last record the head seals (changed)"
        if seq > self.head.last_seq:  # chained on, so written by a key holder: a cut write
            self._note(f"{at}: written but not yet sealed in the head")
        self.count += 1
        self.expected_seq, self.expected_prev = seq + 1, record["mac"]
        self.last = line
        return None

    def _finish(self) -> VerifyResult:
        last_seq = self.expected_seq - 1
        if last_seq < self.head.last_seq:
            if self.last is None:
                return self._bad(
                    f"{self.current}: the log is missing or empty, but its head seals "
                    f"{self.head.count} records (seq {self.head.first_seq}..{self.head.last_seq})"
                )
            return self._bad(
                f"{self.last.file}:{self.last.number + 1} (seq {last_seq + 1}): missing; the log "
                f"ends at seq {last_seq} but its head seals up to seq {self.head.last_seq} "
                "(the log was truncated)"
            )
        if self.notes:
            return VerifyResult("incomplete", self.count, "; ".join(self.notes))
        return VerifyResult("ok", self.count, f"{self.count} records, chain intact")

    def _note(self, note: str) -> None:
        if note not in self.notes:
            self.notes.append(note)

    def _bad(self, message: str) -> VerifyResult:
        return VerifyResult("tampered", self.count, message)


def _tampered(message: str) -> VerifyResult:
    return VerifyResult("tampered", 0, message)


def _parsed(data: bytes) -> dict[str, Any] | None:
    """The record in ``data`` when it has the shape of one, else None."""
    try:
        record = json.loads(data)
    except ValueError:
        return None
    if not isinstance(record, dict):
        return None
    seq, prev, mac = record.get("seq"), record.get("prev"), record.get("mac")
    if not isinstance(seq, int) or isinstance(seq, bool):
        return None
    if not isinstance(prev, str) or not isinstance(mac, str):
        return None
    return record


def _first_object(path: Path) -> dict[str, Any] | None:
    """The JSON object on the first line of ``path``, if it holds one."""
    with open(path, "rb") as stream:
        line = stream.readline()
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _valid_record(data: bytes | None, key: bytes) -> dict[str, Any] | None:
    record = _parsed(data) if data is not None else None
    if record is None or not _same(record["mac"], record_mac(key, record)):
        return None
    return record


def _tail(path: Path) -> tuple[bytes | None, int | None]:
    """The last complete line of ``path`` (None if none) and, when the file ends in a torn
    line (no newline), the offset where that line starts."""
    try:
        chunk, position = _end_of(path)
    except FileNotFoundError:
        return None, None
    torn_at = None
    if chunk and not chunk.endswith(b"\n"):
        cut = chunk.rfind(b"\n") + 1
        torn_at, chunk = position + cut, chunk[:cut]
    lines = chunk.split(b"\n")[:-1]
    complete = len(lines) > 1 or (len(lines) == 1 and position == 0)
    return (lines[-1] if complete else None), torn_at


def _end_of(path: Path) -> tuple[bytes, int]:
    """The end of ``path`` from far enough back to hold its last complete line, and the
    offset that end starts at."""
    with open(path, "rb") as stream:
        position = stream.seek(0, os.SEEK_END)
        chunk = b""
        while position > 0 and chunk.count(b"\n") < 2:
            step = min(65536, position)
            position -= step
            stream.seek(position)
            chunk = stream.read(step) + chunk
    return chunk, position
