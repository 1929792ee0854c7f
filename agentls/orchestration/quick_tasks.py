"""Quick tasks: one task for one agent (the editor's Review, Explain, Implement, Refine).

A quick task runs as a one-step workflow that the configuration does not have; the history
records its task and agent, so a follow-up builds the same workflow again.
"""

from __future__ import annotations

from agentls.domain.config import AgentlsConfig, StepConfig, WorkflowConfig
from agentls.domain.results import TaskKind


def with_task_workflow(
    config: AgentlsConfig, task: TaskKind, agent: str
) -> tuple[AgentlsConfig, str]:
    """``config`` with the one-step workflow of ``task`` by ``agent``, and its name."""
    name = f"{task.value} ({agent})"
    single = WorkflowConfig(
        description=f"{agent} {task.value}", steps=[StepConfig(agent=agent, task=task)]
    )
    return config.model_copy(update={"workflows": {**config.workflows, name: single}}), name
