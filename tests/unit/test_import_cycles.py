"""No import cycle through the policy and changes packages (a package's ``__init__`` importing its own modules is
its face, not a cycle; a module importing its package's ``__init__`` back is)."""

from __future__ import annotations

import ast
from pathlib import Path

import dmesh_dbt

PACKAGE = Path(dmesh_dbt.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(tree: ast.Module) -> set[str]:
    """Every dmesh_dbt module ``tree`` imports, wherever in the file, except under ``if TYPE_CHECKING:``."""
    found: set[str] = set()
    # Emptied before the walk: ast.walk queues a node's children before yielding them, so clearing a block as
    # the walk meets it would still visit the imports inside it.
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            node.body = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("dmesh_dbt"):
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("dmesh_dbt"))
    return found


def import_graph() -> dict[str, set[str]]:
    modules = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    return {
        name: {target for target in _imports(ast.parse(path.read_text(encoding="utf-8"))) if target in modules} - {name}
        for name, path in modules.items()
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected group of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_no_module_of_policy_or_changes_is_in_an_import_cycle() -> None:
    concerned = ("dmesh_dbt.policy", "dmesh_dbt.changes")
    found = [group for group in cycles(import_graph()) if any(m.startswith(concerned) for m in group)]
    assert found == []


def test_the_console_script_entry_is_above_the_cli_and_imported_by_nothing() -> None:
    """Only `python -m dmesh_dbt` (``__main__``, which is the console script by another name) imports it."""
    graph = import_graph()
    assert [name for name, targets in graph.items() if "dmesh_dbt._entry" in targets] == ["dmesh_dbt.__main__"]
    assert graph["dmesh_dbt.__main__"] == {"dmesh_dbt._entry"}
    assert graph["dmesh_dbt._entry"] == {"dmesh_dbt", "dmesh_dbt.cli"}
