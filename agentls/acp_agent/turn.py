"""One prompt: the session's workflow on the files it mentions, streamed, then its outcome.

The run is the CLI's (``WorkflowEngine`` on the folder, recorded in its history, so ``agentls
history``, ``apply`` and ``undo`` know it); the steps stream as tool calls while it runs; then
come explanations, findings, a one-line summary, the tokens and cost, and the proposal with its
permission request. A cancel of the turn cancels the run through its token: every agent's
process group is stopped before the turn answers ``cancelled``. Anything that goes wrong is one
line to the user; a failure agentls did not foresee is logged on stderr with its traceback.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass

from acp import start_tool_call, text_block, tool_content, update_tool_call
from acp.interfaces import Client
from acp.schema import AllowedOutcome, PermissionOption, StopReason, ToolCallUpdate

from agentls.acp_agent.client_files import FileAccess, client_texts
from agentls.acp_agent.outbox import Outbox
from agentls.acp_agent.prompt_target import ContentBlock, PromptTarget, read_target
from agentls.acp_agent.proposal import Answer, Offer
from agentls.acp_agent.session import AcpSession, Turn
from agentls.acp_agent.updates import StepCalls, findings_updates, message, usage_update
from agentls.adapters.acp_permissions import KINDS
from agentls.domain.config import AgentlsConfig
from agentls.domain.errors import AgentlsError
from agentls.domain.permissions import PermissionQuestion
from agentls.domain.results import RunStatus, TaskKind, WorkflowResult, total_usage
from agentls.log import get_logger
from agentls.orchestration.events import EventBus
from agentls.orchestration.history import History
from agentls.orchestration.runtime import Runtime
from agentls.orchestration.workflow import WorkflowEngine, WorkflowRequest

log = get_logger("agentls.acp")
ALLOW = "allow"
QUESTION_OPTIONS = [
    PermissionOption(option_id=ALLOW, name="Allow", kind="allow_once"),
    PermissionOption(option_id="deny", name="Deny", kind="reject_once"),
]


@dataclass
class PromptTurn:
    session: AcpSession
    client: Client
    access: FileAccess
    turn: Turn
    outbox: Outbox

    async def answer(self, blocks: Sequence[ContentBlock]) -> StopReason:
        session = self.session
        if session.untold:
            await self.outbox.say(f"agentls: {session.untold}")
            session.untold = None
        if session.config is None or session.runtime is None or session.workflow is None:
            await self.outbox.say(f"agentls: {session.problem}")
            return "end_turn"
        try:
            target = await read_target(blocks, session.folder)
        except AgentlsError as error:
            await self.outbox.say(f"agentls: {error}")
            return "end_turn"
        result = await self._run(session.config, session.runtime, session.workflow, target)
        if result is None or result.status is RunStatus.CANCELLED or self.turn.cancelled.is_set():
            return "cancelled" if self.turn.cancelled.is_set() else "end_turn"
        await self._report(result)
        if result.edits and result.status in (RunStatus.OK, RunStatus.PARTIAL):
            offer = Offer(self.client, self.outbox, session.folder, self.access, session.runtime)
            if await offer.make(result, self.turn) is Answer.CANCELLED:
                return "cancelled" if self.turn.cancelled.is_set() else "end_turn"
        return "end_turn"

    async def _run(
        self, config: AgentlsConfig, runtime: Runtime, workflow: str, target: PromptTarget
    ) -> WorkflowResult | None:
        """The workflow's result, None when it did not start (the user heard why)."""
        folder = self.session.folder
        buffers: dict[str, str] = {}
        if self.access.read:
            buffers = await client_texts(self.client, self.session.session_id, folder, target.files)
        request = WorkflowRequest(
            workflow=workflow,
            workspace=folder,
            path=target.files[0],
            more_paths=target.files[1:],
            selection=target.selection,
            instruction=target.instruction,
            buffers=buffers,
        )
        steps = StepCalls(config.workflows[workflow])
        bus = EventBus()
        bus.subscribe(lambda event: self.outbox.put(steps.on_event(event)))
        engine = WorkflowEngine(config, bus, runtime=runtime, ask=self._ask)
        try:
            result = await _until_stopped(engine, request, self.turn)
        except AgentlsError as error:
            self.outbox.put(steps.close(self.turn.cancelled.is_set()))
            await self.outbox.say(f"agentls: {error}")
            return None
        self.outbox.put(steps.close(result.status is RunStatus.CANCELLED))
        try:
            History(folder).record_run(
                result, target.files[0], target.selection, target.instruction
            )
        except Exception as error:  # the run stands; only `agentls apply` will not know it
            log.warning("the run was not recorded", run_id=result.run_id, error=str(error))
        if result.status is RunStatus.CANCELLED:
            await self.outbox.say("cancelled; every agent was stopped")
        return result

    async def _ask(self, question: PermissionQuestion) -> bool:
        """An agent's question in one of the steps, put to the client as its own permission
        request (a tool call of the question's kind, with the details as its content)."""
        call_id = f"ask-{uuid.uuid4().hex[:12]}"
        kind = question.kind if question.kind in KINDS else "other"
        await self.outbox.send(
            start_tool_call(
                call_id,
                question.summary(),
                kind=kind,  # type: ignore[arg-type]
                status="pending",
                content=[tool_content(text_block("\n".join(question.details())))],
            )
        )
        try:
            response = await self.client.request_permission(
                session_id=self.session.session_id,
                tool_call=ToolCallUpdate(tool_call_id=call_id, title=question.summary()),
                options=QUESTION_OPTIONS,
            )
        except Exception as error:  # the client refused or went away: nobody allowed it
            log.warning("the permission request failed", error=str(error))
            return False
        allowed = isinstance(response.outcome, AllowedOutcome) and (
            response.outcome.option_id == ALLOW
        )
        self.outbox.put([update_tool_call(call_id, status="completed" if allowed else "failed")])
        return allowed

    async def _report(self, result: WorkflowResult) -> None:
        for record in result.steps:
            if record.task is TaskKind.EXPLAIN and record.result and record.result.text:
                await self.outbox.send(
                    message(f"**{record.step}** ({record.agent}):\n\n{record.result.text.strip()}")
                )
        if any(r.task is TaskKind.REVIEW for r in result.steps):
            await self.outbox.send(
                *findings_updates(result.run_id, result.findings, self.session.folder)
            )
        await self.outbox.say(result.summary)
        run = result.usage
        tokens = (run.input_tokens or 0) + (run.output_tokens or 0)
        if tokens or run.cost_usd is not None:
            self.session.usage = total_usage([self.session.usage, run])
            await self.outbox.send(usage_update(tokens, self.session.usage.cost_usd))


async def _until_stopped(
    engine: WorkflowEngine, request: WorkflowRequest, turn: Turn
) -> WorkflowResult:
    """``engine.run``; when the turn's task is cancelled from outside (the client went away,
    a signal), the run is cancelled through its token and ends, its agents stopped, first."""
    work = asyncio.ensure_future(engine.run(request, turn.token))
    try:
        return await asyncio.shield(work)
    except asyncio.CancelledError:
        turn.token.cancel()
        with suppress(Exception):
            await work
        raise
