"""The emulator's modules form layers. The rules:

- no import cycle among them;
- no import of one of them from inside a function, where it would only hide a cycle until the
  function runs;
- no module uses another one's private (underscore-prefixed) names, imported or as an
  attribute of the imported module: what another module needs is made public;
- an import of anything else inside a function says why it is deferred, in a comment on the
  line above or on the import's own line.

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
        self.private: list[tuple[str, int]] = []  # (module.name, line)
        self.other_in_functions: list[tuple[str, int]] = []  # imports of anything else
        self.module_aliases: dict[str, str] = {}  # local name: package module it is bound to

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

    def _private_names(self, node: ast.Import | ast.ImportFrom) -> None:
        """Notes private names imported from the package's other modules, and the local names
        bound to its modules (whose private attributes count as well)."""
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in self.modules and alias.asname:
                    self.module_aliases[alias.asname] = alias.name
            return
        targets = self._targets(node)
        if not targets:
            return
        if node.level:
            base = _base(self.module, self.is_package, node.level)
            source = f"{base}.{node.module}" if node.module else base
        else:
            source = node.module or ""
        for alias in node.names:
            submodule = f"{source}.{alias.name}"
            if submodule in self.modules:
                self.module_aliases[alias.asname or alias.name] = submodule
            elif _is_private(alias.name) and source != self.module:
                self.private.append((f"{source}.{alias.name}", node.lineno))

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if isinstance(node.value, ast.Name) and _is_private(node.attr):
            module = self.module_aliases.get(node.value.id)
            if module is not None and module != self.module:
                self.private.append((f"{module}.{node.attr}", node.lineno))
        self.generic_visit(node)

    def _record(self, node: ast.Import | ast.ImportFrom) -> None:
        self._private_names(node)
        targets = self._targets(node)
        if self.depth and not targets:
            self.other_in_functions.append((_imported(node), node.lineno))
        for target in targets:
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


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _imported(node: ast.Import | ast.ImportFrom) -> str:
    if isinstance(node, ast.Import):
        return ", ".join(alias.name for alias in node.names)
    return "." * node.level + (node.module or "")


def _visit(root: Path, package: str) -> list[tuple[str, Path, _Imports]]:
    modules = module_names(root, package)
    out = []
    for name, path in modules.items():
        visitor = _Imports(name, path.name == "__init__.py", set(modules), package)
        visitor.visit(ast.parse(path.read_text(), filename=str(path)))
        out.append((name, path, visitor))
    return out


def private_uses(root: Path, package: str) -> list[str]:
    """Uses of another module's private names, as "file:line uses module.name"."""
    return [
        f"{path.relative_to(root.parent)}:{line} uses {target}"
        for _name, path, visitor in _visit(root, package)
        for target, line in visitor.private
    ]


def unexplained_deferred_imports(root: Path, package: str) -> list[str]:
    """Imports of other packages inside functions without a comment saying why."""
    out = []
    for _name, path, visitor in _visit(root, package):
        lines = path.read_text().splitlines()
        for imported, line in visitor.other_in_functions:
            own, above = lines[line - 1], lines[line - 2] if line >= 2 else ""
            if "#" not in own and not above.strip().startswith("#"):
                out.append(f"{path.relative_to(root.parent)}:{line} imports {imported} inside a function")
    return out


def import_graph(root: Path, package: str) -> tuple[dict[str, set[str]], list[str]]:
    """(module-level import graph among the package's modules, imports found inside functions)."""
    modules = module_names(root, package)
    graph: dict[str, set[str]] = {name: set() for name in modules}
    in_functions: list[str] = []
    for name, path, visitor in _visit(root, package):
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


def test_no_emulator_module_uses_another_ones_private_names():
    assert private_uses(PACKAGE_DIR, PACKAGE) == []


def test_every_import_deferred_into_a_function_says_why():
    assert unexplained_deferred_imports(PACKAGE_DIR, PACKAGE) == []


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


def test_private_names_of_other_modules_are_reported(tmp_path):
    root = _package(
        tmp_path,
        {
            "a.py": "_HIDDEN = 1\n__version__ = '1'\n\ndef _helper():\n    return _HIDDEN\n",
            "b.py": "from .a import _HIDDEN, __version__\nfrom . import a\nimport pkg.a as mod\n\n"
            "def f():\n    return a._helper(), mod._HIDDEN, a.__name__\n",
            "sub/__init__.py": "",
            "sub/c.py": "from ..a import _helper as helper\nfrom .. import a as the_a\nx = the_a._HIDDEN\n",
        },
    )
    assert private_uses(root, "pkg") == [
        "pkg/b.py:1 uses pkg.a._HIDDEN",
        "pkg/b.py:6 uses pkg.a._helper",
        "pkg/b.py:6 uses pkg.a._HIDDEN",
        "pkg/sub/c.py:1 uses pkg.a._helper",
        "pkg/sub/c.py:3 uses pkg.a._HIDDEN",
    ]


def test_deferred_imports_of_other_packages_need_a_comment(tmp_path):
    root = _package(
        tmp_path,
        {
            "a.py": "def f():\n    import yaml\n\n"
            "def g():\n    # boto3 takes a second to load; only g needs it\n    import boto3\n\n"
            "def h():\n    from json import loads  # the stdlib, kept local for the example\n",
        },
    )
    assert unexplained_deferred_imports(root, "pkg") == ["pkg/a.py:2 imports yaml inside a function"]
