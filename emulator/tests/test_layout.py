"""The emulator's modules form layers: no import cycle among them, and no import of one of
them from inside a function, where it would only hide a cycle until the function runs.

Read with `ast`, never imported, so a cycle cannot hide behind import order. Imports under
`if TYPE_CHECKING:` count as well: a cycle through annotations is still a cycle between
the modules' jobs."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = "greenlight_emulator"
PACKAGE_DIR = Path(__file__).resolve().parents[1] / PACKAGE


def module_names(root: Path, package: str) -> dict[str, Path]:
    """{dotted module name: file} of every module of the package; a package is its __init__."""
    out: dict[str, Path] = {}
    for path in sorted(root.rglob("*.py")):
        parts = [package, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _base(module: str, is_package: bool, level: int) -> str:
    """The package a relative import of the given level starts from."""
    parts = module.split(".")
    if not is_package:
        parts.pop()
    for _ in range(level - 1):
        parts.pop()
    return ".".join(parts)


def _ancestors(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


class _Imports(ast.NodeVisitor):
    """The package's modules one module imports: at module level (with the line), and inside
    function bodies."""

    def __init__(self, module: str, is_package: bool, modules: set[str], package: str) -> None:
        self.module = module
        self.is_package = is_package
        self.modules = modules
        self.package = package
        self.depth = 0
        self.top: list[tuple[str, int]] = []
        self.in_functions: list[tuple[str, int]] = []

    def _targets(self, node: ast.Import | ast.ImportFrom) -> list[str]:
        found: list[str] = []
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == self.package or alias.name.startswith(self.package + "."):
                    found.append(alias.name)
            return found
        if node.level:
            base = _base(self.module, self.is_package, node.level)
            source = f"{base}.{node.module}" if node.module else base
        else:
            source = node.module or ""
        if source != self.package and not source.startswith(self.package + "."):
            return found
        for alias in node.names:
            submodule = f"{source}.{alias.name}"
            target = submodule if submodule in self.modules else source
            if target not in found:
                found.append(target)
        return found

    def _record(self, node: ast.Import | ast.ImportFrom) -> None:
        for target in self._targets(node):
            if self.depth:
                self.in_functions.append((target, node.lineno))
                continue
            # Importing a module first runs the __init__ of each package above it, except the
            # packages this module is itself part of (those are already being imported).
            own = set(_ancestors(self.module)) | ({self.module} if self.is_package else set())
            for name in [*_ancestors(target), target]:
                if name != self.module and (name == target or name not in own):
                    self.top.append((name, node.lineno))

    visit_Import = _record
    visit_ImportFrom = _record

    def _function(self, node: ast.AST) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = _function
    visit_AsyncFunctionDef = _function
    visit_Lambda = _function


def import_graph(root: Path, package: str) -> tuple[dict[str, set[str]], list[str]]:
    """(module-level import graph among the package's modules, imports found inside functions)."""
    modules = module_names(root, package)
    graph: dict[str, set[str]] = {name: set() for name in modules}
    in_functions: list[str] = []
    for name, path in modules.items():
        visitor = _Imports(name, path.name == "__init__.py", set(modules), package)
        visitor.visit(ast.parse(path.read_text(), filename=str(path)))
        for target, _line in visitor.top:
            if target in modules:
                graph[name].add(target)
        for target, line in visitor.in_functions:
            in_functions.append(f"{path.relative_to(root.parent)}:{line} imports {target} inside a function")
    return graph, in_functions


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


# ----------------------------------------------------------------------
# The emulator
# ----------------------------------------------------------------------
def test_the_emulator_modules_are_found():
    modules = module_names(PACKAGE_DIR, PACKAGE)
    assert {f"{PACKAGE}.control", f"{PACKAGE}.middleware", f"{PACKAGE}.seed"} <= set(modules)
    assert len(modules) >= 15


def test_no_import_cycle_among_the_emulator_modules():
    graph, _ = import_graph(PACKAGE_DIR, PACKAGE)
    assert cycles(graph) == []


def test_no_emulator_module_is_imported_inside_a_function():
    _, in_functions = import_graph(PACKAGE_DIR, PACKAGE)
    assert in_functions == []


# ----------------------------------------------------------------------
# The checks themselves, on small made-up packages
# ----------------------------------------------------------------------
def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "pkg"
    for name, text in {"__init__.py": "", **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_a_cycle_through_relative_imports_is_found(tmp_path):
    root = _package(
        tmp_path,
        {
            "a.py": "from .b import thing\n",
            "b.py": "from . import c\n",
            "c.py": "import pkg.a\n",
            "d.py": "from .a import thing\n",
        },
    )
    graph, _ = import_graph(root, "pkg")
    assert cycles(graph) == [["pkg.a", "pkg.b", "pkg.c"]]


def test_a_cycle_through_a_subpackage_init_is_found(tmp_path):
    root = _package(
        tmp_path,
        {
            "low.py": "from .sub.x import y\n",
            "sub/__init__.py": "from .api import z\n",
            "sub/x.py": "y = 1\n",
            "sub/api.py": "from ..low import w\n",
        },
    )
    graph, _ = import_graph(root, "pkg")
    assert cycles(graph) == [["pkg.low", "pkg.sub", "pkg.sub.api"]]


def test_a_module_may_import_its_own_package_unless_that_closes_a_cycle(tmp_path):
    fine = _package(tmp_path / "fine", {"sub/__init__.py": "NAME = 1\n", "sub/m.py": "from . import NAME\n"})
    assert cycles(import_graph(fine, "pkg")[0]) == []
    looped = _package(
        tmp_path / "looped", {"sub/__init__.py": "from .m import f\n", "sub/m.py": "from . import NAME\n"}
    )
    assert cycles(import_graph(looped, "pkg")[0]) == [["pkg.sub", "pkg.sub.m"]]


def test_type_checking_imports_count(tmp_path):
    root = _package(
        tmp_path,
        {
            "a.py": "from .b import B\n",
            "b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .a import A\n",
        },
    )
    assert cycles(import_graph(root, "pkg")[0]) == [["pkg.a", "pkg.b"]]


def test_imports_inside_functions_are_reported(tmp_path):
    root = _package(
        tmp_path,
        {
            "a.py": "import json\n\ndef f():\n    import yaml\n    from .b import g\n    return g\n",
            "b.py": "class C:\n    async def m(self):\n        from pkg import a\n",
        },
    )
    _, in_functions = import_graph(root, "pkg")
    assert in_functions == [
        "pkg/a.py:5 imports pkg.b inside a function",
        "pkg/b.py:3 imports pkg.a inside a function",
    ]
