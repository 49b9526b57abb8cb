"""The architecture, checked: the import graph has no cycle, and nothing outside the two
engines reaches into their modules (only the engine factory, ``rnnlab.engine``, does; other
code may use an engine package's public names, ``from rnnlab.numpy import ...``).

An import counts wherever it is written: at module level (``try`` and ``if`` blocks and
class bodies included, as they run on import), inside a function (it runs on the first
call), or as ``importlib.import_module("rnnlab...")`` with a literal name."""

import ast
from pathlib import Path

import rnnlab

ROOT = Path(rnnlab.__file__).parent
ENGINES = ("rnnlab.numpy", "rnnlab.torch")
FACTORY = "rnnlab.engine"
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _nodes(tree: ast.Module, module_level_only: bool):
    """Every node of ``tree``; with ``module_level_only``, those outside function bodies."""
    if not module_level_only:
        yield from ast.walk(tree)
        return
    stack = list(tree.body)
    while stack:
        node = stack.pop()
        if not isinstance(node, _FUNCTIONS):
            yield node
            stack.extend(ast.iter_child_nodes(node))


def _imported(node: ast.AST) -> set[str]:
    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        return {node.module} | {f"{node.module}.{a.name}" for a in node.names}  # submodules
    if isinstance(node, ast.Import):
        return {a.name for a in node.names}
    if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if name == "import_module" and isinstance(node.args[0].value, str):
            return {node.args[0].value}
    return set()


def _imports(path: Path, module_level_only: bool) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set().union(*(_imported(n) for n in _nodes(tree, module_level_only)))
    return {name for name in found if name.startswith("rnnlab")}


def _graph(module_level_only: bool) -> dict[str, set[str]]:
    files = {_module(p): p for p in ROOT.rglob("*.py")}
    return {m: {d for d in _imports(p, module_level_only) if d in files and d != m}
            for m, p in files.items()}  # fmt: skip


def _engine_of(module: str) -> str | None:
    return next((e for e in ENGINES if module == e or module.startswith(e + ".")), None)


def _a_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as ``[m, ..., m]``, or None. A package importing its own
    submodules (to re-export them) is not a cycle of ideas and is left out."""
    done, path = set(), []

    def visit(module):
        if module in path:
            return [*path[path.index(module) :], module]
        if module in done:
            return None
        path.append(module)
        for dep in sorted(graph.get(module, ())):
            found = None if dep.startswith(module + ".") else visit(dep)
            if found:
                return found
        path.pop()
        done.add(module)
        return None

    return next(filter(None, map(visit, sorted(graph))), None)


def test_a_cycle_is_found_and_a_package_re_exporting_its_submodules_is_none():
    assert _a_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _a_cycle({"p": {"p.x"}, "p.x": {"p"}}) is None
    assert _a_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_the_import_graph_has_no_cycle():
    cycle = _a_cycle(_graph(module_level_only=True))
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_with_imports_inside_functions_the_only_cycles_run_through_the_factory():
    """The factory imports an engine only when it is asked for one (so torch stays
    optional) and the engines import the factory's protocol: those are the only cycles."""
    graph = _graph(module_level_only=False)
    graph[FACTORY] = {d for d in graph[FACTORY] if not _engine_of(d)}
    cycle = _a_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_nothing_outside_the_engines_imports_their_modules():
    offenders = []
    for module, deps in _graph(module_level_only=False).items():
        if _engine_of(module) or module == FACTORY:
            continue
        offenders += [f"{module} -> {d}" for d in deps if _engine_of(d) and d not in ENGINES]
    assert not offenders, offenders


def test_the_torch_engine_does_not_reach_into_the_numpy_engine():
    graph = _graph(module_level_only=False)
    offenders = [
        f"{m} -> {d}"
        for m, deps in graph.items()
        if _engine_of(m) == "rnnlab.torch"
        for d in deps
        if _engine_of(d) == "rnnlab.numpy"
    ]
    assert not offenders, offenders
