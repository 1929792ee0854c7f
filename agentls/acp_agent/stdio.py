"""``agentls acp``: one client on stdin and stdout, newline-delimited JSON-RPC.

stdout carries ACP messages and nothing else: the protocol writes to a copy of it, and the
process's own stdout (a stray print, a program that inherits it) goes to stderr with the logs.
The session ends when the client closes stdin, or at SIGTERM or SIGHUP; either way a running
workflow is cancelled through its token first, so no agent outlives it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from typing import BinaryIO, cast

from acp import Agent, run_agent

from agentls.acp_agent.agent import AgentlsAgent

MESSAGE_LIMIT = 50 * 1024 * 1024
"""The longest line read from the client (an embedded file in a prompt can be large)."""


def serve() -> None:
    """Serve the client on stdin/stdout until it closes stdin or a signal ends agentls; a
    signal raises ``agentls.signals.Terminated``."""
    from agentls.signals import run as run_until_signalled

    protocol = os.fdopen(os.dup(sys.stdout.fileno()), "wb", buffering=0)
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    run_until_signalled(_serve(protocol))


async def _serve(protocol: BinaryIO) -> None:
    reader, writer = await _streams(protocol)
    # The SDK routes only the methods the agent has; the rest answer "method not found".
    await run_agent(cast(Agent, AgentlsAgent()), writer, reader)


async def _streams(protocol: BinaryIO) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=MESSAGE_LIMIT)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    transport, flow = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin, protocol)
    return reader, asyncio.StreamWriter(transport, flow, None, loop)
