"""Hovers: what agentls proposes at a line (the change under review as a diff) and the code a
reviewer suggests for a finding there."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

from agentls.server import proposal_views
from agentls.server.convert import FindingData

if TYPE_CHECKING:
    from agentls.server.language_server import AgentlsServer


def hover(ls: AgentlsServer, params: types.HoverParams) -> types.Hover | None:
    uri, line = params.text_document.uri, params.position.line
    parts = [proposal_views.hover(ls, uri, line), *_suggestions(ls, uri, line)]
    shown = [part for part in parts if part]
    if not shown:
        return None
    return types.Hover(
        contents=types.MarkupContent(
            kind=types.MarkupKind.Markdown, value="\n\n---\n\n".join(shown)
        )
    )


def _suggestions(ls: AgentlsServer, uri: str, line: int) -> list[str]:
    found = []
    for diagnostic in ls.session.diagnostics.diagnostics(uri):
        data = FindingData.read(diagnostic.data)
        if data is None or data.suggestion is None:
            continue
        if not diagnostic.range.start.line <= line <= diagnostic.range.end.line:
            continue
        agent = data.agent or "the reviewer"
        code = proposal_views.fenced(data.suggestion.rstrip("\n"))
        label = proposal_views.plain(data.label or "this finding")
        found.append(
            f"**{proposal_views.plain(agent)} suggests** for {label} "
            f"(lines {data.line}-{data.end_line}):\n\n```\n{code}\n```"
        )
    return found
