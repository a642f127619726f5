"""Import layering: data flows one way, no module imports a higher layer, and there are no cycles.

The layers are listed lowest first; a module belongs to the layer of its longest matching
prefix. A module may import from its own layer or lower ones. Function-level imports of
``pna`` modules are forbidden (they hide cycles); third-party libraries may be imported
lazily where a stage needs them. ``pna.pipeline`` is the only orchestrator: nothing imports it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "pna"

LAYERS: list[tuple[str, ...]] = [
    ("pna", "pna.errors", "pna.modes"),
    ("pna.crs", "pna.schema", "pna.progress", "pna.io"),
    ("pna.config", "pna.quality", "pna.provenance"),
    ("pna.cache",),  # replays the quality log of a cached parse
    ("pna.loaders",),
    ("pna.geography",),
    ("pna.access",),
    ("pna.transit",),
    ("pna.access.stage",),
    ("pna.consultation",),
    ("pna.provision",),
    ("pna.assess.whatif", "pna.assess.resilience"),
    ("pna.statements",),
    ("pna.assess",),
    ("pna.report",),
    ("pna.national",),
    ("pna.fetch",),
    ("pna.cli",),
    ("pna.pipeline",),
]


def layer_of(module: str) -> int:
    best, best_len = -1, -1
    for i, names in enumerate(LAYERS):
        for name in names:
            if (module == name or module.startswith(name + ".")) and len(name) > best_len:
                best, best_len = i, len(name)
    if best < 0:
        raise AssertionError(f"{module} is in no layer: add it to LAYERS")
    return best


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


MODULES = _modules()


def imports_of(module: str, path: Path) -> list[tuple[str, int, bool]]:
    """(imported pna module, line, at function level) for every import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[tuple[str, int, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")[: len(package.split(".")) - (child.level - 1)]
                    target = ".".join(base + ([child.module] if child.module else []))
                else:
                    target = child.module or ""
                if target == "pna" or target.startswith("pna."):
                    # "from . import x" may name a submodule
                    for alias in child.names:
                        sub = f"{target}.{alias.name}"
                        found.append((sub if sub in MODULES else target, child.lineno, in_function))
            elif isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name == "pna" or alias.name.startswith("pna."):
                        found.append((alias.name, child.lineno, in_function))
            visit(child, nested)

    visit(tree, False)
    return found


GRAPH = {m: imports_of(m, p) for m, p in MODULES.items()}


def test_every_module_has_a_layer():
    for m in MODULES:
        layer_of(m)


def test_no_upward_imports():
    bad = [f"{m} (layer {layer_of(m)}) imports {t} (layer {layer_of(t)}) at line {line}"
           for m, imps in GRAPH.items() for t, line, _ in imps if layer_of(t) > layer_of(m)]
    assert not bad, "\n".join(bad)


def test_no_function_level_imports_of_pna():
    bad = [f"{m}:{line} imports {t} inside a function" for m, imps in GRAPH.items() for t, line, fn in imps if fn]
    assert not bad, "\n".join(bad)


def test_nothing_imports_the_pipeline():
    bad = [m for m, imps in GRAPH.items() for t, _, _ in imps if t == "pna.pipeline" and m != "pna.pipeline"]
    assert not bad


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle in ``graph`` (as a list of modules), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def dfs(u: str) -> list[str] | None:
        state[u] = 1
        stack.append(u)
        for v in sorted(graph.get(u, ())):
            if state.get(v) == 1:
                return stack[stack.index(v):] + [v]
            if v not in state:
                found = dfs(v)
                if found:
                    return found
        stack.pop()
        state[u] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = dfs(node)
            if found:
                return found
    return None


def test_no_import_cycles():
    graph = {m: {t for t, _, _ in imps if t != m and t in MODULES} for m, imps in GRAPH.items()}
    cycle = find_cycle(graph)
    assert cycle is None, " -> ".join(cycle or [])


@pytest.mark.parametrize("graph, cyclic", [({"a": {"b"}, "b": {"c"}, "c": {"a"}}, True),
                                           ({"a": {"b"}, "b": {"c"}, "c": set()}, False)])
def test_cycle_finder_finds_cycles(graph, cyclic):
    assert (find_cycle(graph) is not None) == cyclic
