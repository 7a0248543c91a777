"""The project's layers, from the imports of every module (parsed with ast, nothing imported): a package imports only
itself and the packages below it, and no modules import each other in a circle.

Lowest first — ``disclosure`` (the policy, the perturbation table, the record keys: imports no other package),
``data_schema`` (schemas, mapping, loading, validation), ``deployment`` (dashboard.toml: data, engine, disclosure,
access), ``queries`` (the engines and the release layer), ``analyses`` (statistics, figures, reports, the CLI),
``dashboard`` (the Streamlit pages), then ``benchmarks`` and ``tests`` above all. Every import counts, wherever it
is written: at the top of a module, inside a function (a lazy import is still a dependency) or under
``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ("disclosure", "data_schema", "deployment", "queries", "analyses", "dashboard", "benchmarks", "tests")
RANK = {package: rank for rank, package in enumerate(LAYERS)}
NOT_CODE = {"data", "docs"}  # top-level folders that hold no project module


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # the project module it imports
    line: int

    def where(self) -> str:
        return f"{self.module} -> {self.target} (line {self.line})"


def _module_files() -> dict[str, Path]:
    """Every project module by dotted name (a package's ``__init__.py`` under the package's name)."""
    modules = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT).parts
        if any(part.startswith(".") for part in parts) or parts[0] in NOT_CODE:
            continue
        name = ".".join(parts)[: -len(".py")]
        modules[name.removesuffix(".__init__")] = path
    return modules


MODULES = _module_files()


def _layer(module: str) -> str:
    return module.split(".")[0]


def _resolve(name: str) -> str | None:
    """The project module a dotted name refers to: itself, or the longest prefix that is a module (``pkg.mod.attr``
    -> ``pkg.mod``); None outside the project."""
    parts = name.split(".")
    if parts[0] not in RANK:
        return None
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in MODULES:
            return candidate
    return name  # a project name that is no module: reported by test_every_project_import_is_a_module


def _imports(module: str) -> list[Import]:
    """The project modules ``module`` imports, each once (at its first line)."""
    path = MODULES[module]
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found: dict[str, Import] = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the module's own package, one level up per extra dot
                anchor = package[: len(package) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # ``from pkg import mod`` imports the module pkg.mod; ``from pkg.mod import name`` imports pkg.mod
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names]
        else:
            continue
        for name in names:
            target = _resolve(name)
            if target is not None and target != module and \
                    (target not in found or node.lineno < found[target].line):
                found[target] = Import(module, target, node.lineno)
    return list(found.values())


IMPORTS = [imp for module in MODULES for imp in _imports(module)]


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(sorted(component))
    return components


def test_every_module_belongs_to_a_layer():
    assert MODULES["queries.release"] == ROOT / "queries" / "release.py"
    assert {"disclosure.policy", "deployment.settings", "dashboard.app", "tests.conftest"} <= MODULES.keys()
    unplaced = sorted({_layer(m) for m in MODULES} - RANK.keys())
    assert not unplaced, f"top-level packages missing from LAYERS (place each among the layers): {unplaced}"


def test_every_project_import_is_a_module():
    """The parser sees what Python would import: every import of a project package names one of its modules."""
    assert len(IMPORTS) > 400
    assert any(i.module == "analyses.context" and i.target == "queries.release" for i in IMPORTS)
    unknown = [i.where() for i in IMPORTS if i.target not in MODULES]
    assert not unknown, f"imports of project names that are no module: {unknown}"


def test_no_module_imports_a_higher_layer():
    upward = [f"{i.where()}: {_layer(i.module)} is below {_layer(i.target)}" for i in IMPORTS
              if RANK[_layer(i.target)] > RANK[_layer(i.module)]]
    assert not upward, f"imports from a higher layer (order, lowest first: {', '.join(LAYERS)}): {upward}"


def test_no_import_cycles():
    edges: dict[str, set[str]] = {module: set() for module in MODULES}
    for i in IMPORTS:
        edges[i.module].add(i.target)
    cycles = _cycles(edges)
    assert not cycles, f"modules that import each other (directly or through others): {cycles}"


def test_the_checks_catch_what_they_look_for():
    """The cycle finder on small graphs: a circle through three modules, one within a package, none in a chain."""
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"queries.engines": {"queries.spark"}, "queries.spark": {"queries.engines"}}) == \
        [["queries.engines", "queries.spark"]]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []
    assert _resolve("queries.engine.CohortEngine") == "queries.engine"
    assert _resolve("pandas.DataFrame") is None
