"""One task for one agent on one file or line range (or, for an adapter that takes many,
several files): input checks, prompt, run."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from agentls.adapters.base import Adapter, TargetFile, TaskRequest
from agentls.adapters.confinement import Confinement, read_only
from agentls.adapters.registry import AdapterRegistry
from agentls.adapters.runner import LineCallback
from agentls.domain import textfile
from agentls.domain.config import AgentlsConfig, PermissionOverrides
from agentls.domain.errors import TaskDeclined, TaskInputError
from agentls.domain.lines import line_count as count_lines
from agentls.domain.paths import screen_edits, workspace_relative
from agentls.domain.permissions import Asker
from agentls.domain.results import LineRange, RefusedPath, TaskKind, TaskResult
from agentls.orchestration.prompts import PromptContext, build_prompt
from agentls.security import check_instruction

if TYPE_CHECKING:
    from agentls.orchestration.runtime import Runtime


@dataclass(frozen=True)
class TaskSpec:
    agent: str
    task: TaskKind
    workspace: Path
    path: str
    """The file, absolute or relative to ``workspace``."""
    selection: LineRange | None = None
    instruction: str | None = None
    file_text: str | None = None
    """The editor's text of the file, saved or not; read from disk when None."""
    feedback: str | None = None
    session_id: str | None = None
    write: bool = False
    confinement: Confinement | None = None
    """How the agent is contained (agentic steps, see ``containment``)."""
    more_files: tuple[TargetFile, ...] = ()
    """Further files for an adapter that takes many (``Adapter.many_files``), as on disk."""
    overlay: Mapping[str, str] = field(default_factory=dict)
    """Texts the step sees instead of the files on disk (see ``TaskRequest.overlay``)."""
    ask: Asker | None = None
    """Who answers an agent's permission request; None: nobody, so it is denied."""
    permissions: PermissionOverrides | None = None
    """The workflow's changes to the agent's ``permissions``."""


def make_adapter(
    config: AgentlsConfig, agent: str, registry: AdapterRegistry | None = None
) -> Adapter:
    agent_config = config.agents.get(agent)
    if agent_config is None:
        known = ", ".join(sorted(name for name, a in config.agents.items() if a.enabled))
        raise TaskInputError(f"no agent named {agent!r}; configured agents: {known}")
    if not agent_config.enabled:
        raise TaskInputError(
            f"agent {agent!r} is disabled; set agents.{agent}.enabled: true in "
            "~/.config/agentls/config.yaml or the workspace's .agentls.yaml"
        )
    return (registry or AdapterRegistry.default()).create(agent, agent_config, config.settings)


def prepare(
    config: AgentlsConfig, spec: TaskSpec, registry: AdapterRegistry | None = None
) -> tuple[Adapter, TaskRequest]:
    """Check the input and build the request; raises ``TaskInputError`` with what to fix."""
    adapter = make_adapter(config, spec.agent, registry)
    check_instruction(spec.instruction, config.settings.max_instruction_bytes)
    workspace = spec.workspace.resolve()
    target = workspace_relative(workspace, spec.path)
    if spec.file_text is None:
        text = _read(workspace / target, target)
    elif textfile.looks_binary(spec.file_text):
        raise textfile.BinaryFileError(target)
    else:
        text = spec.file_text
    declined = adapter.declines(target)
    if declined is not None:
        raise TaskDeclined(declined)
    line_count = count_lines(text)
    if spec.selection is not None and spec.selection.end > line_count:
        raise TaskInputError(
            f"lines {spec.selection} are outside {target}, which has {line_count} lines"
        )
    prompt = build_prompt(
        spec.task,
        PromptContext(
            path=target,
            file_text=text,
            selection=spec.selection,
            instruction=spec.instruction,
            feedback=spec.feedback,
            neighbours=_neighbours(workspace, target),
            agentic=spec.write,
        ),
        config.settings.max_context_bytes,
    )
    request = TaskRequest(
        task=spec.task,
        prompt=prompt,
        workspace=workspace,
        target=target,
        file_text=text,
        selection=spec.selection,
        write=spec.write,
        session_id=spec.session_id,
        confinement=spec.confinement,
        more_files=spec.more_files if adapter.many_files else (),
        overlay=spec.overlay,
        ask=spec.ask,
        permissions=spec.permissions,
    )
    return adapter, request


async def run_task(
    config: AgentlsConfig,
    spec: TaskSpec,
    on_line: LineCallback | None = None,
    registry: AdapterRegistry | None = None,
    runtime: Runtime | None = None,
    run_id: str | None = None,
) -> TaskResult:
    """One agent invocation, through the runtime's limits, cache, audit and metrics."""
    from agentls.orchestration.runtime import Runtime, cli_client

    adapter, request = prepare(config, spec, registry)
    if request.confinement is None and not request.write and adapter.starts_processes():
        confinement = await asyncio.to_thread(read_only, adapter.config.sandbox, request.workspace)
        request = replace(request, confinement=confinement)
    runtime = runtime or Runtime.create(config, cli_client())
    result = await runtime.run_task(adapter, request, on_line, run_id)
    if request.confinement is not None and not request.write and not result.cached:
        result = result.model_copy(update={"containment": request.confinement.mode})
    result = screen_result(result, request.workspace, config.settings.protected_paths)
    record_refused(runtime, run_id, result.refused)
    return result


async def run_prompt(
    config: AgentlsConfig,
    spec: TaskSpec,
    prompt: str,
    on_line: LineCallback | None = None,
    registry: AdapterRegistry | None = None,
    runtime: Runtime | None = None,
    run_id: str | None = None,
) -> TaskResult:
    """A question in agentls's own words (a best_of judge's): run as an explain task is, read
    only and contained as one, its answer kept as text. ``spec`` gives the agent, the file it
    is about and how it may be asked for permissions; its task and instruction are unused."""
    from agentls.orchestration.runtime import Runtime, cli_client

    adapter = make_adapter(config, spec.agent, registry)
    workspace = spec.workspace.resolve()
    request = TaskRequest(
        task=TaskKind.EXPLAIN,
        prompt=prompt,
        workspace=workspace,
        target=workspace_relative(workspace, spec.path),
        file_text=spec.file_text or "",
        ask=spec.ask,
        permissions=spec.permissions,
    )
    if adapter.starts_processes():
        confinement = await asyncio.to_thread(read_only, adapter.config.sandbox, workspace)
        request = replace(request, confinement=confinement)
    runtime = runtime or Runtime.create(config, cli_client())
    result = await runtime.run_task(adapter, request, on_line, run_id)
    if request.confinement is not None and not result.cached:
        result = result.model_copy(update={"containment": request.confinement.mode})
    return result


def screen_result(result: TaskResult, workspace: Path, protected: Sequence[str]) -> TaskResult:
    """``result`` without edits of paths agent output may not change; each refused path
    (also those its reply's parsing refused) is named in ``refused``, with the agent."""
    edits, refused = screen_edits(workspace, result.edits, protected, result.agent)
    named = [r.model_copy(update={"agent": result.agent}) for r in result.refused]
    return result.model_copy(update={"edits": edits, "refused": [*named, *refused]})


def record_refused(runtime: Runtime, run_id: str | None, refused: Iterable[RefusedPath]) -> None:
    for item in refused:
        runtime.record(
            "refused_path", run_id=run_id, path=item.path, reason=item.reason, agent=item.agent
        )


MAX_NEIGHBOURS = 40


def _neighbours(workspace: Path, target: str) -> tuple[str, ...]:
    folder = (workspace / target).parent
    try:
        names = sorted(
            entry.name + ("/" if entry.is_dir() else "")
            for entry in folder.iterdir()
            if not entry.name.startswith(".") and entry.name != Path(target).name
        )
    except OSError:
        return ()
    if len(names) > MAX_NEIGHBOURS:
        names = [*names[:MAX_NEIGHBOURS], f"… {len(names) - MAX_NEIGHBOURS} more"]
    return tuple(names)


def _read(path: Path, name: str) -> str:
    """The file's text as the workflow reads it (``textfile``: its coding line, its BOM);
    ``TextFileError`` (a ``TaskInputError``) names ``name`` when it is binary or undecodable."""
    try:
        text = textfile.read_text(path, name)
    except IsADirectoryError:
        raise TaskInputError(f"{path} is a folder; give a file") from None
    except OSError as error:
        raise TaskInputError(f"cannot read {path}: {error.strerror}") from None
    if text is None:
        raise TaskInputError(f"{path} does not exist")
    return text
