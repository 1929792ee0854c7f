from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from agentls.audit import AuditLog


def filled(tmp_path: Path, count: int = 5, **options: int) -> AuditLog:
    log = AuditLog(tmp_path / "audit.log", **options)
    for n in range(count):
        log.append("agent_invocation", agent="claude", n=n)
    return log


def test_an_intact_chain_verifies(tmp_path: Path) -> None:
    result = filled(tmp_path).verify()
    assert result.ok and result.records == 5


def test_a_changed_record_is_caught_at_the_next_record(tmp_path: Path) -> None:
    log = filled(tmp_path)
    lines = log.path.read_text().splitlines()
    record = json.loads(lines[2])
    record["agent"] = "mallory"
    lines[2] = json.dumps(record, sort_keys=True)
    log.path.write_text("\n".join(lines) + "\n")
    result = log.verify()
    assert not result.ok and f"{log.path}:4" in result.message and "(seq 4)" in result.message


def test_a_removed_record_is_caught(tmp_path: Path) -> None:
    log = filled(tmp_path)
    lines = log.path.read_text().splitlines()
    del lines[1]
    log.path.write_text("\n".join(lines) + "\n")
    result = log.verify()
    assert not result.ok and f"{log.path}:2" in result.message


def test_reordered_records_are_caught(tmp_path: Path) -> None:
    log = filled(tmp_path)
    lines = log.path.read_text().splitlines()
    lines[1], lines[2] = lines[2], lines[1]
    log.path.write_text("\n".join(lines) + "\n")
    assert not log.verify().ok


def test_rotation_keeps_the_chain_and_the_retention(tmp_path: Path) -> None:
    log = filled(tmp_path, 60, max_bytes=2048, keep_files=2)
    files = log.files()
    assert len(files) == 3 and files[-1] == log.path  # two rotated files and the current one
    result = log.verify()
    assert result.ok and result.records < 60  # the oldest files were deleted
    first_kept = json.loads(files[0].read_text().splitlines()[0])
    assert first_kept["seq"] > 1


def test_secrets_never_reach_the_log(tmp_path: Path, monkeypatch: object) -> None:
    log = AuditLog(tmp_path / "audit.log")
    log.append("request", instruction="use key sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789")
    assert "sk-ant-api03" not in log.path.read_text()
    assert "[REDACTED]" in log.path.read_text()


def test_the_verify_command_names_the_tampered_record(tmp_path: Path) -> None:
    log = filled(tmp_path)
    command = [sys.executable, "-m", "agentls", "audit", "verify", "--path", str(log.path)]
    ok = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and "chain intact" in ok.stdout
    lines = log.path.read_text().splitlines()
    lines[3] = lines[3].replace('"n": 3', '"n": 30')
    log.path.write_text("\n".join(lines) + "\n")
    bad = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and "audit.log:5" in bad.stdout
