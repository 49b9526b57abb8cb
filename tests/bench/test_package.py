"""The package's shape, as its docstring states it: one module per concept, each importing only
the modules listed above it (so no cycle), engines only through ``rnnlab.engine``, and torch
only where it is timed."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import rnnlab.bench

PACKAGE = Path(rnnlab.bench.__file__).parent
# the module list of the package docstring, in its order
ORDER = re.findall(r"^    (\w+) {2,}", rnnlab.bench.__doc__, flags=re.MULTILINE)
ORDER = [name for name in ORDER if (PACKAGE / f"{name}.py").exists()]


def imports(module: str) -> list[tuple[str, bool]]:
    """(imported module, whether at module level) for every import in ``module``'s file."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, id(node) in top) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            found.append((node.module, id(node) in top))
    return found


def test_the_docstring_lists_every_module_of_the_package():
    modules = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__")
    assert sorted(ORDER) == modules and len(ORDER) == len(set(ORDER))


def test_each_module_imports_only_the_modules_listed_above_it():
    for k, module in enumerate(ORDER):
        inside = {
            name.split(".")[2] for name, _ in imports(module) if name.startswith("rnnlab.bench.")
        }
        assert inside <= set(ORDER[:k]), f"{module} imports {sorted(inside - set(ORDER[:k]))}"


BASELINES = ("baseline", "seq2seq_baseline")  # the plain torch references, loaded when timed


def test_engines_are_built_through_the_factory_and_only_the_baselines_import_torch_up_front():
    for module in ["__init__", *ORDER]:
        for name, at_top in imports(module):
            root = name.split(".")
            assert root[:2] not in (["rnnlab", "numpy"], ["rnnlab", "torch"]), (module, name)
            if root[0] == "torch" and at_top:
                assert module in BASELINES, f"{module} imports {name} when it is imported"


def test_importing_the_package_and_its_command_imports_no_torch():
    code = (
        "import sys; import rnnlab.bench; from rnnlab.bench import bench_command; "
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
