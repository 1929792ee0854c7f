"""Layered YAML configuration: built-in, then the user's file, then the workspace's.

Each value remembers the file and line it came from, so an invalid merged configuration is
reported against the file the user has to fix.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from agentls.domain.config import (
    AgentlsConfig,
    BestOfStage,
    ParallelGroup,
    Screened,
    StepConfig,
    WorkflowConfig,
    WorkflowStep,
)
from agentls.domain.errors import ConfigError
from agentls.domain.locations import WORKSPACE_FILE, user_config_path
from agentls.orchestration.conditions import parse_condition
from agentls.orchestration.trust import screen
from agentls.redaction import register as register_secrets

BUILTIN_FILES = ("agents.yaml", "workflows.yaml")

KeyPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Origin:
    file: Path
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else str(self.file)


@dataclass
class _Layered:
    data: dict[str, Any] = field(default_factory=dict)
    origins: dict[KeyPath, Origin] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)


def builtin_config_dir() -> Path:
    """The shipped ``config/`` folder: inside the wheel, or at the root of a source checkout."""
    packaged = Path(str(resources.files("agentls"))) / "_builtin_config"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "config"


def config_files(workspace: Path | None) -> list[Path]:
    """Every file that takes part, lowest precedence first (missing optional ones left out)."""
    builtin = builtin_config_dir()
    files = [builtin / name for name in BUILTIN_FILES]
    optional = [user_config_path()]
    if workspace is not None:
        optional.append(workspace / WORKSPACE_FILE)
    return files + [path for path in optional if path.is_file()]


def parse_builtin() -> None:
    """Parse the built-in files once, for every later load (a resident process does it for
    the commands it forks; the cache is by content, so an edited file is parsed again)."""
    builtin = builtin_config_dir()
    for name in BUILTIN_FILES:
        _read_yaml(builtin / name)


EDITOR_SETTINGS = Path("(editor settings)")


def load_config(
    workspace: Path | None = None,
    extra_files: Iterable[Path] = (),
    overrides: Mapping[str, Any] | None = None,
) -> AgentlsConfig:
    """Load and validate the configuration that applies to ``workspace``; ``overrides`` (the
    editor's settings) go on top of every file.

    Raises ``ConfigError`` naming the file, the key path and what was expected.
    """
    layered = _Layered()
    screened: Screened | None = None
    workspace_file = workspace / WORKSPACE_FILE if workspace is not None else None
    for path in [*config_files(workspace), *extra_files]:
        raw, data, origins = _read_yaml(path)
        if path == workspace_file:
            data, screened = screen(path, raw, data, layered.data)
        _merge(layered.data, data, (), origins, layered.origins)
        layered.files.append(path)
    if overrides:
        origins = {path: Origin(EDITOR_SETTINGS, 0) for path in _paths(overrides, ())}
        _merge(layered.data, copy.deepcopy(dict(overrides)), (), origins, layered.origins)
    try:
        try:
            config = AgentlsConfig.model_validate(layered.data)
        except ValidationError as error:
            raise ConfigError(_describe(error, layered)) from None
        _check_references(config, layered)
    except ConfigError as error:
        if screened is None:
            raise
        raise ConfigError(f"{error}\n  ({screened.message()})") from None
    config.screened = screened
    register_secrets(config.secret_values())
    return config


_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's loader where PyYAML was built with it (ten times faster), else the pure one."""


def _read_yaml(path: Path) -> tuple[bytes, dict[str, Any], dict[KeyPath, Origin]]:
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the configuration file: {error}") from None
    data, origins = _parsed(path, raw)
    return raw, copy.deepcopy(data), dict(origins)


@functools.lru_cache(maxsize=32)
def _parsed(path: Path, raw: bytes) -> tuple[dict[str, Any], dict[KeyPath, Origin]]:
    """A file's YAML, parsed once per content (a server reads the same files again on every
    reload); callers get copies."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: cannot read the configuration file: {error}") from None
    loader = _SafeLoader(text)
    origins: dict[KeyPath, Origin] = {}
    try:
        node = loader.get_single_node()
        data = {} if node is None else _construct(loader, node, (), path, origins)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = error.problem or error.context or "invalid YAML"
        raise ConfigError(f"{where}: invalid YAML: {problem}") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: invalid YAML: {error}") from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}:1: expected a mapping with agents, workflows and settings at the top level"
        )
    return data, origins


def _construct(
    loader: yaml.SafeLoader,
    node: yaml.Node,
    path: KeyPath,
    file: Path,
    origins: dict[KeyPath, Origin],
) -> Any:
    origins.setdefault(path, Origin(file, node.start_mark.line + 1))
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        mapping: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str | int):
                line = key_node.start_mark.line + 1
                raise ConfigError(f"{file}:{line}: keys must be plain names, got {key!r}")
            child = (*path, key)
            origins[child] = Origin(file, key_node.start_mark.line + 1)
            mapping[key] = _construct(loader, value_node, child, file, origins)
        return mapping
    if isinstance(node, yaml.SequenceNode):
        return [
            _construct(loader, item, (*path, index), file, origins)
            for index, item in enumerate(node.value)
        ]
    return loader.construct_object(node, deep=True)


def _merge(
    into: dict[str, Any],
    layer: dict[str, Any],
    path: KeyPath,
    layer_origins: dict[KeyPath, Origin],
    origins: dict[KeyPath, Origin],
) -> None:
    for key, value in layer.items():
        child = (*path, key)
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value, child, layer_origins, origins)
            continue
        if child in ADDITIVE and isinstance(value, list) and isinstance(into.get(key), list):
            _extend(into[key], value, child, layer_origins, origins)
            continue
        into[key] = value
        for known in [p for p in origins if p[: len(child)] == child]:
            del origins[known]
        origins.update({p: o for p, o in layer_origins.items() if p[: len(child)] == child})
    origins.update({p: o for p, o in layer_origins.items() if p == path})


ADDITIVE: frozenset[KeyPath] = frozenset({("settings", "protected_paths")})
"""Lists a later layer adds to: a workspace file may protect more paths, never fewer."""


def _extend(
    into: list[Any],
    items: list[Any],
    path: KeyPath,
    layer_origins: dict[KeyPath, Origin],
    origins: dict[KeyPath, Origin],
) -> None:
    offset = len(into)
    into.extend(items)
    for index in range(len(items)):
        if (*path, index) in layer_origins:
            origins[(*path, offset + index)] = layer_origins[(*path, index)]


def _describe(error: ValidationError, layered: _Layered) -> str:
    lines = []
    for item in error.errors(include_url=False):
        path = _data_path(item["loc"], layered.data)
        where = _origin(path, layered)
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "unknown key (check its spelling; see config/schema.json)"
        elif item["type"] == "value_error":  # our own validator's sentence
            message = message.removeprefix("Value error, ")
        elif "input" in item and item["type"] != "missing":
            message += f" (got {_short(item['input'])})"
        lines.append(f"{where}: {_dotted(path) or '(top level)'}: {message}")
    return "invalid configuration:\n  " + "\n  ".join(lines)


def _paths(value: Any, prefix: KeyPath) -> Iterator[KeyPath]:
    yield prefix
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*prefix, index))


def _check_references(config: AgentlsConfig, layered: _Layered) -> None:
    from agentls.adapters.registry import AdapterRegistry

    registry = AdapterRegistry.default()
    problems: list[str] = []
    for name, agent in config.agents.items():
        path: KeyPath = ("agents", name, "adapter")
        adapter = registry.find(agent.adapter)
        if adapter is None:
            known = ", ".join(registry.names())
            problems.append(
                f"{_origin(path, layered)}: {_dotted(path)}: unknown adapter "
                f"{agent.adapter!r} (known: {known})"
            )
            continue
        for option_error in adapter.check_options(agent.options):
            option_path: KeyPath = ("agents", name, "options", *option_error.loc)
            problems.append(
                f"{_origin(option_path, layered)}: {_dotted(option_path)}: {option_error.message}"
            )
    for workflow_name, workflow in config.workflows.items():
        for index, stage in enumerate(workflow.steps):
            stage_path: KeyPath = ("workflows", workflow_name, "steps", index)
            if isinstance(stage, BestOfStage):
                problems.extend(_check_best_of(config, stage, stage_path, layered))
                continue
            for step_path, member in _members(stage_path, stage):
                if member.agent not in config.agents:
                    path = (*step_path, "agent")
                    problems.append(
                        f"{_origin(path, layered)}: {_dotted(path)}: no agent named "
                        f"{member.agent!r} (defined: {', '.join(sorted(config.agents))})"
                    )
    for workflow_name, workflow in config.workflows.items():
        problems.extend(_check_workflow(workflow_name, workflow, layered))
    for kind, agent_name in config.settings.task_agents.items():
        if agent_name not in config.agents:
            path = ("settings", "task_agents", kind.value)
            problems.append(
                f"{_origin(path, layered)}: {_dotted(path)}: no agent named {agent_name!r}"
            )
    if config.workflows and config.settings.default_workflow not in config.workflows:
        path = ("settings", "default_workflow")
        problems.append(
            f"{_origin(path, layered)}: {_dotted(path)}: no workflow named "
            f"{config.settings.default_workflow!r} (defined: {', '.join(config.workflows)})"
        )
    if problems:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(problems))


def _check_best_of(
    config: AgentlsConfig, stage: BestOfStage, path: KeyPath, layered: _Layered
) -> list[str]:
    """Its candidates and judge: agents that are defined and enabled."""
    problems = []
    named: list[tuple[KeyPath, str, str]] = [
        ((*path, "best_of", "candidates", index), agent, "candidate")
        for index, agent in enumerate(stage.best_of.candidates)
    ]
    named.append(((*path, "best_of", "judge"), stage.best_of.judge, "judge"))
    for where, agent, role in named:
        place = f"{_origin(where, layered)}: {_dotted(where)}"
        if agent not in config.agents:
            problems.append(
                f"{place}: no agent named {agent!r} (defined: {', '.join(sorted(config.agents))})"
            )
        elif not config.agents[agent].enabled:
            problems.append(
                f"{place}: the {role} {agent!r} is disabled; set agents.{agent}.enabled: true "
                f"or name another {role}"
            )
    return problems


def _members(path: KeyPath, stage: WorkflowStep) -> list[tuple[KeyPath, StepConfig]]:
    """A stage's steps, each with its key path in the configuration (a best_of's: its own)."""
    if isinstance(stage, ParallelGroup):
        return [((*path, "parallel", index), step) for index, step in enumerate(stage.members)]
    if isinstance(stage, BestOfStage):
        return [((*path, "best_of"), step) for step in stage.members]
    return [(path, stage)]


def _check_workflow(name: str, workflow: WorkflowConfig, layered: _Layered) -> list[str]:
    """Unique step ids; conditions that parse and read only steps that ran before them."""
    problems: list[str] = []
    earlier: set[str] = set()
    for index, stage in enumerate(workflow.steps):
        group_ids: set[str] = set()
        if isinstance(stage, BestOfStage):  # its members' ids follow from the stage's
            path: KeyPath = ("workflows", name, "steps", index, "best_of")
            if stage.step_id in earlier:
                problems.append(
                    f"{_origin(path, layered)}: {_dotted(path)}: step id {stage.step_id!r} is "
                    "used twice; give one an `id`"
                )
            earlier |= {stage.step_id, *(member.step_id for member in stage.members)}
            continue
        for step_path, member in _members(("workflows", name, "steps", index), stage):
            where = f"{_origin(step_path, layered)}: {_dotted(step_path)}"
            if member.step_id in earlier or member.step_id in group_ids:
                problems.append(
                    f"{where}: step id {member.step_id!r} is used twice; give one an `id`"
                )
            group_ids.add(member.step_id)
            if member.when is None:
                continue
            try:
                condition = parse_condition(member.when)
            except ConfigError as error:
                problems.append(f"{where}.when: {error}")
                continue
            for read in sorted(condition.names() - earlier):
                problems.append(
                    f"{where}.when: {read!r} is not a step that runs before this one "
                    f"(a condition may only read earlier steps, so no cycle can form)"
                )
        earlier |= group_ids
    if workflow.loop_from is not None and workflow.loop_from not in earlier:
        path = ("workflows", name, "loop_from")
        problems.append(
            f"{_origin(path, layered)}: {_dotted(path)}: no step with id {workflow.loop_from!r}"
        )
    return problems


def _data_path(loc: tuple[str | int, ...], data: Any) -> KeyPath:
    """Keep the parts of a pydantic location that exist in the data (drops union tags)."""
    path: list[str | int] = []
    current = data
    for index, part in enumerate(loc):
        present = (isinstance(current, dict) and part in current) or (
            isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current)
        )
        if present:
            current = current[part]
            path.append(part)
        elif index == len(loc) - 1 and isinstance(current, dict):
            path.append(part)
    return tuple(path)


def _origin(path: KeyPath, layered: _Layered) -> str:
    for end in range(len(path), -1, -1):
        origin = layered.origins.get(path[:end])
        if origin is not None:
            return str(origin)
    return str(layered.files[-1]) if layered.files else "configuration"


def _dotted(path: KeyPath) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def config_schema() -> dict[str, Any]:
    schema = AgentlsConfig.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "agentls", **schema}


def render_schema() -> str:
    return json.dumps(config_schema(), indent=2, sort_keys=True) + "\n"
