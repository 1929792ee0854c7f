"""A best_of step's ``check`` (the project's tests, a linter) run on one candidate's proposal.

The check runs the candidate's code, which an agent wrote: it is contained as an agentic step's
agent is. It runs in a scratch copy of the workspace (``sandbox``) with the proposal laid over
it, as its own process group with the minimal environment, a timeout and a cap on its output,
never through a shell; under bubblewrap it can write that copy only (where bubblewrap cannot
run, changes outside the copy are detected and its result is not used, as ``containment``
says). The user's files are never its working folder.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from agentls.adapters.runner import MissingBinaryError, ProcessSpec, minimal_env, run_process
from agentls.domain.config import Settings
from agentls.domain.results import CheckOutcome, TaskKind, TaskResult
from agentls.orchestration.containment import Guard
from agentls.orchestration.sandbox import SandboxError, sandbox
from agentls.redaction import redact

OUTPUT_BYTES = 256 * 1024
"""Output kept of a check while it runs (its end)."""
TAIL_CHARS = 4000
"""Output kept in the result and shown to the judge (its end)."""


async def run_check(
    argv: Sequence[str],
    workspace: Path,
    overlay: Mapping[str, str | None],
    timeout_s: float,
    settings: Settings,
) -> CheckOutcome:
    """``argv`` in a scratch copy of ``workspace`` with ``overlay`` (path -> text, None:
    deleted) laid over it; what it said. Never raises for the check's own failures."""
    try:
        async with sandbox(workspace, overlay) as box:
            guard = await Guard.start("os", workspace, box.root)
            command, env = list(argv), minimal_env(settings.pass_env)
            if guard.confinement is not None:
                command, env = guard.confinement.apply(command, env)
            spec = ProcessSpec(
                argv=command,
                cwd=box.root,
                env=env,
                timeout_s=timeout_s,
                kill_grace_s=settings.kill_grace_s,
                cancel_grace_s=settings.cancel_grace_s,
                max_output_bytes=OUTPUT_BYTES,
            )
            outcome = await run_process(spec)
            await guard.finish(TaskResult(agent="check", task=TaskKind.IMPLEMENT))
    except MissingBinaryError as error:
        return CheckOutcome(error=f"the check {argv[0]!r} could not start: {error}")
    except SandboxError as error:
        return CheckOutcome(error=f"no scratch copy for the check: {error}")
    output = _tail(
        outcome.stdout + ("\n" if outcome.stdout and outcome.stderr else "") + outcome.stderr
    )
    if guard.escaped:
        shown = ", ".join(guard.escaped[:3])
        return CheckOutcome(
            output=output,
            error=f"the check changed files outside its scratch copy ({shown}); its result is "
            "not used. Check those files",
        )
    if outcome.timed_out:
        return CheckOutcome(
            output=output, error=f"the check timed out after {timeout_s:g}s (check_timeout_s)"
        )
    return CheckOutcome(exit_code=outcome.exit_code, output=output)


def _tail(text: str) -> str:
    text = redact(text)
    return text if len(text) <= TAIL_CHARS else "…" + text[-TAIL_CHARS:]
