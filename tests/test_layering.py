"""The architecture, checked: the import graph has no cycle, and nothing outside the two
engines reaches into their modules (only the engine factory, ``rnnlab.engine``, does; other
code may use an engine package's public names, ``from rnnlab.numpy import ...``)."""

import ast
from pathlib import Path

import rnnlab

ROOT = Path(rnnlab.__file__).parent
ENGINES = ("rnnlab.numpy", "rnnlab.torch")


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, top_level_only: bool) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else ast.walk(tree)
    found = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)  # submodules
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {name for name in found if name.startswith("rnnlab")}


def _graph(top_level_only: bool) -> dict[str, set[str]]:
    files = {_module(p): p for p in ROOT.rglob("*.py")}
    return {m: {d for d in _imports(p, top_level_only) if d in files and d != m}
            for m, p in files.items()}  # fmt: skip


def _engine_of(module: str) -> str | None:
    return next((e for e in ENGINES if module == e or module.startswith(e + ".")), None)


def test_nothing_outside_the_engines_imports_their_modules():
    offenders = []
    for module, deps in _graph(top_level_only=False).items():
        if _engine_of(module) or module == "rnnlab.engine":
            continue
        offenders += [f"{module} -> {d}" for d in deps if _engine_of(d) and d not in ENGINES]
    assert not offenders, offenders


def test_the_torch_engine_does_not_reach_into_the_numpy_engine():
    graph = _graph(top_level_only=False)
    offenders = [
        f"{m} -> {d}"
        for m, deps in graph.items()
        if _engine_of(m) == "rnnlab.torch"
        for d in deps
        if _engine_of(d) == "rnnlab.numpy"
    ]
    assert not offenders, offenders


def test_the_import_graph_has_no_cycle():
    graph = _graph(top_level_only=True)
    done, path = set(), []

    def visit(module):
        if module in path:
            cycle = [*path[path.index(module) :], module]
            raise AssertionError("import cycle: " + " -> ".join(cycle))
        if module in done:
            return
        path.append(module)
        for dep in sorted(graph.get(module, ())):
            # a package imports its own submodules to re-export them: not a cycle of ideas
            if not dep.startswith(module + "."):
                visit(dep)
        path.pop()
        done.add(module)

    for module in sorted(graph):
        visit(module)
