"""Workspace trust: a repository's ``.agentls.yaml`` may not choose what runs until the user says
so, as VS Code's workspace trust and direnv's ``allow`` do.

A cloned repository is someone else's file. Its workflows and prompts are harmless on the
built-in agents, but a key that runs a program or changes what it sees (an agent's ``command``,
``adapter``, ``env``, ``set_env``, ``extra_args``, ``options``; ``settings.pass_env``; a
workflow's best_of ``check``) would run
the author's program with the user's rights and keys, and one that loosens an agentic step's
containment (``sandbox``, ``sandbox_paths``) or what an ACP agent may do unasked (an agent's
or a workflow's ``permissions``) would let an agent write outside its sandbox or run commands.
Those keys are left out until
``agentls trust FOLDER`` records the sha256 of the file's exact bytes; any later change needs
trusting again. ``settings.audit`` and an agent's ``price`` are never taken from a workspace
file, trusted or not: a repository must not be able to turn auditing off or send it elsewhere,
nor make an agent look cheaper. For the same reason a workspace file may lower a ``budget``
(the settings', a workflow's, an agent's), never raise or remove one (``lower_budgets``).
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

from agentls.domain.config import Screened
from agentls.domain.errors import AgentlsError
from agentls.domain.locations import trust_store_path
from agentls.state import write_private

AGENT_PROGRAM_KEYS = (
    "adapter",
    "command",
    "env",
    "set_env",
    "extra_args",
    "options",
    "sandbox",
    "sandbox_paths",
    "permissions",
)
SETTINGS_PROGRAM_KEYS = ("pass_env",)
NEVER_FROM_WORKSPACE = ("audit",)
"""Keys of ``settings`` a workspace file can never set."""
AGENT_NEVER_FROM_WORKSPACE = ("price",)
"""Keys of an agent a workspace file can never set."""
BUDGET_KINDS = ("usd", "tokens", "minutes")


class TrustError(AgentlsError):
    """The file to trust is missing or changed since the user was shown it."""


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _store() -> dict[str, str]:
    try:
        loaded = json.loads(trust_store_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(loaded, dict):
        return {}
    return {str(k): str(v) for k, v in loaded.items()}


def _key(file: Path) -> str:
    return str(file.resolve())


def is_trusted(file: Path, sha256: str) -> bool:
    return _store().get(_key(file)) == sha256


def trust(file: Path, expected_sha256: str | None = None) -> str:
    """Record ``file``'s current content as trusted; its sha256. With ``expected_sha256``, only
    if the content is still what the user was shown."""
    try:
        current = digest(file.read_bytes())
    except OSError as error:
        raise TrustError(f"cannot read {file}: {error.strerror or error}") from None
    if expected_sha256 is not None and current != expected_sha256:
        raise TrustError(f"{file} changed since it was shown to you; nothing was trusted")
    store = _store()
    store[_key(file)] = current
    write_private(trust_store_path(), json.dumps(store, indent=1, sort_keys=True).encode())
    return current


def forget(file: Path) -> bool:
    """Withdraw trust; whether it was trusted."""
    store = _store()
    if store.pop(_key(file), None) is None:
        return False
    write_private(trust_store_path(), json.dumps(store, indent=1, sort_keys=True).encode())
    return True


Key = tuple[str | int, ...]


def program_keys(data: dict[str, Any], known_agents: set[str]) -> list[Key]:
    """Keys of ``data`` (a workspace file's mapping) that run programs. An agent the lower
    layers do not define is named whole: without its program keys it cannot exist."""
    found: list[Key] = []
    agents = data.get("agents")
    if isinstance(agents, dict):
        for name, agent in agents.items():
            if not isinstance(agent, dict):
                continue
            keys = [key for key in AGENT_PROGRAM_KEYS if key in agent]
            if keys and name not in known_agents:
                found.append(("agents", str(name)))
            else:
                found.extend(("agents", str(name), key) for key in keys)
    workflows = data.get("workflows")
    if isinstance(workflows, dict):
        for name, workflow in workflows.items():
            if not isinstance(workflow, dict):
                continue
            if "permissions" in workflow:
                found.append(("workflows", str(name), "permissions"))
            found.extend(_check_keys(("workflows", str(name)), workflow.get("steps")))
    settings = data.get("settings")
    if isinstance(settings, dict):
        found.extend(("settings", key) for key in SETTINGS_PROGRAM_KEYS if key in settings)
    return found


def _check_keys(workflow: Key, steps: Any) -> list[Key]:
    """The ``check`` commands of a workflow's best_of steps."""
    if not isinstance(steps, list):
        return []
    return [
        (*workflow, "steps", index, "best_of", "check")
        for index, step in enumerate(steps)
        if isinstance(step, dict)
        and isinstance(step.get("best_of"), dict)
        and "check" in step["best_of"]
    ]


def screen(
    file: Path, raw: bytes, data: dict[str, Any], below: dict[str, Any]
) -> tuple[dict[str, Any], Screened | None]:
    """``data`` without the keys it may not set over the layers ``below`` it, and what was
    left out (None: nothing)."""
    sha256 = digest(raw)
    data, raised = lower_budgets(data, below)
    known_agents = set(below.get("agents") or {})
    refused: list[Key] = []
    settings = data.get("settings")
    if isinstance(settings, dict):
        refused = [("settings", key) for key in NEVER_FROM_WORKSPACE if key in settings]
    agents = data.get("agents")
    if isinstance(agents, dict):
        refused += [
            ("agents", str(name), key)
            for name, agent in agents.items()
            if isinstance(agent, dict)
            for key in AGENT_NEVER_FROM_WORKSPACE
            if key in agent
        ]
    untrusted = [] if is_trusted(file, sha256) else program_keys(data, known_agents)
    if not untrusted and not refused and not raised:
        return data, None
    kept = _without(data, [*untrusted, *refused])
    return kept, Screened(
        file.resolve(), sha256, _dotted(untrusted), _dotted(refused), tuple(raised)
    )


def _dotted(keys: list[Key]) -> tuple[str, ...]:
    return tuple(".".join(str(part) for part in key) for key in keys)


def _without(data: dict[str, Any], keys: list[Key]) -> dict[str, Any]:
    kept = copy.deepcopy(data)
    for key in keys:
        *parents, last = key
        node: Any = kept
        for part in parents:
            if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
                node = node[part]
            else:
                node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(last, None)
    return kept


def lower_budgets(data: dict[str, Any], below: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """``data`` (a workspace file's mapping) without what would raise or remove a budget the
    layers ``below`` it set (the user's); and those keys, dotted. A cap it lowers, or one
    nobody set, stays."""
    kept = copy.deepcopy(data)
    ignored: list[Key] = []
    for path in _budget_paths(kept):
        *parents, _ = path
        mine, theirs = _at(kept, path), _at(below, path)
        if not isinstance(theirs, dict) or not any(_number(theirs.get(k)) for k in BUDGET_KINDS):
            continue
        if not isinstance(mine, dict):
            ignored.append(path)
            _at(kept, tuple(parents)).pop("budget")
            continue
        for kind in BUDGET_KINDS:
            cap = theirs.get(kind)
            if _number(cap) and kind in mine and not (_number(mine[kind]) and mine[kind] < cap):
                ignored.append((*path, kind))
                del mine[kind]
    return kept, list(_dotted(ignored))


def _budget_paths(data: dict[str, Any]) -> list[Key]:
    paths: list[Key] = []
    if isinstance(data.get("settings"), dict) and "budget" in data["settings"]:
        paths.append(("settings", "budget"))
    for section in ("workflows", "agents"):
        entries = data.get(section)
        if isinstance(entries, dict):
            paths += [
                (section, name, "budget")
                for name, entry in entries.items()
                if isinstance(entry, dict) and "budget" in entry
            ]
    return paths


def _at(data: Any, path: Key) -> Any:
    for part in path:
        data = data.get(part) if isinstance(data, dict) else None
    return data


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
