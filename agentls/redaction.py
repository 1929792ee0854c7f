"""Secret redaction for anything agentls logs, reports, stores, prints or sends to an editor.

The secrets are the values of credential variables (names with KEY, TOKEN, SECRET, PASSWORD,
CREDENTIAL, and each adapter's own credential variables), the values agentls itself hands an
agent (``set_env``, once registered), and API-key shapes. An agent can echo a key encoded, so
each secret is also matched in base64 (standard and URL-safe, padded or not, at any of the
three alignments it can have inside a longer base64 text), URL-encoded, JSON-escaped and hex.
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote, quote_plus

if TYPE_CHECKING:  # loaded with the first model redacted: a log line needs no pydantic
    from pydantic import BaseModel

REDACTED = "[REDACTED]"

_KEY_SHAPES = re.compile(
    r"""
    sk-ant-[A-Za-z0-9_-]{16,}        # Anthropic
    | sk-(?:proj-)?[A-Za-z0-9_-]{20,}  # OpenAI
    | gh[pousr]_[A-Za-z0-9]{20,}       # GitHub tokens
    | github_pat_[A-Za-z0-9_]{20,}
    | AIza[0-9A-Za-z_-]{30,}           # Google API keys
    | xox[abprs]-[A-Za-z0-9-]{10,}     # Slack
    | AKIA[0-9A-Z]{16}                 # AWS access key ids
    """,
    re.VERBOSE,
)
_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL", re.IGNORECASE)
MIN_SECRET_LEN = 8
_MAX_LOGGED_ARG = 200
# An encoded fragment shorter than this could match ordinary text by chance.
_MIN_FORM_LEN = 8

_registered_values: set[str] = set()
_registered_names: set[str] = set()

Value = TypeVar("Value")
Model = TypeVar("Model", bound="BaseModel")


def register(values: Iterable[str] = (), names: Iterable[str] = ()) -> None:
    """Secrets this process knows beyond the credential-like variables: values agentls gives
    agents (``set_env``) and the names of the adapters' credential variables."""
    _registered_values.update(value for value in values if len(value) >= MIN_SECRET_LEN)
    _registered_names.update(names)


def secret_values(environ: Mapping[str, str] | None = None) -> list[str]:
    """Every known secret, longest first so overlapping values redact fully."""
    source = os.environ if environ is None else environ
    values = {
        value
        for name, value in source.items()
        if len(value) >= MIN_SECRET_LEN and (_secret_name(name) or name in _registered_names)
    }
    return sorted(values | _registered_values, key=len, reverse=True)


@lru_cache(maxsize=4096)
def _secret_name(name: str) -> bool:
    return _SECRET_NAME.search(name) is not None


def encoded_forms(secret: str) -> set[str]:
    """``secret`` and the encodings an agent's output might carry it in."""
    raw = secret.encode("utf-8")
    forms = {secret, raw.hex(), raw.hex().upper()}
    forms |= {json.dumps(secret, ensure_ascii=ascii)[1:-1] for ascii in (True, False)}
    for url in (quote(secret, safe=""), quote_plus(secret), quote(secret)):
        forms |= {url, re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), url)}
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        whole = encode(raw).decode("ascii")
        forms |= {whole, whole.rstrip("=")}
        for skip in range(3):
            # Inside a longer base64 text the secret starts at one of three offsets within a
            # 3-byte group; its bytes from the next group boundary encode the same every time.
            rest = raw[skip:]
            core = rest[: len(rest) // 3 * 3]
            forms.add(encode(core).decode("ascii"))
    return {form for form in forms if len(form) >= _MIN_FORM_LEN}


@lru_cache(maxsize=64)
def _pattern(secrets: frozenset[str], in_json: bool = False) -> re.Pattern[str] | None:
    """Any encoded form of ``secrets``; ``in_json``: as a JSON text escapes it."""
    forms = {form for secret in secrets for form in encoded_forms(secret)}
    if in_json:
        forms = {json.dumps(form, ensure_ascii=a)[1:-1] for form in forms for a in (True, False)}
    if not forms:
        return None
    return re.compile("|".join(re.escape(form) for form in sorted(forms, key=len, reverse=True)))


class Redactor:
    """Redacts a fixed set of secrets (and key shapes) from text, values and models."""

    def __init__(self, secrets: Iterable[str]) -> None:
        known = frozenset(s for s in secrets if len(s) >= MIN_SECRET_LEN)
        self._pattern = _pattern(known)
        self._json_pattern = _pattern(known, in_json=True)

    @classmethod
    def current(cls) -> Redactor:
        """The secrets of this environment and those registered so far."""
        return cls(secret_values())

    def text(self, text: str) -> str:
        if self._pattern is not None:
            text = self._pattern.sub(REDACTED, text)
        return _KEY_SHAPES.sub(REDACTED, text)

    def value(self, value: Value) -> Value:
        """Strings anywhere inside dicts, lists and tuples redacted (keys included); ``value``
        itself when its JSON shows none holds a secret."""
        try:
            clean = not self.finds_in_json(json.dumps(value, ensure_ascii=False))
        except (TypeError, ValueError):  # a model or another object inside: no shortcut
            clean = False
        return value if clean else self._value(value)

    def json(self, value: Any, **options: Any) -> str:
        """``json.dumps(value, **options)``, every string in it redacted."""
        text = json.dumps(value, **options)
        return json.dumps(self._value(value), **options) if self.finds_in_json(text) else text

    def _value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self._value(key): self._value(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self._value(item) for item in value)
        if value is None or isinstance(value, int | float):  # the common rest: no import
            return value
        from pydantic import BaseModel

        if isinstance(value, BaseModel):
            return self.model(value)
        return value

    def model(self, model: Model) -> Model:
        """A copy of ``model`` with every string field redacted; ``model`` itself when its
        JSON holds no secret in any form (a secret in a string is in its JSON, escaped as
        ``encoded_forms`` has it)."""
        if not self.finds(model.model_dump_json()):
            return model
        return type(model).model_validate(self._value(model.model_dump(mode="json")))

    def model_json(self, model: BaseModel, **options: Any) -> str:
        """``model.model_dump_json(**options)``, every string field redacted (dumped once
        where none holds a secret)."""
        text = model.model_dump_json(**options)
        return self.model(model).model_dump_json(**options) if self.finds(text) else text

    def finds_in_json(self, text: str) -> bool:
        """Whether a string in the JSON ``text`` may hold a secret. JSON escapes character
        by character, so a form in a string is in the text escaped; key shapes need no
        escaping."""
        if self._json_pattern is not None and self._json_pattern.search(text):
            return True
        return _KEY_SHAPES.search(text) is not None

    def finds(self, text: str) -> bool:
        """Whether ``text`` holds a secret: whether ``self.text`` would change it."""
        if self._pattern is not None and self._pattern.search(text):
            return True
        return _KEY_SHAPES.search(text) is not None


def redact(text: str, secrets: Iterable[str] | None = None) -> str:
    return (Redactor.current() if secrets is None else Redactor(secrets)).text(text)


def redact_value(value: Value) -> Value:
    return Redactor.current().value(value)


def redact_argv(argv: Iterable[str]) -> list[str]:
    """argv fit for a log line: secrets redacted, long arguments (prompts) elided."""
    redactor = Redactor.current()
    shown = []
    for arg in argv:
        if len(arg) > _MAX_LOGGED_ARG:
            shown.append(f"<{len(arg)} characters>")
        else:
            shown.append(redactor.text(arg))
    return shown
