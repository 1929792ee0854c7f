"""OpenAI's Responses API, streamed (Codex CLI).

What codex 0.171 reads (``codex-api/src/sse/responses.rs``): ``response.created``, then per
output item ``response.output_item.added`` (it opens the item; a text delta without one is
logged as "OutputTextDelta without active item"), ``response.output_text.delta`` and
``response.output_item.done`` (the whole item, which is what counts), then
``response.completed`` with the ``usage``. ``response.failed`` carries ``error.code``: codex
treats ``context_length_exceeded``, ``insufficient_quota`` and ``usage_not_included`` as final
and anything else (``server_error``) as retryable. A stream that ends without
``response.completed`` is an error ("stream closed before response.completed").
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from tests.realcli.mock.core import Call, Reply, Text, event, new_id


def _item(part: Text | Call, custom: set[str]) -> dict[str, Any]:
    """The finished output item for one part of the reply."""
    if isinstance(part, Text):
        return {
            "type": "message",
            "id": new_id("msg"),
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": part.text, "annotations": []}],
        }
    if part.name in custom:  # a freeform tool (apply_patch): its input is the text
        return {
            "type": "custom_tool_call",
            "id": new_id("ctc"),
            "call_id": new_id("call"),
            "name": part.name,
            "input": str(part.args.get("input", "")),
            "status": "completed",
        }
    return {
        "type": "function_call",
        "id": new_id("fc"),
        "call_id": new_id("call"),
        "name": part.name,
        "arguments": json.dumps(part.args),
        "status": "completed",
    }


def _opened(item: dict[str, Any]) -> dict[str, Any]:
    """The item as ``response.output_item.added`` announces it: no content yet."""
    if item["type"] == "message":
        return item | {"status": "in_progress", "content": []}
    if item["type"] == "function_call":
        return item | {"status": "in_progress", "arguments": ""}
    return item | {"status": "in_progress", "input": ""}


def _custom_tools(body: dict[str, Any]) -> set[str]:
    return {str(t.get("name")) for t in body.get("tools") or [] if t.get("type") == "custom"}


def stream(reply: Reply, model: str, body: dict[str, Any]) -> Iterator[str | None]:
    base = {
        "id": new_id("resp"),
        "object": "response",
        "model": model,
        "status": "in_progress",
        "output": [],
    }
    yield event("response.created", {"type": "response.created", "response": base})
    custom = _custom_tools(body)
    output = []
    for index, part in enumerate(reply.parts):
        item = _item(part, custom)
        added = {"type": "response.output_item.added", "output_index": index}
        yield event("response.output_item.added", added | {"item": _opened(item)})
        if isinstance(part, Text):
            delta = {
                "type": "response.output_text.delta",
                "item_id": item["id"],
                "output_index": index,
                "content_index": 0,
                "delta": part.text,
            }
            yield event("response.output_text.delta", delta)
        if reply.cut:  # the connection drops in the middle of the first item
            yield None
            return
        done = {"type": "response.output_item.done", "output_index": index, "item": item}
        yield event("response.output_item.done", done)
        output.append(item)
    if reply.cut:  # no parts: it drops right after response.created
        yield None
        return
    if reply.stream_error:
        error = {"code": "server_error", "message": reply.stream_error}
        failed = base | {"status": "failed", "error": error}
        yield event("response.failed", {"type": "response.failed", "response": failed})
        return
    usage = {
        "input_tokens": reply.input_tokens,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": reply.output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": reply.input_tokens + reply.output_tokens,
    }
    completed = base | {"status": "completed", "output": output, "usage": usage}
    yield event("response.completed", {"type": "response.completed", "response": completed})


def error(status: int, message: str) -> dict[str, Any]:
    """The error body of an HTTP failure, in OpenAI's shape."""
    kinds = {
        401: ("invalid_request_error", "invalid_api_key"),
        403: ("invalid_request_error", None),
        429: ("requests", "rate_limit_exceeded"),
    }
    kind, code = kinds.get(status, ("server_error", None))
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}
