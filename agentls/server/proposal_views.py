"""The changes under review as an editor shows them: code actions and lenses to accept or
reject each one (or all of a file, or of a run), and a hover with the change as a diff."""

from __future__ import annotations

import difflib
import re
from typing import TYPE_CHECKING

from lsprotocol import types

from agentls.domain.lines import lines as text_lines
from agentls.domain.lines import lsp_lines
from agentls.server.capabilities import Command
from agentls.server.proposals import RunProposal, TrackedHunk, hunk_range

if TYPE_CHECKING:
    from agentls.server.language_server import AgentlsServer


def code_actions(ls: AgentlsServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    uri = params.text_document.uri
    pending = ls.session.proposals.pending(uri)
    first, last = params.range.start.line, params.range.end.line
    actions: list[types.CodeAction] = []
    for proposal, tracked in pending:
        if not _overlaps(tracked, first, last):
            continue
        agent = tracked.hunk.agent or "agentls"
        actions.append(
            _action(
                f"agentls: accept this change ({agent})",
                Command.ACCEPT_CHANGE,
                proposal,
                hunks=[tracked.id],
                preferred=True,
            )
        )
        actions.append(
            _action(
                f"agentls: reject this change ({agent})…",
                Command.REJECT_CHANGE,
                proposal,
                hunks=[tracked.id],
            )
        )
    for proposal in {id(p): p for p, t in pending if _overlaps(t, first, last)}.values():
        in_file = sum(1 for p, _ in pending if p is proposal)
        in_run = sum(1 for _, t in proposal.hunks() if t.state == "pending")
        if in_file > 1:
            actions.append(
                _action(
                    f"agentls: accept all {in_file} changes in this file",
                    Command.ACCEPT_CHANGE,
                    proposal,
                    uri=uri,
                )
            )
        if in_run > 1:
            actions.append(
                _action(
                    f"agentls: reject all {in_run} changes of this run…",
                    Command.REJECT_CHANGE,
                    proposal,
                )
            )
    return actions


def code_lenses(ls: AgentlsServer, uri: str) -> list[types.CodeLens]:
    lenses = []
    for proposal, tracked in ls.session.proposals.pending(uri):
        at = types.Range(
            start=types.Position(line=tracked.start, character=0),
            end=types.Position(line=tracked.start, character=0),
        )
        arguments = [{"runId": proposal.run_id, "hunks": [tracked.id]}]
        agent = tracked.hunk.agent or "agentls"
        lenses.append(
            types.CodeLens(
                range=at,
                command=types.Command(
                    title=f"Accept ({agent})", command=Command.ACCEPT_CHANGE, arguments=arguments
                ),
            )
        )
        lenses.append(
            types.CodeLens(
                range=at,
                command=types.Command(
                    title="Reject", command=Command.REJECT_CHANGE, arguments=arguments
                ),
            )
        )
    return lenses


def hover(ls: AgentlsServer, uri: str, line: int) -> str | None:
    """Markdown for the changes under review at ``line`` (0-based), or None."""
    parts = []
    for proposal, file in ls.session.proposals.files(uri):
        lines = lsp_lines(file.text or "")
        for tracked in file.hunks:
            if tracked.state != "pending" or not _overlaps(tracked, line, line):
                continue
            hunk = tracked.hunk
            where = hunk_range(tracked, lines).start.line + 1
            diff = "".join(
                difflib.unified_diff(
                    text_lines(hunk.old_text, keepends=True),
                    text_lines(hunk.new_text, keepends=True),
                    lineterm="\n",
                    n=0,
                )
            )
            body = "\n".join(diff.splitlines()[2:])  # without the ---/+++ header
            parts.append(
                f"**{plain(hunk.agent or 'agentls')} proposes** ({plain(proposal.title)}, "
                f"line {where}): {plain(hunk.reason)}\n\n```diff\n{fenced(body)}\n```"
            )
    return "\n\n---\n\n".join(parts) or None


_MARKDOWN = re.compile(r"([\\`*_{}\[\]()<>#+!|~-])")


def plain(text: str) -> str:
    """Agent text shown as itself in markdown: no link, image, HTML or emphasis of its own."""
    return _MARKDOWN.sub(r"\\\1", " ".join(text.split()))


def fenced(text: str) -> str:
    """``text`` that cannot close the code fence around it."""
    return text.replace("```", "`\u200b``")


def _overlaps(tracked: TrackedHunk, first: int, last: int) -> bool:
    """Whether the hunk's lines (its insertion line, for an insertion) meet lines
    ``first``..``last`` (0-based, both included)."""
    end = tracked.start + max(tracked.length, 1) - 1
    return tracked.start <= last and end >= first


def _action(
    title: str,
    command: Command,
    proposal: RunProposal,
    hunks: list[str] | None = None,
    uri: str | None = None,
    preferred: bool = False,
) -> types.CodeAction:
    argument: dict[str, object] = {"runId": proposal.run_id}
    if hunks is not None:
        argument["hunks"] = hunks
    if uri is not None:
        argument["uri"] = uri
    return types.CodeAction(
        title=title,
        kind=types.CodeActionKind.QuickFix,
        is_preferred=preferred or None,
        command=types.Command(title=title, command=command, arguments=[argument]),
    )
