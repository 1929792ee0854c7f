"""The one safety policy for what an ACP agent asks to do (``PermissionPolicy``): allow, ask
the user, or deny, by tool kind and path."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import get_args

from agentls.domain.config import Decision, PermissionPolicy, ToolKind
from agentls.domain.errors import UnsafePathError
from agentls.domain.paths import glob_match, protected_reason, workspace_relative

KINDS = frozenset(get_args(ToolKind))
CHANGING = frozenset({"edit", "delete", "move"})
"""Kinds that change files: never outside the step's folder, never a protected path."""


@dataclass(frozen=True)
class Verdict:
    decision: Decision
    reason: str


@dataclass(frozen=True)
class Place:
    """Where a tool call would act: workspace-relative inside the step's folder, or not."""

    inside: tuple[str, ...]
    outside: tuple[str, ...]


def place(folder: Path, paths: Sequence[str]) -> Place:
    inside: list[str] = []
    outside: list[str] = []
    for path in paths:
        try:
            inside.append(workspace_relative(folder, path))
        except UnsafePathError:
            outside.append(path)
    return Place(tuple(dict.fromkeys(inside)), tuple(dict.fromkeys(outside)))


def judge(
    policy: PermissionPolicy,
    kind: str,
    where: Place,
    folder: Path,
    sandboxed: bool,
    protected: Sequence[str] = (),
    read_only: bool = False,
) -> Verdict:
    """The decision for a tool call of ``kind`` acting on ``where``. ``sandboxed``: the step
    runs in a sandbox (an agentic step). ``protected``: ``settings.protected_paths``.
    ``read_only``: the OS keeps the agent from writing the step's folder itself."""
    kind = kind if kind in KINDS else "other"
    if kind in CHANGING:
        if where.outside:
            return Verdict("deny", f"{where.outside[0]} is outside {folder}")
        for path in where.inside:
            reason = protected_reason(folder, path, protected)
            if reason is not None:
                return Verdict("deny", f"{path}: {reason}")
        # Some agents (claude-agent-acp) write with their own tools, not fs/write_text_file:
        # allowed here, the change would land in the user's files, not in the step's edits.
        if not sandboxed and not read_only:
            return Verdict(
                "deny", "the step has no sandbox and is not kept read-only (sandbox: os)"
            )
    rule = next(
        (
            rule
            for rule in policy.rules
            if rule.kind in ("any", kind)
            and any(glob_match(path, glob) for path in where.inside for glob in rule.paths)
        ),
        None,
    )
    if rule is not None:
        verdict = Verdict(rule.decision, f"the permissions rule for {', '.join(rule.paths)}")
    else:
        setting = getattr(policy, kind)
        if setting == "sandbox":
            verdict = (
                Verdict("allow", f"permissions.{kind}: sandbox, and the step runs in one")
                if sandboxed
                else Verdict("deny", f"permissions.{kind}: sandbox, and this step has none")
            )
        else:
            verdict = Verdict(setting, f"permissions.{kind}: {setting}")
    if where.outside and verdict.decision == "allow":
        return Verdict("ask", f"{where.outside[0]} is outside {folder}")
    return verdict
