"""The house plan, enforced: each module imports only its own layer and those below it, and no
import cycle exists anywhere (docs/architecture.md). Read from the source with ``ast``; an
import inside a function or under ``TYPE_CHECKING`` counts too."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import agentls

PACKAGE = Path(agentls.__file__).parent

LAYERS: tuple[tuple[str, ...], ...] = (
    ("agentls", "agentls.domain"),
    (
        "agentls.state",
        "agentls.redaction",
        "agentls.log",
        "agentls.audit",
        "agentls.cache",
        "agentls.metrics",
        "agentls.rate_limit",
        "agentls.security",
        "agentls.signals",
    ),
    ("agentls.adapters",),
    ("agentls.orchestration",),
    ("agentls.server", "agentls.acp_agent", "agentls.ci"),
    ("agentls.cli",),
    ("agentls.__main__",),
)
"""Bottom first: the domain; the cross-cutting modules; adapters, which run one CLI each;
orchestration, which runs workflows; the front ends (the language server, the ACP agent, the
CI review); the terminal CLI (which can start either); the entry point."""

FRONT_ENDS = ("agentls.server", "agentls.acp_agent", "agentls.ci")
"""Siblings in one layer that know nothing of each other: each is reached only from the CLI."""


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imports(path: Path, known: set[str]) -> Iterator[str]:
    """The agentls modules ``path`` imports (``from agentls.x import y`` is ``agentls.x.y``
    when that is a module)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
        else:
            continue
        for name in names:
            if name in known:
                yield name
                break


def layer(module: str) -> int:
    best, depth = -1, -1
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > depth:
                best, depth = index, len(prefix)
    assert best >= 0, f"{module} is in no layer; add it to LAYERS and docs/architecture.md"
    return best


def graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {name: set(imports(path, known)) - {name} for name, path in found.items()}


def test_every_import_points_down_or_sideways_in_its_layer() -> None:
    against = [
        f"{module} imports {target}"
        for module, targets in sorted(graph().items())
        for target in sorted(targets)
        if layer(target) > layer(module)
    ]
    assert against == []


def test_the_front_ends_are_reached_only_from_the_cli() -> None:
    """The language server and the ACP agent import neither each other nor anything that
    imports them; only the CLI starts them."""

    def front_end(module: str) -> str | None:
        return next((f for f in FRONT_ENDS if module == f or module.startswith(f + ".")), None)

    against = [
        f"{module} imports {target}"
        for module, targets in sorted(graph().items())
        for target in sorted(targets)
        if front_end(target) not in (None, front_end(module))
        and not (module == "agentls.cli" or module.startswith("agentls.cli."))
    ]
    assert against == []


def test_no_import_cycle() -> None:
    edges = graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        path.append(module)
        for target in sorted(edges[module]):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target)
        path.pop()
        state[module] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module)
    assert [" -> ".join(cycle) for cycle in cycles] == []


def test_the_checks_see_a_wrong_import(tmp_path: Path) -> None:
    """The graph is read right: an adapter importing orchestration is caught."""
    source = tmp_path / "wrong.py"
    source.write_text("from agentls.orchestration.workflow import WorkflowEngine\n")
    found = set(imports(source, {"agentls.orchestration.workflow"}))
    assert found == {"agentls.orchestration.workflow"}
    assert layer("agentls.orchestration.workflow") > layer("agentls.adapters.base")
