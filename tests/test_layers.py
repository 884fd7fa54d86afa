"""The architecture holds: import-linter's contracts (pyproject.toml, [tool.importlinter]) are kept, and no
two modules of sovereval import each other, directly or round a longer loop.

The cycle check is our own and static: every ``import`` of the source (inside functions and under
``TYPE_CHECKING`` too) is an edge of the module graph; a strongly connected component of more than one
module is a cycle.  It does not depend on import-linter, so it also names the loop when the tool is absent.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PACKAGE = "sovereval"


def test_import_linter_contracts_are_kept() -> None:
    try:
        import importlinter  # noqa: F401
    except ImportError as e:  # a dev dependency: pip install -e '.[dev]'
        raise AssertionError("import-linter is not installed (it is in the dev extra)") from e
    # the lint-imports entry point; `python -m importlinter.cli` would only define the command
    code = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"
    proc = subprocess.run([sys.executable, "-c", code, "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
                          check=False, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"lint-imports failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    assert " kept, 0 broken." in proc.stdout, proc.stdout


# --------------------------------------------------------------------------------------------------
# Import cycles, from the source
# --------------------------------------------------------------------------------------------------


def _modules() -> dict[str, tuple[Path, bool]]:
    """Module name -> (file, is a package's __init__)."""
    out = {}
    for path in sorted((SRC / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        if is_pkg:
            parts.pop()
        out[".".join(parts)] = (path, is_pkg)
    return out


def import_graph() -> dict[str, set[str]]:
    """Module -> the modules of the package it imports (``from pkg import mod`` is an import of ``pkg.mod``,
    ``from mod import name`` of ``mod``; a name that is no module is looked up in its nearest module)."""
    modules = _modules()

    def owner(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for mod, (path, is_pkg) in modules.items():
        here = mod if is_pkg else mod.rpartition(".")[0]
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = here.split(".")[: len(here.split(".")) - (node.level - 1)]
                    src = ".".join(base + ([node.module] if node.module else []))
                else:
                    src = node.module or ""
                for a in node.names:
                    sub = f"{src}.{a.name}"
                    targets.append(sub if sub in modules else src)
            for t in targets:
                if t == PACKAGE or t.startswith(PACKAGE + "."):
                    target = owner(t)
                    if target is not None and target != mod:
                        edges.add(target)
        graph[mod] = edges
    return graph


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    out.append(sorted(comp))
    return out


def _a_cycle(graph: dict[str, set[str]], comp: list[str]) -> list[str]:
    """One loop through the component, from its first module back to it (breadth-first: a shortest one)."""
    inside = set(comp)
    start = comp[0]
    prev: dict[str, str] = {}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v] & inside):
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(prev[path[-1]])
                    return [start, *reversed(path[:-1]), start]
                if w not in prev:
                    prev[w] = v
                    nxt.append(w)
        frontier = nxt
    return comp


def test_the_cycle_finder_finds_cycles() -> None:
    g = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    comps = [c for c in strongly_connected(g) if len(c) > 1]
    assert comps == [["a", "b", "c"]]
    assert _a_cycle(g, comps[0]) == ["a", "b", "c", "a"]


def test_no_import_cycles_in_sovereval() -> None:
    graph = import_graph()
    assert "sovereval.cli" in graph and "sovereval.bench.cli" in graph["sovereval.cli"]  # the parser sees imports
    cycles = [c for c in strongly_connected(graph) if len(c) > 1]
    shown = "\n".join(f"{len(c)} modules: {' -> '.join(_a_cycle(graph, c))}\n    all: {', '.join(c)}" for c in cycles)
    assert not cycles, f"import cycles (break them: move the shared piece into a module both import):\n{shown}"
