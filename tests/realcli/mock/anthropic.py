"""Anthropic's Messages API, streamed (Claude Code)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from tests.realcli.mock.core import Call, Reply, Text, event, new_id

_NO_CACHE = {"cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
"""The API always sends these; claude-agent-acp sums them into its ``usage_update``."""


def _blocks(reply: Reply) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    for part in reply.parts:
        if isinstance(part, Text):
            blocks.append({"type": "text", "text": part.text})
        else:
            blocks.append(
                {"type": "tool_use", "id": new_id("toolu"), "name": part.name, "input": part.args}
            )
    return blocks


def _stop(reply: Reply) -> str:
    return "tool_use" if any(isinstance(p, Call) for p in reply.parts) else "end_turn"


def message(reply: Reply, model: str) -> dict[str, Any]:
    return {
        "id": new_id("msg"),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": _blocks(reply),
        "stop_reason": _stop(reply),
        "stop_sequence": None,
        "usage": {
            "input_tokens": reply.input_tokens,
            "output_tokens": reply.output_tokens,
            **_NO_CACHE,
        },
    }


def stream(reply: Reply, model: str, body: dict[str, Any]) -> Iterator[str | None]:
    start = message(reply, model) | {"content": [], "stop_reason": None}
    start["usage"] = {"input_tokens": reply.input_tokens, "output_tokens": 1, **_NO_CACHE}
    yield event("message_start", {"type": "message_start", "message": start})
    for index, block in enumerate(_blocks(reply)):
        if block["type"] == "text":
            opening = {"type": "text", "text": ""}
            delta = {"type": "text_delta", "text": block["text"]}
        else:
            opening = {**block, "input": {}}
            delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
        yield event(
            "content_block_start",
            {"type": "content_block_start", "index": index, "content_block": opening},
        )
        yield event(
            "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
        )
        if reply.cut:
            yield None
            return
        yield event("content_block_stop", {"type": "content_block_stop", "index": index})
    if reply.stream_error:
        error = {"type": "api_error", "message": reply.stream_error}
        yield event("error", {"type": "error", "error": error})
        return
    yield event(
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": _stop(reply), "stop_sequence": None},
            "usage": {"output_tokens": reply.output_tokens},
        },
    )
    yield event("message_stop", {"type": "message_stop"})


def error(status: int, message: str) -> dict[str, Any]:
    kinds = {
        401: "authentication_error",
        403: "permission_error",
        429: "rate_limit_error",
        529: "overloaded_error",
    }
    return {"type": "error", "error": {"type": kinds.get(status, "api_error"), "message": message}}
