"""The one place where the cross-cutting parts meet the work.

Every request (a run, a task) passes ``Runtime.admit``: input validation, rate limits, an
audit record. Every agent invocation passes ``Runtime.run_task``: the per-agent limit, the
result cache, the audit log, metrics and a structured log line.
"""

from __future__ import annotations

import asyncio
import getpass
import time
from dataclasses import dataclass, field, replace
from typing import Any

from agentls.adapters.base import Adapter, InvocationRefused, TaskRequest
from agentls.adapters.runner import LineCallback
from agentls.audit import AuditLog
from agentls.cache import ResultCache, cache_key, file_digest, text_digest
from agentls.domain.config import AgentlsConfig, RateLimit
from agentls.domain.locations import audit_log_path, cache_path
from agentls.domain.results import ErrorKind, TaskKind, TaskResult
from agentls.log import get_logger
from agentls.metrics import metrics
from agentls.orchestration.budget import accounted
from agentls.orchestration.prompts import PROMPT_VERSION
from agentls.orchestration.replies import read_reply
from agentls.rate_limit import Limit, RateLimited, RateLimiter
from agentls.redaction import Redactor, redact_argv
from agentls.redaction import register as register_secrets
from agentls.security import check_instruction

log = get_logger("agentls.runtime")

CACHEABLE = frozenset({TaskKind.REVIEW, TaskKind.EXPLAIN})


def cli_client() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@dataclass
class Runtime:
    config: AgentlsConfig
    client: str
    limiter: RateLimiter
    audit: AuditLog | None = None
    cache: ResultCache | None = None
    use_cache: bool = True
    prompt_versions: dict[TaskKind, str] = field(default_factory=dict)

    @classmethod
    def create(cls, config: AgentlsConfig, client: str, use_cache: bool = True) -> Runtime:
        settings = config.settings
        limits = settings.rate_limits
        register_secrets(config.secret_values())
        audit = None
        if settings.audit.enabled:
            audit = AuditLog(
                audit_log_path(settings.audit.path),
                settings.audit.max_bytes,
                settings.audit.keep_files,
            )
        cache = None
        if settings.cache.enabled:  # without use_cache fresh answers are still stored
            cache = ResultCache(cache_path(), settings.cache.ttl_s, settings.cache.memory_entries)
        return cls(
            config=config,
            client=client,
            limiter=RateLimiter(
                _limit(limits.overall),
                _limit(limits.per_client),
                {name: _limit(limit) for name, limit in limits.per_agent.items()},  # type: ignore[misc]
            ),
            audit=audit,
            cache=cache,
            use_cache=use_cache,
            prompt_versions={kind: p.version for kind, p in config.prompts.items()},
        )

    def fresh(self) -> Runtime:
        """This runtime, running every agent even when a cached answer exists; the fresh
        answers are still stored, so the next run with the cache gets them."""
        return replace(self, use_cache=False)

    def record(self, event: str, **fields: Any) -> None:
        """Audit ``event`` now: on disk, after any held records, before this returns."""
        if self.audit is not None:
            try:
                self.audit.append(event, client=self.client, **fields)
            except OSError as error:  # a full disk must not stop the work; say so in the logs
                log.error("audit log write failed", error=str(error))

    def hold(self, event: str, **fields: Any) -> None:
        """Audit ``event`` with the next record: for a record of a run that another of the same
        run always follows (the run's end at the latest), so the run waits for the disk less."""
        if self.audit is not None:
            self.audit.hold(event, client=self.client, **fields)

    def flush(self) -> None:
        """Write the held records (a run that ended without its end record)."""
        if self.audit is not None:
            try:
                self.audit.flush()
            except OSError as error:
                log.error("audit log write failed", error=str(error))

    def admit(self, what: str, instruction: str | None, **fields: Any) -> None:
        """Check a request before any work: its input, then the rate limits. An admitted
        request is audited with the next record (the agent's start at the latest); the
        caller flushes when it ends before one."""
        try:
            check_instruction(instruction, self.config.settings.max_instruction_bytes)
            self.limiter.request(self.client)
        except RateLimited as refused:
            metrics().rate_limited.labels(refused.scope).inc()
            self.record("refused", request=what, reason=str(refused), **fields)
            raise
        except Exception as error:
            self.record("refused", request=what, reason=str(error), **fields)
            raise
        self.hold("request", request=what, instruction=instruction, **fields)

    async def run_task(
        self,
        adapter: Adapter,
        request: TaskRequest,
        on_line: LineCallback | None = None,
        run_id: str | None = None,
    ) -> TaskResult:
        agent = adapter.agent_name
        try:
            self.limiter.agent_call(agent)
        except RateLimited as refused:
            metrics().rate_limited.labels(refused.scope).inc()
            self.record("refused", agent=agent, run_id=run_id, reason=str(refused))
            raise
        key = await self._cache_key(adapter, request)
        if key is not None and self.cache is not None and self.use_cache:
            cached = self.cache.get(key)
            metrics().cache.labels("hit" if cached else "miss").inc()
            if cached is not None:
                self.record("cache_hit", agent=agent, task=request.task.value, run_id=run_id)
                log.info("cache hit", agent=agent, task=request.task.value, run_id=run_id)
                return cached
        result = await self._invoke(adapter, request, on_line, run_id)
        if result.error is not None and result.error.kind is ErrorKind.SESSION_LOST:
            # The session is not there: again in a new one, the prompt carrying the
            # conversation so far, and the result says so.
            fresh = await self._invoke(adapter, replace(request, session_id=None), on_line, run_id)
            note = (
                f"{agent} could not resume its session {request.session_id}, so it started a "
                "new one with the conversation so far"
            )
            result = fresh.model_copy(update={"notes": [note, *fresh.notes]})
        if key is not None and self.cache is not None:
            self.cache.put(key, result)
        return result

    async def _invoke(
        self,
        adapter: Adapter,
        request: TaskRequest,
        on_line: LineCallback | None,
        run_id: str | None,
    ) -> TaskResult:
        """One run of the agent, audited before and after, measured, redacted."""
        agent = adapter.agent_name
        self.record(
            "agent_invocation",
            agent=agent,
            task=request.task.value,
            run_id=run_id,
            argv=self._argv(adapter, request),
            cwd=str(request.workspace),
            write=request.write,
        )
        redactor = Redactor.current()
        started = time.monotonic()
        result = await adapter.run(request, _redacting(on_line, redactor))
        result = read_reply(result, request, adapter, self.config.settings)
        result = accounted(result, request.prompt, adapter.config.price, adapter.uses_a_model)
        elapsed = time.monotonic() - started
        result = redactor.model(result)  # at the source: nothing after this sees a secret
        self._measure(result, elapsed)
        # Within a run, the next record (the run's end at the latest) writes this one too.
        finished = self.record if run_id is None else self.hold
        for decision in result.permissions:
            finished("permission", agent=agent, run_id=run_id, **decision.model_dump())
        finished(
            "agent_finished",
            agent=agent,
            task=request.task.value,
            run_id=run_id,
            status=result.status,
            error=result.error.kind.value if result.error else None,
            duration_s=round(elapsed, 3),
            attempts=result.attempts,
            findings=len(result.findings),
            edits=sorted({e.path for e in result.edits}),
        )
        log.info(
            "agent finished",
            agent=agent,
            task=request.task.value,
            run_id=run_id,
            status=result.status,
            duration_s=round(elapsed, 3),
        )
        return result

    async def _cache_key(self, adapter: Adapter, request: TaskRequest) -> str | None:
        if self.cache is None:
            return None
        if request.task not in CACHEABLE or request.write or request.session_id:
            return None
        inputs = await asyncio.to_thread(_input_digests, adapter, request)
        return cache_key(
            await _tool_identity(adapter),
            request.task.value,
            self.prompt_versions.get(request.task, PROMPT_VERSION),
            request.prompt,
            inputs,
        )

    @staticmethod
    def _argv(adapter: Adapter, request: TaskRequest) -> list[str]:
        try:
            return redact_argv(adapter.invocation(request).full_argv(adapter.command()))
        except InvocationRefused:
            return redact_argv(adapter.command())

    @staticmethod
    def _measure(result: TaskResult, elapsed: float) -> None:
        outcome = result.error.kind.value if result.error else "ok"
        metrics().tasks.labels(result.agent, result.task.value, outcome).inc()
        metrics().task_duration.labels(result.agent, result.task.value).observe(elapsed)
        usage = result.usage
        if usage.input_tokens:
            metrics().tokens.labels(result.agent, "input").inc(usage.input_tokens)
        if usage.output_tokens:
            metrics().tokens.labels(result.agent, "output").inc(usage.output_tokens)
        if usage.cost_usd:
            metrics().cost.labels(result.agent).inc(usage.cost_usd)


async def _tool_identity(adapter: Adapter) -> dict[str, Any]:
    """What makes the tool answer as it does; of its environment, only the names."""
    config = adapter.config
    environment = adapter.environment()
    return {
        "agent": adapter.agent_name,
        "adapter": config.adapter,
        "version": await adapter.version(),
        "command": adapter.command(),
        "model": config.model,
        "extra_args": config.extra_args,
        "options": config.options,
        "env": sorted(environment),
    }


def _input_digests(adapter: Adapter, request: TaskRequest) -> dict[str, str]:
    """The texts of the request's files and the files the tool reads about them."""
    files = request.files
    digests = {f"file:{file.path}": text_digest(file.text) for file in files}
    for path in adapter.answer_inputs(request.workspace, [file.path for file in files]):
        digests[f"input:{path}"] = file_digest(path)
    return digests


def _redacting(on_line: LineCallback | None, redactor: Redactor) -> LineCallback | None:
    if on_line is None:
        return None
    return lambda line: on_line(redactor.text(line))


def _limit(limit: RateLimit | None) -> Limit | None:
    return Limit(limit.per_minute, limit.burst) if limit is not None else None
