"""The package layout keeps its shape: no import cycles, no hidden ones, layers point one way.

The module graph is built from the source with :mod:`ast` (nothing is imported), so
the test sees every ``import`` statement, including those inside functions and under
``if TYPE_CHECKING:``. See docs/architecture.md for the picture these rules protect.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[2] / "judgekit"

# Function-level imports of judgekit modules that are allowed, each with its reason.
# Anything else inside a function is an import cycle being dodged, or a leftover.
LAZY_ALLOWED = {
    ("judgekit.backends.transformers", "judgekit.backends.constrain"):
        "constrain imports torch and outlines-core at module level (the optional [local] extra); "
        "the backend compiles constraints only when asked to",
}
# Registries import their entries by dotted name (importlib) so that `import judgekit`
# stays free of torch/transformers/vLLM; those strings are not import statements.


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def _targets(module: str, node: ast.Import | ast.ImportFrom, is_pkg: bool) -> list[str]:
    """The judgekit modules an import statement loads (``from pkg import submodule`` counts the submodule)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split(".")[0] == "judgekit"]
    if node.level:
        base = module.split(".") if is_pkg else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        source = ".".join([*base, *([node.module] if node.module else [])])
    else:
        source = node.module or ""
    if source.split(".")[0] != "judgekit":
        return []
    return [f"{source}.{a.name}" if f"{source}.{a.name}" in MODULES else source for a in node.names]


def _imports() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Module-level and function-level judgekit imports of every module."""
    top: dict[str, set[str]] = {m: set() for m in MODULES}
    nested: dict[str, set[str]] = {m: set() for m in MODULES}

    for module, path in MODULES.items():
        is_pkg = path.name == "__init__.py"

        def visit(node: ast.AST, in_function: bool, module: str = module, is_pkg: bool = is_pkg) -> None:
            for child in ast.iter_child_nodes(node):
                inner = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
                if isinstance(child, ast.Import | ast.ImportFrom):
                    for target in _targets(module, child, is_pkg):
                        (nested if in_function else top)[module].add(target)
                visit(child, inner)

        visit(ast.parse(path.read_text(encoding="utf-8")), False)
    return top, nested


TOP, NESTED = _imports()


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), or a self-import."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in graph:
                continue
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in graph.get(v, ()):
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return found


def test_the_graph_is_read() -> None:
    # guards the walker itself: a known module-level and a known function-level import
    assert "judgekit.core.types" in TOP["judgekit.core.runner"]
    assert "judgekit.backends.constrain" in NESTED["judgekit.backends.transformers"]


def test_no_import_cycles_at_module_level() -> None:
    assert _cycles(TOP) == []


def test_no_import_cycles_even_counting_function_level_imports() -> None:
    both = {m: TOP[m] | NESTED[m] for m in MODULES}
    assert _cycles(both) == []


def test_function_level_judgekit_imports_are_only_the_listed_lazy_ones() -> None:
    found = {(m, t) for m, targets in NESTED.items() for t in targets}
    assert found - set(LAZY_ALLOWED) == set(), "import these at module level (or list them with a reason)"
    assert set(LAZY_ALLOWED) - found == set(), "stale entry in LAZY_ALLOWED"


def test_at_most_a_dozen_modules_directly_under_judgekit() -> None:
    top_level = sorted(p.name for p in PKG.glob("*.py"))
    assert len(top_level) <= 12, top_level


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.startswith("judgekit.core")))
def test_core_depends_on_nothing_outside_core(module: str) -> None:
    outside = {t for t in TOP[module] | NESTED[module] if not t.startswith("judgekit.core")}
    assert outside == set()


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m.startswith("judgekit.backends")))
def test_backends_depend_only_on_core(module: str) -> None:
    outside = {t for t in TOP[module] | NESTED[module] if not t.startswith(("judgekit.core", "judgekit.backends"))}
    assert outside == set()


def test_only_the_cli_imports_the_cli() -> None:
    users = {m for m in MODULES if not m.startswith("judgekit.cli") and m != "judgekit.__main__"
             and any(t.startswith("judgekit.cli") for t in TOP[m] | NESTED[m])}
    assert users == set()


def test_the_cycle_finder_finds_cycles() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"a"}}) == [["a"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
