"""Gemini's ``streamGenerateContent?alt=sse`` (Gemini CLI 0.61), and its side requests.

The agent's turns are ``POST /v1beta/models/MODEL:streamGenerateContent?alt=sse``: server-sent
events whose ``data`` is a ``GenerateContentResponse`` (candidates with ``content.parts`` of
``text`` and ``functionCall``, ``finishReason`` on the last, ``usageMetadata`` on each). Errors
are the Google API error object ``{"error": {"code", "message", "status"}}``, as the HTTP body
or, mid-stream, as an event. Side requests (``:generateContent``: the model router's
classification, loop and next-speaker checks) ask for JSON by ``responseJsonSchema``; they are
answered with the smallest object that schema accepts (``side``), so the CLI goes its normal
way (an answer it cannot parse makes it print a stack trace and fall back).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from tests.realcli.mock.core import Call, Reply, Text, event

SIDE_INPUT_TOKENS = 10
SIDE_OUTPUT_TOKENS = 5
"""What each side request reports using: the CLI counts it in its stats with the turns'."""
ROUTING_SCORE = 10
"""The router's complexity score (1-100): low, so it picks its flash model."""
DAILY_QUOTA = "You exceeded your current quota, please check your plan and billing details."
"""A 429 with this message carries the details the API sends when a daily quota is used up
(a ``QuotaFailure`` with a per-day quota id, and a ``RetryInfo``); others carry none."""


def chunk(parts: list[Text | Call], finish: str | None, prompt: int, output: int) -> dict[str, Any]:
    wire = [
        {"text": p.text}
        if isinstance(p, Text)
        else {"functionCall": {"name": p.name, "args": p.args}}
        for p in parts
    ]
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": wire}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    return {
        "candidates": [candidate],
        "usageMetadata": {
            "promptTokenCount": prompt,
            "candidatesTokenCount": output,
            "totalTokenCount": prompt + output,
        },
        "modelVersion": "mock-model",
    }


def stream(reply: Reply, model: str, body: dict[str, Any]) -> Iterator[str | None]:
    parts = list(reply.parts)
    if not parts and not reply.cut:  # an empty answer: one chunk, no parts, finished
        yield event(None, chunk([], "STOP", reply.input_tokens, reply.output_tokens))
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        if reply.cut and last:
            yield None
            return
        finish = "STOP" if last and not reply.stream_error else None
        yield event(None, chunk([part], finish, reply.input_tokens, reply.output_tokens))
    if reply.stream_error:
        yield event(
            None, {"error": {"code": 500, "message": reply.stream_error, "status": "INTERNAL"}}
        )


def side(body: dict[str, Any]) -> dict[str, Any]:
    """A side request's answer: JSON its ``responseJsonSchema`` accepts, else short text."""
    config = body.get("generationConfig") or {}
    schema = config.get("responseJsonSchema") or config.get("responseSchema")
    text = json.dumps(_example(schema)) if isinstance(schema, dict) else "Mock"
    return chunk([Text(text)], "STOP", SIDE_INPUT_TOKENS, SIDE_OUTPUT_TOKENS)


def _example(schema: dict[str, Any]) -> Any:
    """The smallest value of ``schema`` (OpenAPI-style types, upper or lower case)."""
    if schema.get("enum"):
        return schema["enum"][0]
    kind = str(schema.get("type", "object")).lower()
    if kind == "object":
        properties = schema.get("properties") or {}
        wanted = schema.get("required") or list(properties)
        return {name: _example(properties.get(name) or {}) for name in wanted}
    if kind == "array":
        return []
    if kind in ("integer", "number"):
        return ROUTING_SCORE
    if kind == "boolean":
        return False
    return "simple"


def error(status: int, message: str) -> dict[str, Any]:
    statuses = {
        400: "INVALID_ARGUMENT",
        401: "UNAUTHENTICATED",
        403: "PERMISSION_DENIED",
        429: "RESOURCE_EXHAUSTED",
        500: "INTERNAL",
        503: "UNAVAILABLE",
    }
    body: dict[str, Any] = {
        "code": status,
        "message": message,
        "status": statuses.get(status, "UNKNOWN"),
    }
    if status == 429 and message == DAILY_QUOTA:
        quota = "GenerateRequestsPerDayPerProjectPerModel-FreeTier"
        body["details"] = [
            {
                "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                "violations": [
                    {
                        "quotaMetric": "generativelanguage.googleapis.com/"
                        "generate_content_free_tier_requests",
                        "quotaId": quota,
                    }
                ],
            },
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "43s"},
        ]
    return {"error": body}
