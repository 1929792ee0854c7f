"""Secrets never leave redacted form: every encoding an agent might echo a key in, and every
place agentls keeps, prints or shows what an agent said."""

from __future__ import annotations

import base64
import json
import os
import re
import sqlite3
import stat
import zlib
from pathlib import Path
from typing import ClassVar
from urllib.parse import quote, quote_plus

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from agentls.adapters.command import CommandAdapter
from agentls.domain.results import Finding, TaskKind, TaskResult, WorkflowResult
from agentls.orchestration.report import workflow_json, workflow_json_text
from agentls.redaction import (
    REDACTED,
    Redactor,
    encoded_forms,
    redact,
    register,
    secret_values,
)
from tests.cli.test_cli import agentls
from tests.conftest import Scenario, write_trusted

SECRET = "test-credential-value-1234"  # what the `credentials` fixture puts in every key
SECRET_BYTES = SECRET.encode()


def echoed(secret: str) -> dict[str, str]:
    """The forms an agent might print a key in."""
    raw = secret.encode()
    return {
        "plain": secret,
        "base64": base64.b64encode(raw).decode(),
        "base64 without padding": base64.b64encode(raw).decode().rstrip("="),
        "urlsafe base64": base64.urlsafe_b64encode(raw).decode(),
        "in a longer base64 text, offset 1": base64.b64encode(b"x" + raw + b"y").decode(),
        "in a longer base64 text, offset 2": base64.b64encode(b"xy" + raw + b"z").decode(),
        "url-encoded": quote(secret, safe=""),
        "form-encoded": quote_plus(secret),
        "hex": raw.hex(),
        "HEX": raw.hex().upper(),
    }


def leaks(text: str, secret: str = SECRET) -> list[str]:
    """Which form of ``secret`` survives in ``text``: the secret itself, its hex, or base64 that
    decodes (at any alignment) to a text holding at least 6 of its bytes in a row."""
    found = [name for name in ("plain", "hex", "HEX") if echoed(secret)[name] in text]
    raw = secret.encode()
    pieces = {raw[i : i + 6] for i in range(len(raw) - 5)}
    for run in _base64_runs(text):
        for start in range(4):
            chunk = run[start:]
            chunk = chunk[: len(chunk) // 4 * 4]
            for decode in (base64.b64decode, base64.urlsafe_b64decode):
                try:
                    decoded = decode(chunk)
                except ValueError:
                    continue
                if any(piece in decoded for piece in pieces):
                    found.append(f"base64 {run!r}")
    return found


def _base64_runs(text: str) -> list[str]:
    return re.findall(r"[A-Za-z0-9+/_-]{8,}", text)


@pytest.mark.parametrize("form", list(echoed(SECRET)))
def test_every_form_of_a_credential_is_redacted(form: str) -> None:
    text = f"the key is {echoed(SECRET)[form]} ok"
    redacted = Redactor([SECRET]).text(text)
    assert REDACTED in redacted and not leaks(redacted)
    assert redacted.startswith("the key is ") and redacted.endswith(" ok")


def test_credential_variables_are_found_by_name_and_by_adapter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SERVICE_PASSWORD", "hunter2-hunter2")
    monkeypatch.setenv("ACME_AUTH", "acme-auth-value-99")
    monkeypatch.setenv("SHORT_TOKEN", "abc")  # too short to redact without breaking text
    monkeypatch.setenv("HOME_PAGE", "https://example.com/")
    assert "hunter2-hunter2" in secret_values() and "acme-auth-value-99" not in secret_values()

    class AcmeAdapter(CommandAdapter):  # defining it registers its credential variable
        name = "acme-test"
        credential_env: ClassVar[tuple[str, ...]] = ("ACME_AUTH",)

    assert "acme-auth-value-99" in secret_values()
    assert redact("acme-auth-value-99 abc https://example.com/") == (
        f"{REDACTED} abc https://example.com/"
    )


def test_registered_set_env_values_are_secrets() -> None:
    register(["set-env-secret-value"])
    assert redact(base64.b64encode(b"set-env-secret-value").decode()) == REDACTED
    register(["tiny"])  # a value under 8 characters would redact ordinary words
    assert redact("tiny") == "tiny"


def test_a_whole_task_result_is_redacted() -> None:
    result = TaskResult(
        agent="claude",
        task=TaskKind.REVIEW,
        status="ok",
        text=f"echo {SECRET}",
        findings=[
            Finding(path="a.py", line=1, message=echoed(SECRET)["base64"], suggestion=SECRET)
        ],
    )
    redacted = Redactor([SECRET]).model(result)
    assert not leaks(redacted.model_dump_json())
    assert redacted.findings[0].suggestion == REDACTED and redacted.agent == "claude"


printable = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=8, max_size=40)
padding = st.binary(max_size=8)


@given(secret=printable, before=padding, after=padding)
def test_base64_at_any_alignment_never_carries_the_secret(
    secret: str, before: bytes, after: bytes
) -> None:
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        text = encode(before + secret.encode() + after).decode()
        assert not leaks(Redactor([secret]).text(text), secret)


@given(secret=printable, before=st.text(max_size=20), after=st.text(max_size=20))
def test_plain_url_and_hex_forms_never_survive(secret: str, before: str, after: str) -> None:
    redactor = Redactor([secret])
    for form in (secret, quote(secret, safe=""), quote_plus(secret), secret.encode().hex()):
        assert form not in redactor.text(before + form + after)


any_secret = st.text(min_size=8, max_size=30).filter(lambda s: "\0" not in s)


@given(secret=any_secret, data=st.data())
def test_values_and_json_are_redacted_like_each_of_their_strings(
    secret: str, data: st.DataObject
) -> None:
    """The JSON shortcut (one search of the dumped value) never skips a string the walk would
    redact: any form of any secret (quotes, backslashes, control and non-ASCII characters
    included), anywhere in a value, a key included."""
    redactor = Redactor([secret])
    forms = sorted(encoded_forms(secret))
    form = data.draw(st.sampled_from(forms))
    text = data.draw(st.text(max_size=10)) + form + data.draw(st.text(max_size=10))
    value = data.draw(
        st.sampled_from(
            [
                text,
                [1, {"message": text}],
                {text: None},
                ("a", [text], 2.5),
            ]
        )
    )
    walked = redactor._value(value)
    assert walked != value  # the walk finds it...
    assert redactor.value(value) == walked  # ...and so does the shortcut
    for ascii in (True, False):
        assert json.loads(redactor.json(value, ensure_ascii=ascii)) == json.loads(
            json.dumps(walked)
        )


@given(text=st.text(alphabet=" abc\n.", max_size=200))
def test_text_without_secrets_is_left_alone(text: str) -> None:
    assert Redactor(["Zq9-Zq9-Zq9-Zq9"]).text(text) == text


# -- every exit, through the real CLI -------------------------------------------------------


def private(path: Path) -> bool:
    return stat.S_IMODE(path.stat().st_mode) in (0o600, 0o700)


def everything_echoed() -> str:
    forms = "\n".join(f"{name}: {form}" for name, form in echoed(SECRET).items())
    finding = {"line": 2, "severity": "warning", "message": f"key {SECRET}", "code": "K1",
               "suggestion": f"    key = {echoed(SECRET)['base64']!r}\n"}  # fmt: skip
    return f"{forms}\n```json\n{json.dumps({'findings': [finding]})}\n```\n"


@pytest.mark.usefixtures("credentials")
def test_an_echoed_key_is_stored_and_printed_redacted(workspace: Path, scenario: Scenario) -> None:
    scenario("ok", reply=everything_echoed())
    done = agentls("exec", "claude", "calc.py:1-2", "--task", "review", "--json", cwd=workspace)
    assert done.returncode == 0, done.stderr
    assert REDACTED in done.stdout and not leaks(done.stdout)
    again = agentls("exec", "claude", "calc.py:1-2", "--task", "review", "--json", cwd=workspace)
    cached = json.loads(again.stdout)
    fresh = {**json.loads(done.stdout), "cached": True, "containment": None}  # no agent ran
    assert cached == fresh  # from the cache, still redacted

    config = yaml.safe_load((workspace / ".agentls.yaml").read_text())
    config["workflows"] = {"one": {"steps": [{"agent": "claude", "task": "review"}]}}
    write_trusted(workspace / ".agentls.yaml", yaml.safe_dump(config))
    run = agentls(
        "run", "one", "calc.py", "--json", "--instruction", f"use {SECRET}", cwd=workspace
    )
    assert run.returncode == 0, run.stderr
    assert REDACTED in run.stdout and not leaks(run.stdout)
    history = agentls("history", "--json", cwd=workspace)
    assert not leaks(history.stdout)

    state = Path(os.environ["XDG_STATE_HOME"]) / "agentls"
    files = [state, *state.rglob("*")]
    stored = [p for p in files if p.suffix == ".sqlite"]
    assert {p.name for p in stored} == {"cache.sqlite", "history.sqlite"}
    for path in files:
        assert private(path), f"{path} is {oct(path.stat().st_mode)}"
        if path.is_file():
            assert not leaks(path.read_bytes().decode("utf-8", "replace")), path
    with sqlite3.connect(next(p for p in stored if p.name == "history.sqlite")) as db:
        rows = db.execute("select result from turns").fetchall()
    results = [zlib.decompress(raw).decode() for (raw,) in rows]
    assert results and not any(leaks(result) for result in results)  # stored compressed


def test_the_json_report_holds_no_secret_whatever_the_result_held(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A result that reached the report unredacted (none should) is redacted there too, and
    text in it that looks like the report's own placeholder stays text."""
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    findings = [
        Finding(path="a.py", line=1, message=f"key {SECRET}", suggestion=echoed(SECRET)["base64"]),
        Finding(path="b.py", line=2, message='findings 0123456789abcdef"}, "run_id": "x'),
    ]
    result = WorkflowResult(
        run_id="r1", workflow="w", status="ok", stop_reason="completed", findings=findings,
        summary=f"w: ok with {SECRET}",
    )  # fmt: skip
    text = workflow_json_text(result, applied=["a.py"])
    assert not leaks(text) and REDACTED in text
    shown = json.loads(text)
    assert shown["applied"] == ["a.py"] and shown["findings"][1]["message"] == findings[1].message
    clean = result.model_copy(update={"findings": findings[1:], "summary": "w: ok"})
    assert json.loads(workflow_json_text(clean)) == workflow_json(clean)


def test_config_show_never_prints_set_env_values(workspace: Path) -> None:
    config = yaml.safe_load((workspace / ".agentls.yaml").read_text())
    config["agents"] = {"claude": {"set_env": {"ANTHROPIC_BASE_URL": "http://127.0.0.1:9/x"}}}
    write_trusted(workspace / ".agentls.yaml", yaml.safe_dump(config))
    shown = agentls("config", "show", cwd=workspace)
    assert shown.returncode == 0, shown.stderr
    assert "127.0.0.1:9" not in shown.stdout
    assert yaml.safe_load(shown.stdout)["agents"]["claude"]["set_env"] == {
        "ANTHROPIC_BASE_URL": REDACTED
    }
