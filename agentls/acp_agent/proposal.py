"""A run's change, offered to the user: a diff per file, then ``Apply`` or ``Discard``.

Nothing is written unless the user picks ``Apply``: a rejection, a cancelled request or a cancel
of the turn writes nothing. Applied through a client that writes files, each file goes through
``fs/write_text_file`` (the editor's buffers get it); otherwise agentls's own transactional
apply writes them with backups (``agentls undo`` restores them), as it does for a change that
deletes a file, which ``fs`` cannot. Either way a file that changed since the run started
stops the apply before anything is written.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from acp.helpers import update_tool_call
from acp.interfaces import Client
from acp.schema import (
    AllowedOutcome,
    PermissionOption,
    ToolCallProgress,
    ToolCallStatus,
    ToolCallUpdate,
)

from agentls.acp_agent.client_files import FileAccess, current_text
from agentls.acp_agent.outbox import Outbox
from agentls.acp_agent.session import Turn
from agentls.acp_agent.updates import Proposal
from agentls.domain.errors import AgentlsError
from agentls.domain.paths import agent_path
from agentls.domain.results import WorkflowResult
from agentls.log import get_logger
from agentls.orchestration.apply import apply_result
from agentls.orchestration.history import History
from agentls.orchestration.runtime import Runtime

log = get_logger("agentls.acp")

APPLY = "apply"
DISCARD = "discard"
OPTIONS = [
    PermissionOption(option_id=APPLY, name="Apply", kind="allow_once"),
    PermissionOption(option_id=DISCARD, name="Discard", kind="reject_once"),
]


class Answer(Enum):
    APPLY = "apply"
    DISCARD = "discard"
    CANCELLED = "cancelled"


@dataclass
class Offer:
    """One proposal put to the user in a session."""

    client: Client
    outbox: Outbox
    folder: Path
    access: FileAccess
    runtime: Runtime

    async def make(self, result: WorkflowResult, turn: Turn) -> Answer:
        """Show the change, ask, and write it when the user says so; the user's answer."""
        proposal = Proposal.of(result)
        await self.outbox.send(proposal.call(self.folder))
        answer = await self._ask(proposal, turn)
        if answer is not Answer.APPLY:
            await self.outbox.send(_ended(proposal, "failed", "Not applied"))
            how = "discarded" if answer is Answer.DISCARD else "cancelled"
            await self.outbox.say(
                f"{how}; nothing was written (`agentls apply {result.run_id}` writes it later)"
            )
            return answer
        try:
            written, note = await self._write(proposal, result)
        except AgentlsError as error:
            self.runtime.record("refused", run_id=result.run_id, reason=str(error))
            await self.outbox.send(_ended(proposal, "failed", "Not applied"))
            await self.outbox.say(str(error))
            return answer
        await self.outbox.send(_ended(proposal, "completed", "Applied"))
        await self.outbox.say(f"applied to {', '.join(written)}{note}")
        return answer

    async def _ask(self, proposal: Proposal, turn: Turn) -> Answer:
        """The user's answer; a cancel of the turn while the question is open is one too."""
        call = ToolCallUpdate(
            tool_call_id=proposal.call_id,
            title=f"Apply the changes to {proposal.names}?",
            kind="edit",
            status="pending",
        )
        asked = asyncio.ensure_future(
            self.client.request_permission(
                session_id=self.outbox.session_id, tool_call=call, options=OPTIONS
            )
        )
        stopped = asyncio.ensure_future(turn.cancelled.wait())
        try:
            await asyncio.wait({asked, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
        if not asked.done():
            asked.cancel()
            return Answer.CANCELLED
        try:
            response = asked.result()
        except Exception as error:  # the client went away or refused the request
            log.warning("the permission request failed", error=str(error))
            return Answer.CANCELLED
        outcome = response.outcome
        if turn.cancelled.is_set():
            return Answer.CANCELLED
        if isinstance(outcome, AllowedOutcome):
            return Answer.APPLY if outcome.option_id == APPLY else Answer.DISCARD
        return Answer.CANCELLED

    async def _write(self, proposal: Proposal, result: WorkflowResult) -> tuple[list[str], str]:
        """Write the change; the files written and what to add about how."""
        protected = self.runtime.config.settings.protected_paths
        if self.access.write and not proposal.deletes:
            for path in proposal.after:
                agent_path(self.folder, path, protected)  # the backstop apply_result has too
                now = await current_text(
                    self.client, self.outbox.session_id, self.folder, path, self.access
                )
                if now != proposal.before[path]:
                    raise AgentlsError(
                        f"{path} changed since run {result.run_id} started; nothing was "
                        "written. Run the workflow again on the current text."
                    )
            written: list[str] = []
            for path, text in proposal.after.items():
                try:
                    await self.client.write_text_file(
                        session_id=self.outbox.session_id,
                        path=str(self.folder / path),
                        content=text or "",
                    )
                except Exception as error:  # the editor refused or went away part-way
                    done = ", ".join(written) or "nothing"
                    raise AgentlsError(
                        f"the client did not write {path} ({error}); written before it: {done}"
                    ) from None
                written.append(path)
            self.runtime.record(
                "edits_applied", run_id=result.run_id, files=written, via="acp client"
            )
            return written, ""
        outcome = apply_result(self.folder, History(self.folder), result, 0, protected)
        written = outcome.written + outcome.deleted
        self.runtime.record("edits_applied", run_id=result.run_id, files=written, via="acp")
        return written, f"; undo with `agentls undo {result.run_id}`"


def _ended(proposal: Proposal, status: ToolCallStatus, what: str) -> ToolCallProgress:
    return update_tool_call(proposal.call_id, status=status, title=f"{what}: {proposal.names}")
