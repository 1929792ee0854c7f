"""The audit log proves what happened: each kind of tampering is performed and caught, a crash
mid-write is told apart from tampering and repaired, and rotation keeps the proof."""

from __future__ import annotations

import hashlib
import json
import stat
import subprocess
import sys
from collections.abc import Callable
from multiprocessing import get_context
from pathlib import Path

import pytest

from agentls.audit import GENESIS, AuditLog, Head, record_mac


def filled(tmp_path: Path, count: int = 6, **options: int) -> AuditLog:
    log = AuditLog(tmp_path / "audit.log", key_path=tmp_path / "keys" / "audit.key", **options)
    for n in range(count):
        log.append("agent_invocation", agent="claude", n=n)
    return log


def lines(log: AuditLog) -> list[str]:
    return log.path.read_text().splitlines()


def write(log: AuditLog, new: list[str]) -> None:
    log.path.write_text("".join(line + "\n" for line in new))


def edit_middle(log: AuditLog) -> None:
    current = lines(log)
    record = json.loads(current[2])
    record["agent"] = "mallory"
    current[2] = json.dumps(record, sort_keys=True)
    write(log, current)


def delete_middle(log: AuditLog) -> None:
    current = lines(log)
    del current[2]
    write(log, current)


def reorder(log: AuditLog) -> None:
    current = lines(log)
    current[1], current[2] = current[2], current[1]
    write(log, current)


def forge(record: dict[str, object]) -> str:
    record["mac"] = hashlib.sha256(json.dumps(record).encode()).hexdigest()
    return json.dumps(record, sort_keys=True)


def insert_forged(log: AuditLog) -> None:
    current = lines(log)
    previous = json.loads(current[1])
    current.insert(2, forge({"seq": 3, "event": "nothing", "prev": previous["mac"]}))
    write(log, current)


def garbage_line(log: AuditLog) -> None:
    current = lines(log)
    current.insert(3, "}} not json {{")
    write(log, current)


def delete_first(log: AuditLog) -> None:
    write(log, lines(log)[2:])


def truncate_tail(log: AuditLog) -> None:
    write(log, lines(log)[:-2])


def edit_last(log: AuditLog) -> None:
    current = lines(log)
    current[-1] = current[-1].replace('"n":5', '"n":50')
    write(log, current)


def append_forged(log: AuditLog) -> None:
    last = json.loads(lines(log)[-1])
    write(log, [*lines(log), forge({"seq": last["seq"] + 1, "event": "x", "prev": last["mac"]})])


def append_made_up_mac(log: AuditLog) -> None:
    last = json.loads(lines(log)[-1])
    made_up = {**last, "seq": last["seq"] + 1, "prev": last["mac"], "mac": "ab" * 32}
    write(log, [*lines(log), json.dumps(made_up, sort_keys=True)])


def rewrite_chain(log: AuditLog) -> None:
    """The old format's forgery: a fresh chain of plain SHA-256 hashes."""
    previous, new = "0" * 64, []
    for n in range(3):
        record = {"seq": n + 1, "event": "request", "prev": previous}
        new.append(forge(record))
        previous = json.loads(new[-1])["mac"]
    write(log, new)


def delete_log(log: AuditLog) -> None:
    log.path.unlink()


def rewrite_with_another_key(log: AuditLog) -> None:
    """Every record and the head recomputed, consistently, under a key that is not the log's."""
    other, previous, new = b"k" * 32, GENESIS, []
    for line in lines(log):
        record = {**json.loads(line), "prev": previous}
        record["mac"] = previous = record_mac(other, record)
        new.append(json.dumps(record, sort_keys=True))
    write(log, new)
    head = Head(first_seq=1, first_prev=GENESIS, last_seq=len(new), last_mac=previous)
    log.head_path.write_bytes(head.sealed(other))


TAMPERING: dict[str, tuple[Callable[[AuditLog], None], str]] = {
    "a middle record edited": (edit_middle, "audit.log:3 (seq 3)"),
    "a middle record deleted": (delete_middle, "audit.log:3 (seq 4)"),
    "records reordered": (reorder, "audit.log:2 (seq 3)"),
    "a forged record inserted": (insert_forged, "audit.log:3 (seq 3)"),
    "a garbage line": (garbage_line, "audit.log:4"),
    "the first records deleted": (delete_first, "audit.log:1 (seq 3)"),
    "the tail truncated": (truncate_tail, "truncated"),
    "the last record edited": (edit_last, "audit.log:6 (seq 6)"),
    "a forged record appended": (append_forged, "audit.log:7 (seq 7)"),
    "a record appended with a made-up mac": (append_made_up_mac, "audit.log:7 (seq 7)"),
    "the whole chain rewritten": (rewrite_chain, "audit.log:1 (seq 1)"),
    "the log deleted": (delete_log, "the log is missing"),
    "the chain recomputed with another key": (rewrite_with_another_key, "seal does not match"),
}


@pytest.mark.parametrize("kind", list(TAMPERING))
def test_each_kind_of_tampering_is_caught_at_the_first_bad_record(
    kind: str, tmp_path: Path
) -> None:
    log = filled(tmp_path)
    assert log.verify().status == "ok"
    tamper, named = TAMPERING[kind]
    tamper(log)
    result = log.verify()
    assert result.status == "tampered" and not result.ok
    assert named in result.message, result.message


def test_an_intact_log_verifies_and_is_private(tmp_path: Path) -> None:
    log = filled(tmp_path)
    result = log.verify()
    assert result.status == "ok" and result.records == 6
    for path in (log.path, log.head_path, log.lock_path, log.key_path, log.marker_path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for folder in (log.path.parent, log.key_path.parent):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert log.files() == [log.path]  # the head and the lock are no rotated files


def test_a_new_log_verifies_empty(tmp_path: Path) -> None:
    result = AuditLog(tmp_path / "audit.log", key_path=tmp_path / "k").verify()
    assert result.status == "ok" and result.records == 0


def test_the_head_and_key_are_checked_too(tmp_path: Path) -> None:
    log = filled(tmp_path)
    head = json.loads(log.head_path.read_text())
    head["count"] = 3
    log.head_path.write_text(json.dumps(head))
    assert "seal does not match" in log.verify().message
    log.head_path.unlink()
    assert "is missing (deleted)" in log.verify().message
    other = filled(tmp_path / "other")
    other.key_path.write_bytes(b"k" * 32)  # a log recomputed under another key proves nothing
    assert other.verify().status == "tampered"


def test_a_torn_last_line_is_an_incomplete_write_the_next_append_repairs(
    tmp_path: Path,
) -> None:
    log = filled(tmp_path)
    with open(log.path, "a") as stream:
        stream.write('{"seq": 7, "event": "agent_inv')  # the crash came mid-line
    result = log.verify()
    assert result.status == "incomplete" and result.ok and result.records == 6
    log.append("request")
    assert log.verify().status == "ok" and log.verify().records == 7


def test_a_record_written_before_its_head_is_an_incomplete_write(tmp_path: Path) -> None:
    log = filled(tmp_path)
    head = log.head_path.read_bytes()
    log.append("agent_finished")
    log.head_path.write_bytes(head)  # the crash came between the record and its head
    assert log.verify().status == "incomplete"
    log.append("request")
    result = log.verify()
    assert result.status == "ok" and result.records == 8


def test_held_records_are_written_first_by_the_next_append_in_one_write(
    tmp_path: Path,
) -> None:
    log = filled(tmp_path, 2)
    log.hold("request", n="held 1")
    log.hold("run_started", n="held 2")
    assert len(lines(log)) == 2, "a held record waits in memory"
    log.append("agent_invocation", n="written")
    assert [json.loads(line)["n"] for line in lines(log)] == [0, 1, "held 1", "held 2", "written"]
    log.hold("run_finished")
    log.flush()
    log.flush()  # nothing left to write
    assert log.verify().status == "ok" and log.verify().records == 6


def test_a_write_of_several_records_cut_before_its_head_is_an_incomplete_write(
    tmp_path: Path,
) -> None:
    log = filled(tmp_path)
    head = log.head_path.read_bytes()
    log.hold("agent_finished")
    log.append("run_finished")
    log.head_path.write_bytes(head)  # the crash came between the records and their head
    result = log.verify()
    assert result.status == "incomplete" and "seq 7" in result.message
    log.append("request")
    result = log.verify()
    assert result.status == "ok" and result.records == 9


def test_rotation_keeps_the_proof_and_the_retention(tmp_path: Path) -> None:
    log = filled(tmp_path, 60, max_bytes=2048, keep_files=2)
    files = log.files()
    assert len(files) == 3 and files[-1] == log.path
    result = log.verify()
    assert result.status == "ok" and result.records < 60
    assert json.loads(files[0].read_text().splitlines()[0])["seq"] > 1
    files[1].unlink()  # a rotated file that is still accounted for
    assert log.verify().status == "tampered"


def test_a_log_from_before_sealing_is_set_aside(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    path.write_text('{"seq": 1, "event": "request", "prev": "' + "0" * 64 + '"}\n')
    log = AuditLog(path, key_path=tmp_path / "k")
    log.append("request")
    assert log.verify().status == "ok" and (tmp_path / "audit.log.unsealed").exists()


def _append_many(path: str, key: str) -> None:
    log = AuditLog(Path(path), key_path=Path(key))
    for n in range(25):
        log.append("request", n=n)


def test_writers_in_several_processes_keep_one_chain(tmp_path: Path) -> None:
    path, key = str(tmp_path / "audit.log"), str(tmp_path / "keys" / "audit.key")
    workers = [get_context("spawn").Process(target=_append_many, args=(path, key)) for _ in "1234"]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    result = AuditLog(Path(path), key_path=Path(key)).verify()
    assert result.status == "ok" and result.records == 100, result.message


def test_secrets_never_reach_the_log(tmp_path: Path) -> None:
    log = filled(tmp_path, 0)
    log.append("request", instruction="use key sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789")
    assert "sk-ant-api03" not in log.path.read_text() and "[REDACTED]" in log.path.read_text()


def test_the_verify_command_says_ok_incomplete_or_tampered(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.log")  # the key in the (isolated) state folder
    for n in range(4):
        log.append("request", n=n)
    command = [sys.executable, "-m", "agentls", "audit", "verify", "--path", str(log.path)]
    ok = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and "ok" in ok.stdout and "chain intact" in ok.stdout
    with open(log.path, "a") as stream:
        stream.write('{"seq": 5')
    torn = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert torn.returncode == 0 and "incomplete write" in torn.stdout
    log.append("request")
    write(log, [line.replace('"n":2', '"n":20') for line in lines(log)])
    bad = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and "tampered" in bad.stdout and "audit.log:3" in bad.stdout


def test_a_head_sealed_like_a_record_is_not_a_head(tmp_path: Path) -> None:
    log = filled(tmp_path)
    head = json.loads(log.head_path.read_text())
    head["mac"] = record_mac(log.key_path.read_bytes(), head)  # no head domain prefix
    log.head_path.write_text(json.dumps(head))
    assert log.verify().status == "tampered"


def test_a_deleted_oldest_rotated_file_is_caught(tmp_path: Path) -> None:
    log = filled(tmp_path, 60, max_bytes=2048, keep_files=2)
    log.files()[0].unlink()
    result = log.verify()
    assert result.status == "tampered" and "must start at seq" in result.message


def test_retention_moves_the_start_of_the_kept_chain(tmp_path: Path) -> None:
    log = filled(tmp_path, 60, max_bytes=2048, keep_files=2)
    head = json.loads(log.head_path.read_text())
    first = json.loads(log.files()[0].read_text().splitlines()[0])
    assert (head["first_seq"], head["first_prev"]) == (first["seq"], first["prev"])
    assert head["last_seq"] == 60 and head["count"] == log.verify().records


def test_no_rotated_files_kept(tmp_path: Path) -> None:
    log = filled(tmp_path, 30, max_bytes=512, keep_files=0)
    result = log.verify()
    assert log.files() == [log.path] and result.status == "ok" and 0 < result.records < 30


def test_a_rotation_cut_short_is_an_incomplete_write_the_next_append_repairs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = filled(tmp_path, 30, max_bytes=2048, keep_files=1)
    while not log.path.exists() or log.path.stat().st_size < log.max_bytes:
        log.append("request")

    def crash(self: Path, missing_ok: bool = False) -> None:
        raise RuntimeError("the process died here")

    with monkeypatch.context() as patched:
        patched.setattr(Path, "unlink", crash)
        with pytest.raises(RuntimeError):
            log.append("request")  # the head moved on, the oldest file is still there
    assert log.verify().status == "incomplete"
    log.append("request")
    assert log.verify().status == "ok" and len(log.files()) == 2


def test_a_deleted_log_and_head_are_caught_by_the_marker(tmp_path: Path) -> None:
    log = filled(tmp_path)
    log.path.unlink()
    log.head_path.unlink()
    assert log.verify().status == "tampered"
    log.append("request")  # a new record does not make a fresh, intact log of it
    assert log.verify().status == "tampered"


def test_a_forgery_in_the_old_format_is_not_set_aside_as_a_log_from_before(
    tmp_path: Path,
) -> None:
    log = filled(tmp_path)
    rewrite_chain(log)
    log.head_path.unlink()
    log.append("request")
    result = log.verify()
    assert result.status == "tampered" and "is missing (deleted)" in result.message
    assert not (tmp_path / "audit.log.unsealed").exists()


def test_tampering_stays_visible_after_the_next_append(tmp_path: Path) -> None:
    log = filled(tmp_path)
    truncate_tail(log)
    with open(log.path, "a") as stream:
        stream.write('{"seq": 5, "ev')  # a torn line after a cut tail is no crash: kept
    log.append("request")
    assert log.verify().status == "tampered"
    assert '{"seq": 5, "ev\n' in log.path.read_text()
    delete_log(log)
    log.append("request")
    assert log.verify().status == "tampered"


def test_the_torn_line_is_cut_by_the_next_append(tmp_path: Path) -> None:
    log = filled(tmp_path)
    with open(log.path, "a") as stream:
        stream.write('{"seq": 7, "torn')
    log.append("request")
    assert "torn" not in log.path.read_text() and len(lines(log)) == 7


def test_verify_writes_nothing(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "logs" / "audit.log", key_path=tmp_path / "keys" / "audit.key")
    assert log.verify().status == "ok"
    assert list(tmp_path.iterdir()) == []


def test_a_key_made_by_another_process_first_is_kept(tmp_path: Path) -> None:
    log = filled(tmp_path, 1)
    key = log.key_path.read_bytes()
    log._create_key()  # lost the race: the key already there stays
    assert log.key_path.read_bytes() == key and list(log.key_path.parent.glob(".*")) == []
    assert log.verify().status == "ok"


def test_fields_the_log_sets_itself_are_refused(tmp_path: Path) -> None:
    log = filled(tmp_path, 0)
    with pytest.raises(ValueError, match="seq"):
        log.append("request", seq=1)
