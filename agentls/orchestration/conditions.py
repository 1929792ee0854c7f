"""The small, safe expression language of workflow ``when`` conditions.

    review.findings >= 1
    implement.status == "ok" and not review.errors
    suggestions.findings > 2 or iteration < 2

Names are step ids (or ``iteration``); a step exposes ``status``, ``findings``, ``errors``,
``edits``, ``changed_files`` and ``ok``. Only comparisons, ``and``/``or``/``not``, names,
attribute access, numbers, strings, booleans and ``None`` are allowed. Expressions are parsed
with Python's ``ast`` and evaluated by walking the tree: nothing is ever passed to ``eval``.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from agentls.domain.errors import ConfigError

STEP_FIELDS = frozenset({"status", "findings", "errors", "edits", "changed_files", "ok"})

_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}


@dataclass(frozen=True)
class Condition:
    source: str
    tree: ast.Expression

    def names(self) -> set[str]:
        """The step ids the condition reads."""
        return {
            node.id
            for node in ast.walk(self.tree)
            if isinstance(node, ast.Name) and node.id != "iteration"
        }

    def evaluate(self, scope: Mapping[str, Mapping[str, Any] | int]) -> bool:
        """``scope`` maps step ids to their fields (and ``iteration`` to a number). A step that
        has not run (yet, or was skipped) reads as ``None`` fields, which compare false."""
        return bool(_evaluate(self.tree.body, scope))


def parse_condition(source: str) -> Condition:
    """Parse and check a condition; ``ConfigError`` says what is not allowed and where."""
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as error:
        raise ConfigError(f"condition {source!r} is not valid: {error.msg}") from None
    for node in ast.walk(tree):
        _check(node, source)
    return Condition(source=source, tree=tree)


def _check(node: ast.AST, source: str) -> None:
    allowed = (
        ast.Expression,
        ast.BoolOp,
        ast.And,
        ast.Or,
        ast.UnaryOp,
        ast.Not,
        ast.Compare,
        ast.Name,
        ast.Attribute,
        ast.Constant,
        ast.Load,
        *_COMPARE,
    )
    if not isinstance(node, allowed):
        raise ConfigError(
            f"condition {source!r}: {type(node).__name__} is not allowed; use comparisons, "
            "and/or/not, step fields (e.g. review.findings) and literals"
        )
    if isinstance(node, ast.UnaryOp) and not isinstance(node.op, ast.Not):
        raise ConfigError(f"condition {source!r}: only `not` may prefix a value")
    if isinstance(node, ast.Attribute):
        if not isinstance(node.value, ast.Name):
            raise ConfigError(f"condition {source!r}: write step.field, e.g. review.findings")
        if node.attr not in STEP_FIELDS:
            fields = ", ".join(sorted(STEP_FIELDS))
            raise ConfigError(
                f"condition {source!r}: steps have no field {node.attr!r} (fields: {fields})"
            )
    if isinstance(node, ast.Constant) and not isinstance(
        node.value, str | int | float | bool | type(None)
    ):
        raise ConfigError(f"condition {source!r}: {node.value!r} is not a plain value")


def _evaluate(node: ast.AST, scope: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.BoolOp):
        values = (_evaluate(value, scope) for value in node.values)
        return all(values) if isinstance(node.op, ast.And) else any(values)
    if isinstance(node, ast.UnaryOp):
        return not _evaluate(node.operand, scope)
    if isinstance(node, ast.Compare):
        left = _evaluate(node.left, scope)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = _evaluate(right_node, scope)
            try:
                if not _COMPARE[type(op)](left, right):
                    return False
            except TypeError:  # e.g. None >= 1 for a step that did not run
                return False
            left = right
        return True
    if isinstance(node, ast.Attribute):
        step = scope.get(node.value.id) if isinstance(node.value, ast.Name) else None
        return step.get(node.attr) if isinstance(step, Mapping) else None
    if isinstance(node, ast.Name):
        value = scope.get(node.id)
        return value if not isinstance(value, Mapping) else value.get("ok")
    if isinstance(node, ast.Constant):
        return node.value
    raise ConfigError(f"unexpected {type(node).__name__} in a condition")
