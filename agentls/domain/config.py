"""Configuration models: agents, workflows and settings.

Every layer (built-in, user, workspace) has this shape; layers are merged key by key before
validation (mappings merge, any other value replaces), see ``config_loader``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PrivateAttr,
    StringConstraints,
    Tag,
    field_validator,
)

from agentls.domain.budget import Budget, Price
from agentls.domain.results import TaskKind

EnvName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
StepId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
SandboxPath = Annotated[str, StringConstraints(pattern=r"^(/|~/|~$)")]

DEFAULT_PASS_ENV = [
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


ToolKind = Literal[
    "read", "edit", "delete", "move", "search", "execute", "think", "fetch", "switch_mode", "other"
]
"""What an ACP agent says a tool call does (the protocol's ``ToolKind``)."""
Decision = Literal["allow", "ask", "deny"]
EditDecision = Literal["allow", "ask", "deny", "sandbox"]
"""``sandbox``: allowed where the step runs in a sandbox (agentic steps), denied elsewhere."""


class PermissionRule(_Model):
    """A decision for the tool calls of ``kind`` that touch a path matching one of ``paths``."""

    kind: ToolKind | Literal["any"] = "any"
    paths: list[str] = Field(min_length=1)
    """Globs relative to the step's folder (``**`` spans folders), e.g. ``secrets/**``."""
    decision: Decision


class PermissionPolicy(_Model):
    """What an ACP agent may do without asking, per tool kind. The first matching rule wins;
    then the kind's decision. A tool call touching a path outside the step's folder is never
    allowed without asking, and never for an edit."""

    read: Decision = "allow"
    search: Decision = "allow"
    think: Decision = "allow"
    switch_mode: Decision = "allow"
    edit: EditDecision = "sandbox"
    delete: EditDecision = "sandbox"
    move: EditDecision = "sandbox"
    execute: Decision = "ask"
    fetch: Decision = "ask"
    other: Decision = "ask"
    rules: list[PermissionRule] = Field(default_factory=list)


class PermissionOverrides(_Model):
    """A workflow's changes to its agents' ``PermissionPolicy``: the keys it sets replace."""

    read: Decision | None = None
    search: Decision | None = None
    think: Decision | None = None
    switch_mode: Decision | None = None
    edit: EditDecision | None = None
    delete: EditDecision | None = None
    move: EditDecision | None = None
    execute: Decision | None = None
    fetch: Decision | None = None
    other: Decision | None = None
    rules: list[PermissionRule] | None = None

    def over(self, policy: PermissionPolicy) -> PermissionPolicy:
        changes = {key: getattr(self, key) for key in self.model_fields_set}
        return policy.model_copy(update={k: v for k, v in changes.items() if v is not None})


class AgentConfig(_Model):
    """One agent: a CLI driven through an adapter."""

    adapter: str
    """Adapter that drives it: claude, codex, gemini, copilot, command, ruff, or a plugin's."""
    command: list[str] | None = Field(default=None, min_length=1)
    """Program and leading arguments (argv, never a shell string). Default: the adapter's."""
    model: str | None = None
    """Model name passed to the CLI (e.g. sonnet, gpt-5-codex, gemini-2.5-pro)."""
    timeout_s: float = Field(default=600.0, gt=0)
    """Wall-clock limit for one task, its retries included; then its process group is
    stopped."""
    retries: int = Field(default=2, ge=0, le=10)
    """Extra attempts after a rate limit or transient server error (never after auth errors);
    for a CLI that retries by itself, how often it may (see docs/agents.md)."""
    extra_args: list[str] = Field(default_factory=list)
    """Arguments appended after the adapter's own flags."""
    env: list[EnvName] = Field(default_factory=list)
    """Names of environment variables the agent may see, besides PATH, HOME and locale."""
    set_env: dict[EnvName, str] = Field(default_factory=dict)
    """Environment variables set for this agent only (e.g. a gateway URL)."""
    enabled: bool = True
    description: str = ""
    options: dict[str, Any] = Field(default_factory=dict)
    """Adapter-specific options (see docs/agents.md), validated by the adapter."""
    sandbox: Literal["os", "detect", "off"] = "os"
    """How agentic steps contain this agent: os (bubblewrap: it can write only its sandbox and
    its own state; where bubblewrap cannot run, detect), detect (the step fails when files
    outside its sandbox changed), off (nothing: it can write wherever you can)."""
    sandbox_paths: list[SandboxPath] = Field(default_factory=list)
    """More files or folders the agent may write when contained by os (a cache, say); ~ is
    the home folder. Missing ones are created as folders."""
    permissions: PermissionPolicy = Field(default_factory=PermissionPolicy)
    """What an ACP agent may do without asking (see docs/agents.md); a workflow's
    ``permissions`` override these key by key."""
    budget: Budget | None = None
    """This agent's share of any run: the run stops before a step of this agent that would go
    past it. A workspace file may lower it, never raise it."""
    price: Price | None = None
    """What its tokens cost, for a CLI that reports no cost (codex, gemini, copilot); without
    it, only a reported cost counts against a budget's ``usd``. Never from a workspace file."""


class StepConfig(_Model):
    """One step of a workflow: an agent doing one task."""

    agent: str
    task: TaskKind
    id: StepId | None = None
    """Name used by conditions and later steps; default: the task kind."""
    description: str = ""
    optional: bool = False
    """A failing optional step is reported but does not fail the workflow."""
    when: str | None = None
    """Condition over earlier results, e.g. ``review.findings >= 1``."""
    instruction: str | None = None
    """Instruction for this step; ``{instruction}`` is the user's. Default: the task kind's."""
    mode: Literal["text", "agentic"] = "text"
    """text: the agent answers with code blocks; agentic: it edits files itself, in a sandbox."""

    @property
    def step_id(self) -> str:
        return self.id or self.task.value

    @property
    def members(self) -> list[StepConfig]:
        """The steps of this stage of a workflow: itself (see ``ParallelGroup.members``)."""
        return [self]


class ParallelGroup(_Model):
    """Steps that run at the same time."""

    parallel: list[StepConfig] = Field(min_length=1)
    fail_fast: bool = False
    """Cancel the siblings when one step fails."""

    @property
    def members(self) -> list[StepConfig]:
        """The steps of this stage of a workflow."""
        return list(self.parallel)


class BestOf(_Model):
    """Several agents do the same task, each on its own; a judge ranks their proposals."""

    candidates: list[str]
    """The agents that each make a proposal (an agent may be named twice: two tries)."""
    judge: str
    """The agent that ranks the proposals against ``criteria`` (and the check's results)."""
    criteria: str = Field(min_length=1)
    """What makes one proposal better than another, in your words, for the judge."""
    check: list[str] | None = Field(default=None, min_length=1)
    """A command run on each proposal in a scratch copy of the workspace (argv, never a
    shell string), e.g. ``["pytest", "-q"]``: its exit code and output go to the judge."""
    check_timeout_s: float = Field(default=300.0, gt=0)
    """Wall-clock limit for one check; then its process group is stopped."""
    id: StepId | None = None
    """Name used by conditions and later steps; default: best_of."""
    task: Literal["implement", "refine"] = "implement"
    mode: Literal["text", "agentic"] = "text"
    """text: each candidate answers with code blocks; agentic: each edits files itself, in a
    sandbox of its own."""
    instruction: str | None = None
    """Instruction for the candidates; ``{instruction}`` is the user's. Default: the task
    kind's."""
    description: str = ""

    @field_validator("candidates")
    @classmethod
    def _at_least_two(cls, candidates: list[str]) -> list[str]:
        if len(candidates) < 2:
            raise ValueError(
                f"best_of needs at least 2 candidates to compare (got {len(candidates)}); "
                "list two or more agents, or use a plain step"
            )
        return candidates


class BestOfStage(_Model):
    """A best-of-N step: candidates in parallel, then their judge."""

    best_of: BestOf

    @property
    def step_id(self) -> str:
        return self.best_of.id or "best_of"

    @property
    def candidate_steps(self) -> list[StepConfig]:
        """One step per candidate, numbered from 1 as listed (``best_of#2``). Optional: a
        failed candidate leaves the others (the stage fails when all do)."""
        spec = self.best_of
        return [
            StepConfig.model_construct(
                agent=agent,
                task=TaskKind(spec.task),
                id=f"{self.step_id}#{number}",
                description=spec.description,
                optional=True,
                when=None,
                instruction=spec.instruction,
                mode=spec.mode,
            )
            for number, agent in enumerate(spec.candidates, start=1)
        ]

    @property
    def judge_step(self) -> StepConfig:
        """The judge, as a step that reads (an explain task with agentls's own prompt)."""
        return StepConfig.model_construct(
            agent=self.best_of.judge,
            task=TaskKind.EXPLAIN,
            id=f"{self.step_id}#judge",
            description="",
            optional=True,
            when=None,
            instruction=None,
            mode="text",
        )

    @property
    def members(self) -> list[StepConfig]:
        """The steps of this stage of a workflow: the candidates, then the judge."""
        return [*self.candidate_steps, self.judge_step]


def _step_kind(value: Any) -> str:
    if isinstance(value, dict):
        if "best_of" in value:
            return "best_of"
        return "parallel" if "parallel" in value else "step"
    if isinstance(value, BestOfStage):
        return "best_of"
    return "parallel" if isinstance(value, ParallelGroup) else "step"


WorkflowStep = Annotated[
    Annotated[StepConfig, Tag("step")]
    | Annotated[ParallelGroup, Tag("parallel")]
    | Annotated[BestOfStage, Tag("best_of")],
    Discriminator(_step_kind),
]


class WorkflowConfig(_Model):
    description: str = ""
    steps: list[WorkflowStep] = Field(min_length=1)
    max_iterations: int = Field(default=1, ge=1, le=50)
    """How many times the review cycle may run."""
    min_suggestions_threshold: int = Field(default=1, ge=1)
    """The cycle repeats while the latest review has at least this many findings."""
    loop_from: StepId | None = None
    """First step of the repeated cycle; default: the first review step."""
    permissions: PermissionOverrides = Field(default_factory=PermissionOverrides)
    """Changes to its agents' ``permissions`` (ACP agents) for this workflow's steps."""
    on_reject: Literal["refine"] | None = None
    """In the editor's review mode: ``refine`` starts a refine by the agent that made the
    rejected changes, told why, once every change of the proposal is decided and one was
    rejected."""
    budget: Budget | None = None
    """What one run of this workflow may spend (``usd``, ``tokens``, ``minutes``); the run
    stops with stop reason ``budget`` before a step that would go past it. A workspace file
    may lower it, never raise it."""

    @property
    def all_steps(self) -> list[StepConfig]:
        """Every step, parallel groups' and best_of's members in their place."""
        return [step for stage in self.steps for step in stage.members]

    @property
    def agents(self) -> list[str]:
        """The agents its steps name (judges included), each once, sorted."""
        return sorted({step.agent for step in self.all_steps})


class PromptTemplate(_Model):
    """The instruction used for a task kind when a step gives none."""

    instruction: str
    """May use ``{instruction}``: what the user asked for."""
    version: str = "custom"
    """Changes whenever the text changes (cached results are keyed by it)."""


class RateLimit(_Model):
    per_minute: float = Field(gt=0)
    """Requests per minute, refilled continuously."""
    burst: int = Field(default=5, ge=1)
    """Requests allowed at once."""


class RateLimits(_Model):
    overall: RateLimit | None = None
    """For all clients together."""
    per_client: RateLimit | None = None
    """For each client: an editor connection or a CLI user."""
    per_agent: dict[str, RateLimit] = Field(default_factory=dict)
    """For each agent's invocations."""


class CacheSettings(_Model):
    enabled: bool = True
    """Cache results of read-only tasks (review, explain); failures are never cached."""
    ttl_s: float = Field(default=24 * 3600, gt=0)
    memory_entries: int = Field(default=256, ge=0)


class AuditSettings(_Model):
    enabled: bool = True
    """Append a hash-chained record of runs, agent invocations, edits and refusals."""
    path: str | None = None
    """Default: $XDG_STATE_HOME/agentls/audit/audit.log."""
    max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    """Size at which the file rotates."""
    keep_files: int = Field(default=5, ge=1)
    """Rotated files kept (the retention); older ones are deleted."""


class Settings(_Model):
    default_workflow: str = "default"
    max_output_bytes: int = Field(default=10 * 1024 * 1024, ge=4096)
    """Output kept per agent run; beyond it the head is dropped and the tail kept."""
    max_context_bytes: int = Field(default=200_000, ge=1024)
    """File text included in a prompt; larger files are cut around the selection."""
    kill_grace_s: float = Field(default=2.0, ge=0)
    """Time between SIGTERM and SIGKILL when an agent times out."""
    cancel_grace_s: float = Field(default=0.05, ge=0)
    """Time between SIGTERM and SIGKILL when the user cancels a run."""
    retry_backoff_s: float = Field(default=2.0, ge=0)
    """First wait before a retry; doubles each time, with jitter."""
    retry_backoff_max_s: float = Field(default=30.0, ge=0)
    pass_env: list[EnvName] = Field(default_factory=lambda: list(DEFAULT_PASS_ENV))
    """Environment variables every agent may see (proxies, certificates)."""
    max_instruction_bytes: int = Field(default=20_000, ge=100)
    """Longest instruction accepted from a user."""
    files_at_once: int = Field(default=4, ge=1, le=64)
    """Files a step works on at the same time when its agent takes one file per run (every
    agent but ruff, which takes them all at once); agentic steps take them one by one."""
    results_in_memory: int = Field(default=20, ge=1, le=1000)
    """Runs whose results the language server keeps in memory; older ones are read back from
    the history when asked for."""
    protected_paths: list[str] = Field(default_factory=list)
    """Globs of workspace paths agent output may never change, besides .agentls.yaml and .git
    (which are always protected). Matched case-sensitively against the whole posix path
    relative to the workspace: * also crosses /, **/ may match no folder, a trailing / covers
    everything below. A workspace file can only add to the list."""
    rate_limits: RateLimits = Field(default_factory=RateLimits)
    cache: CacheSettings = Field(default_factory=CacheSettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)
    task_agents: dict[TaskKind, str] = Field(
        default_factory=lambda: {
            TaskKind.IMPLEMENT: "codex",
            TaskKind.REVIEW: "gemini",
            TaskKind.REFINE: "claude",
            TaskKind.EXPLAIN: "claude",
        }
    )
    """The agent an editor's quick tasks (Implement, Review, Refine, Explain) use."""
    budget: Budget | None = None
    """What any run may spend, whatever its workflow; a workflow's, an agent's and a run's
    own budget can only be tighter. A workspace file may lower it, never raise it."""


@dataclass(frozen=True)
class Screened:
    """What was left out of a workspace file, and why."""

    file: Path
    sha256: str
    untrusted: tuple[str, ...]
    """Keys that run programs, left out because this content is not trusted."""
    refused: tuple[str, ...]
    """Keys a workspace file may never set."""
    raised: tuple[str, ...] = ()
    """Budget caps it would have raised or removed (it may only lower them)."""

    @property
    def folder(self) -> Path:
        return self.file.parent

    def message(self) -> str:
        parts = []
        if self.untrusted:
            parts.append(
                f"{self.file}: ignored {', '.join(self.untrusted)} (they run programs or "
                "loosen their sandbox, and this file is not trusted); after reading it, run "
                f"`agentls trust {self.folder}`"
            )
        if self.refused:
            parts.append(
                f"{self.file}: ignored {', '.join(self.refused)}: a workspace file cannot "
                "change auditing or an agent's price (set them in your own config)"
            )
        if self.raised:
            parts.append(
                f"{self.file}: ignored {', '.join(self.raised)}: a workspace file may lower "
                "a budget, never raise or remove one (set it in your own config)"
            )
        return "; ".join(parts)


class AgentlsConfig(_Model):
    """The whole configuration: built-in defaults, then the user's file, then the workspace's."""

    agents: dict[str, AgentConfig] = Field(default_factory=dict)
    workflows: dict[str, WorkflowConfig] = Field(default_factory=dict)
    prompts: dict[TaskKind, PromptTemplate] = Field(default_factory=dict)
    settings: Settings = Field(default_factory=Settings)

    _screened: Screened | None = PrivateAttr(default=None)

    @property
    def screened(self) -> Screened | None:
        """What the workspace file was not allowed to set (see ``trust``), if anything."""
        return self._screened

    @screened.setter
    def screened(self, value: Screened | None) -> None:
        self._screened = value

    def secret_values(self) -> list[str]:
        """Values agentls hands agents itself: every ``set_env`` value is treated as a secret."""
        return [value for agent in self.agents.values() for value in agent.set_env.values()]
