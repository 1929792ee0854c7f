"""OpenAI's Chat Completions, streamed (Copilot CLI's bring-your-own-key provider).

As copilot 1.0.102 reads it (``COPILOT_PROVIDER_WIRE_API=completions``, the default): chunks of
``chat.completion.chunk``, tool calls streamed in pieces, the usage in a last chunk without
choices (it asks with ``stream_options.include_usage``), then ``[DONE]``. An error inside the
stream is a bare ``{"error": ...}`` chunk; copilot retries it like a failed request. A
``Failure`` with ``retry=False`` sends ``x-should-retry: false``, which stops copilot's own
retries (five, with backoff) at once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from tests.realcli.mock import responses
from tests.realcli.mock.core import Reply, Text, event, new_id


def stream(reply: Reply, model: str, body: dict[str, Any]) -> Iterator[str | None]:
    chat_id = new_id("chatcmpl")

    def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return event(
            None,
            {
                "id": chat_id,
                "object": "chat.completion.chunk",
                "created": 0,
                "model": model,
                "choices": [choice],
            },
        )

    yield chunk({"role": "assistant", "content": ""})
    calls = 0
    for part in reply.parts:
        if isinstance(part, Text):
            yield chunk({"content": part.text})
        else:  # as OpenAI streams a call: its id and name, then the arguments in pieces
            start = {"index": calls, "id": new_id("call"), "type": "function"}
            start["function"] = {"name": part.name, "arguments": ""}
            yield chunk({"tool_calls": [start]})
            arguments = json.dumps(part.args)
            half = len(arguments) // 2
            for piece in (arguments[:half], arguments[half:]):
                yield chunk({"tool_calls": [{"index": calls, "function": {"arguments": piece}}]})
            calls += 1
        if reply.cut:
            yield None
            return
    if reply.stream_error:
        yield event(None, {"error": {"message": reply.stream_error, "type": "server_error"}})
        return
    yield chunk({}, "tool_calls" if calls else "stop")
    usage = {
        "prompt_tokens": reply.input_tokens,
        "completion_tokens": reply.output_tokens,
        "total_tokens": reply.input_tokens + reply.output_tokens,
    }
    yield event(
        None,
        {
            "id": chat_id,
            "object": "chat.completion.chunk",
            "created": 0,
            "model": model,
            "choices": [],
            "usage": usage,
        },
    )
    yield "data: [DONE]\n\n"


def error(status: int, message: str) -> dict[str, Any]:
    return responses.error(status, message)
