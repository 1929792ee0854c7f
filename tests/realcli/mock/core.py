"""A model API on 127.0.0.1 for the real agent CLIs, answering from a script.

One server speaks the four wire formats the CLIs use, each streamed as server-sent events:
Anthropic's Messages API (Claude Code), OpenAI's Responses API (Codex), Gemini's
``streamGenerateContent`` (Gemini CLI) and OpenAI's Chat Completions (Copilot CLI's
bring-your-own-key provider). A test scripts what "the model" answers, in a format-neutral
way (``Reply`` of ``Text`` and ``Call`` parts, or a ``Failure``), and reads back every request
a CLI made (``requests``), so it can assert on what the CLI sent: the tools it offered, the
earlier turns of a resumed session, the headers.

Requests that are not the agent's own turn (Claude's title and quota probes, Gemini's model
routing, token counts, model lists) are answered with short canned replies and do not use up
the script. Standard library only; each test gets its own server on port 0.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Call:
    """A tool call, with the tool's name and arguments as the CLI declared them."""

    name: str
    args: dict[str, Any]


@dataclass(frozen=True)
class Reply:
    parts: tuple[Text | Call, ...]
    input_tokens: int = 100
    output_tokens: int = 20
    cut: bool = False
    """The stream stops before its end (no completion event), as a dropped connection does."""
    stream_error: str | None = None
    """An error event inside a 200 stream (Responses' ``response.failed``), after the parts."""
    delay_s: float = 0.0
    """Seconds before the first byte: a hang, when longer than the CLI waits."""


@dataclass(frozen=True)
class Failure:
    """An HTTP error in the provider's own error shape."""

    status: int
    message: str = ""
    retry: bool = True
    """False sends ``x-should-retry: false`` (Claude Code then gives up at once)."""


Answer = Reply | Failure | Callable[["Recorded"], "Reply | Failure"]
"""A reply, a failure, or a function of the request that makes one (to name a file by the
absolute path the CLI works in, say)."""


def say(*parts: str | Call, **fields: Any) -> Reply:
    """A reply of text (``str``) and tool calls, in order."""
    return Reply(tuple(Text(p) if isinstance(p, str) else p for p in parts), **fields)


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    provider: str
    main: bool
    """The agent's own turn (it used up the script), not a side request."""


@dataclass
class MockModelAPI:
    """The server's state: the script, what was asked, and where it listens."""

    host: str = "127.0.0.1"
    port: int = 0
    requests: list[Recorded] = field(default_factory=list)
    _script: deque[Answer] = field(default_factory=deque)
    _always: Answer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def script(self, *answers: Answer | str) -> None:
        """What the next turns answer, in order; a ``str`` is a text reply. When the script
        runs out, each turn answers "Done."."""
        with self._lock:
            self._script.extend(say(a) if isinstance(a, str) else a for a in answers)

    def always(self, answer: Answer | None) -> None:
        """Every turn answers this (a persistent outage), until set to None."""
        with self._lock:
            self._always = answer

    def turns(self) -> list[Recorded]:
        return [r for r in self.requests if r.main]

    def _next(self) -> Answer:
        with self._lock:
            if self._always is not None:
                return self._always
            return self._script.popleft() if self._script else say("Done.")

    def start(self) -> MockModelAPI:
        api = self

        class Handler(_Handler):
            mock = api

        self._server = ThreadingHTTPServer((self.host, 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


_ids = itertools.count(1)


def new_id(prefix: str) -> str:
    return f"{prefix}_{next(_ids):06d}"


class _Handler(BaseHTTPRequestHandler):
    mock: MockModelAPI
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        self._record("GET", path, {}, "models", main=False)
        if path.endswith("/models"):
            models = [{"id": "mock-model", "object": "model", "created": 0, "owned_by": "mock"}]
            self._json(200, {"object": "list", "data": models, "models": []})
        else:
            self._json(404, {"error": {"message": f"no {path} here"}})

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        body = self._body()
        provider, main = _classify(path, body)
        recorded = self._record("POST", path, body, provider, main)
        if not main:
            self._side(provider, path, body)
            return
        answer = self.mock._next()
        if callable(answer):
            answer = answer(recorded)
        if isinstance(answer, Failure):
            self._failure(provider, answer)
            return
        if answer.delay_s:
            time.sleep(answer.delay_s)
        stream = _wire(provider).stream
        model = str(body.get("model") or _gemini_model(path) or "mock-model")
        self._sse(stream(answer, model, body))

    # -- requests ------------------------------------------------------------------------

    def _body(self) -> dict[str, Any]:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                data += self.rfile.read(size)
                self.rfile.readline()
        else:
            data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            value = json.loads(data or b"{}")
        except ValueError:
            return {"_raw": data.decode("utf-8", "replace")}
        return value if isinstance(value, dict) else {"_value": value}

    def _record(
        self, method: str, path: str, body: dict[str, Any], provider: str, main: bool
    ) -> Recorded:
        headers = {k.lower(): v for k, v in self.headers.items()}
        recorded = Recorded(method, path, headers, body, provider, main)
        self.mock.requests.append(recorded)
        return recorded

    # -- responses -----------------------------------------------------------------------

    def _json(self, status: int, value: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, text in (headers or {}).items():
            self.send_header(name, text)
        self.end_headers()
        self.wfile.write(data)

    def _sse(self, events: Iterator[str | None]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for event in events:
                if event is None:  # a cut: the connection drops mid-stream
                    self.close_connection = True
                    self.wfile.flush()
                    return
                data = event.encode()
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _failure(self, provider: str, failure: Failure) -> None:
        message = failure.message or _REASONS.get(failure.status, "error")
        headers = {} if failure.retry else {"x-should-retry": "false"}
        if failure.status == 429:
            headers["retry-after"] = "1"
        self._json(failure.status, _wire(provider).error(failure.status, message), headers)

    def _side(self, provider: str, path: str, body: dict[str, Any]) -> None:
        if path.endswith("count_tokens") or path.endswith(":countTokens"):
            self._json(200, {"input_tokens": 10, "totalTokens": 10})
            return
        if provider == "gemini" and path.endswith(":generateContent"):
            self._json(200, _wire("gemini").side(body))  # JSON its response schema asks for
            return
        side = say("Mock")
        if body.get("stream") is False or (provider == "anthropic" and not body.get("stream")):
            self._json(
                200, _wire("anthropic").message(side, str(body.get("model") or "mock-model"))
            )
            return
        model = str(body.get("model") or "mock-model")
        self._sse(_wire(provider).stream(side, model, body))


_REASONS = {
    400: "bad request",
    401: "invalid x-api-key",
    403: "permission denied",
    404: "not found",
    429: "rate limit exceeded",
    500: "internal server error",
    503: "service unavailable",
    529: "overloaded",
}


def _classify(path: str, body: dict[str, Any]) -> tuple[str, bool]:
    """Which wire format a request speaks, and whether it is the agent's own turn."""
    if "/messages" in path:
        main = (
            path.endswith("/messages") and bool(body.get("tools")) and body.get("max_tokens", 2) > 1
        )
        return "anthropic", main
    if path.endswith("/responses"):
        return "responses", True
    if "/models/" in path and ":" in path:
        return "gemini", path.endswith(":streamGenerateContent")
    if path.endswith("/chat/completions"):
        return "chat", bool(body.get("tools"))
    return "unknown", False


def _gemini_model(path: str) -> str | None:
    match = re.search(r"/models/([^/:]+):", path)
    return match[1] if match else None


def event(name: str | None, value: Any) -> str:
    head = f"event: {name}\n" if name else ""
    return f"{head}data: {json.dumps(value)}\n\n"


def _wire(provider: str) -> ModuleType:
    """The module that speaks ``provider``'s wire format: ``stream`` and ``error``."""
    from tests.realcli.mock import anthropic, chat, gemini, responses

    modules = {"anthropic": anthropic, "responses": responses, "gemini": gemini, "chat": chat}
    return modules.get(provider, responses)
