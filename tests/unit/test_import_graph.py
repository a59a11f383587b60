"""The packages under src/ import each other without circles, and what runs inside user
servers and service containers does not pull in the hub's spawner (dockerspawner, docker).

Read from the source (ast), so an import inside a function counts as much as one at the top.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"

#: modules that run outside the hub: in user servers, the formgrader, ngshare, the
#: datacentre and the dashboards.
CONTAINER_SIDE = ("servicekit", "datacentre", "dashboards", "kcdc", "showersim")
HUB_ONLY = ("dockerspawner", "docker", "astrohub.spawner")


def _modules() -> dict[str, Path]:
    found = {}
    for path in SRC.rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Every module `name` imports: ours by full name, third-party ones by top-level name."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module
            # `from pkg import mod` imports the module pkg.mod; `from mod import name` imports mod
            targets.update(f"{module}.{a.name}" if f"{module}.{a.name}" in modules else module for a in node.names)
    ours = set()
    for target in targets:
        while target not in modules and "." in target:
            target = target.rpartition(".")[0]
        ours.add(target)
    ours.discard(name)
    return ours


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_graph_reader_sees_a_circle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_under_src_imports_in_a_circle():
    assert _cycles(_graph()) == []


def test_container_side_code_does_not_reach_the_hubs_spawner():
    graph = _graph()
    for root in CONTAINER_SIDE:
        starts = [m for m in graph if m == root or m.startswith(root + ".")]
        seen, todo = set(starts), list(starts)
        while todo:
            for w in graph.get(todo.pop(), ()):
                if w not in seen:
                    seen.add(w)
                    todo.append(w)
        assert not seen & set(HUB_ONLY), f"{root} reaches {sorted(seen & set(HUB_ONLY))}"


def test_servicekit_stands_alone():
    # the ngshare image carries src/servicekit and nothing else of this repository
    graph = _graph()
    for name in (m for m in graph if m.split(".")[0] == "servicekit"):
        ours = {w for w in graph[name] if w in graph}
        assert all(w.split(".")[0] == "servicekit" for w in ours), f"{name} imports {sorted(ours)}"


def test_the_public_dashboards_do_not_import_the_simulation():
    # their image carries kcdc, servicekit and the dashboards only; the flux is kcdc.spectrum's
    graph = _graph()
    for name in (m for m in graph if m.split(".")[0] == "dashboards"):
        assert {w.split(".")[0] for w in graph[name] if w in graph} <= {"dashboards", "kcdc", "servicekit"}, name
