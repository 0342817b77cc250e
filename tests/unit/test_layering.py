"""Layering of the engine package: it never imports airflow (DESIGN.md; only plugins/assay_airflow does), no
module of it imports itself back through others (no import circle, top-level or inside functions), and the
config is composed in one place: each engine owns its config model, ``assay.config`` composes them and
nothing below it imports it back. In the Airflow layer, hooks own connections: operators never read one.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ENGINE = REPO / "include" / "assay"
AIRFLOW_LAYER = REPO / "plugins" / "assay_airflow"
HEAVY = ("numpy", "pandas", "scipy", "torch", "great_expectations", "sklearn", "statsmodels")


def test_no_engine_module_mentions_airflow_imports():
    offenders = []
    for path in ENGINE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [
                f"{path.relative_to(ENGINE)}: {n}" for n in names if n.split(".")[0] in ("airflow", "assay_airflow")
            ]
    assert offenders == []
    assert len(list(ENGINE.rglob("*.py"))) > 15  # the scan really saw the package


@pytest.mark.slow
def test_importing_every_engine_module_loads_no_airflow():
    modules = sorted(
        ".".join(("assay", *p.relative_to(ENGINE).with_suffix("").parts)).removesuffix(".__init__")
        for p in ENGINE.rglob("*.py")
        if "migrations" not in p.parts and "locust_plugin" not in p.parts  # the plugin runs only inside Locust
    )
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "bad = sorted(m for m in sys.modules if m == 'airflow' or m.startswith('airflow.'))\n"
        "print(len(sys.modules)); assert not bad, bad\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ENGINE.parent), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr


# -- no import circle inside the engine package ------------------------------------------------------------


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _under_type_checking(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the modules of the same package it imports, at the top or inside functions (``import a.b``,
    ``from a import b`` where ``a.b`` is a module, else ``a``; relative imports resolved). Imports under
    ``if TYPE_CHECKING:`` never run and are left out. Like grimp/import-linter, a module's implicit import of
    its parent packages is not an edge (a package re-exporting its modules is not a circle)."""
    package = root.name
    files = {module_name(p, root): p for p in root.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in files}
    for module, path in files.items():
        tree = ast.parse(path.read_text(), str(path))
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        is_package = path.name == "__init__.py"
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom) or _under_type_checking(node, parents):
                continue
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = module.split(".") if is_package else module.split(".")[:-1]
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join([*anchor, *([base] if base else [])])
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in files else base for a in node.names]
            for target in targets:
                while target and target not in files:  # `import assay.x.y` of a name inside a module
                    target = target.rpartition(".")[0]
                if target.split(".")[0] == package and target != module:
                    graph[module].add(target)
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One circle per strongly connected component of the graph (Tarjan), as [a, b, ..., a]."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(component)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return [_shortest_circle(graph, sorted(c)) for c in components]


def _shortest_circle(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    """The shortest path from the component's first module back to itself, within the component."""
    start, members = component[0], set(component)
    paths = {w: [start, w] for w in sorted(graph[start] & members)}
    frontier = list(paths)
    while start not in paths:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v] & members):
                if w not in paths:
                    paths[w] = [*paths[v], w]
                    nxt.append(w)
        frontier = nxt
    return paths[start]


def _without(graph: dict[str, set[str]], edges: set[tuple[str, str]]) -> dict[str, set[str]]:
    return {m: {t for t in targets if (m, t) not in edges} for m, targets in graph.items()}


def test_the_cycle_finder_sees_function_level_and_relative_imports(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    files = {
        "__init__.py": "from pkg.a import run\n",
        "a.py": "def run():\n    from pkg.sub import b\n    return b\n",
        "sub/__init__.py": "",
        "sub/b.py": "from ..c import C\n",
        "c.py": "import pkg.a\nC = 1\n",
        "d.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.e import E\n",
        "e.py": "from pkg import d\nE = 1\n",
    }
    for name, text in files.items():
        (pkg / name).write_text(text)
    graph = import_graph(pkg)
    assert graph["pkg.a"] == {"pkg.sub.b"} and graph["pkg.sub.b"] == {"pkg.c"} and graph["pkg.d"] == set()
    assert find_cycles(graph) == [["pkg.a", "pkg.sub.b", "pkg.c", "pkg.a"]]
    assert find_cycles(_without(graph, {("pkg.c", "pkg.a")})) == []


def test_no_import_cycle_inside_the_engine_package():
    graph = import_graph(ENGINE)
    assert len(graph) > 50 and graph["assay.engines.per_commit.suite"]  # the scan really saw the package
    cycles = find_cycles(graph)
    assert cycles == [], "import circles:\n" + "\n".join(" -> ".join(c) for c in cycles)


# -- the config: each engine owns its model, assay.config composes them -------------------------------------

COMPOSITION_ROOT = "assay.config"


def importers_of(root: Path, target: str) -> list[str]:
    """Modules of ``root``'s package that import ``target`` anywhere (top level, functions, TYPE_CHECKING)."""
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            else:
                continue
            if any(n == target or n.startswith(target + ".") for n in names):
                found.append(module_name(path, root))
                break
    return found


def test_nothing_below_the_composition_root_imports_the_config():
    """Engines, alerts, the store... take their own config models; only assay.config composes them."""
    assert len(importers_of(ENGINE, "assay.errors")) > 20  # the scan really sees the package's imports
    assert importers_of(ENGINE, COMPOSITION_ROOT) == []


def test_the_importer_scan_sees_every_kind_of_import(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "config.py").write_text("X = 1\n")
    (pkg / "a.py").write_text("def f():\n    from pkg.config import X\n")
    (pkg / "b.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pkg.config\n")
    (pkg / "c.py").write_text("from pkg import config\n")
    (pkg / "d.py").write_text("from pkg import a\n")
    assert importers_of(pkg, "pkg.config") == ["pkg.a", "pkg.b", "pkg.c"]


def test_loading_the_config_imports_no_engine_library():
    """The config models are light (pydantic and the standard library): loading the shipped config, as every
    DAG file does at parse time, imports none of the engines' heavy libraries."""
    code = (
        "import sys\n"
        "from assay.config import load_config\n"
        "cfg = load_config()\n"
        "assert cfg.datasets and cfg.models and cfg.ab_experiments, 'the check needs every section'\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ENGINE.parent), "PATH": "/usr/bin:/bin", "ASSAY_HOME": "/nonexistent/assay-home"},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


# -- the Airflow layer: hooks own connections ------------------------------------------------------------


def connection_reads(path: Path) -> list[str]:
    """Where ``path`` reads a connection itself: a ``get_connection`` call or a use of ``BaseHook``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Attribute) and node.attr in ("get_connection", "get_connection_from_secrets"):
            found.append(f"{path.name}:{node.lineno} {node.attr}")
        elif isinstance(node, ast.Name) and node.id == "BaseHook":
            found.append(f"{path.name}:{node.lineno} BaseHook")
        elif isinstance(node, ast.ImportFrom) and any(a.name == "BaseHook" for a in node.names):
            found.append(f"{path.name}:{node.lineno} imports BaseHook")
    return found


def test_operators_and_notifiers_read_connections_only_through_hooks():
    modules = sorted([*(AIRFLOW_LAYER / "operators").glob("*.py"), *(AIRFLOW_LAYER / "notifiers").glob("*.py")])
    assert len(modules) > 8  # the scan really saw the operators
    assert [hit for path in modules for hit in connection_reads(path)] == []


def test_the_connection_scan_sees_a_direct_read(tmp_path):
    op = tmp_path / "op.py"
    op.write_text("from airflow.sdk import BaseHook\n\ndef f(c):\n    return BaseHook.get_connection(c).host\n")
    assert connection_reads(op) == ["op.py:1 imports BaseHook", "op.py:4 get_connection", "op.py:4 BaseHook"]
