"""Every package ``src/credsync`` imports is declared in pyproject.toml: the standard library,
credsync itself, or a dependency. A development dependency (pytest...) is imported only under
``credsync.testing``, in a module the product never imports: the product's modules and every
module they import, at the top or inside a function (``credsync demo`` and ``credsync simulate
graph`` run the Graph simulator, so it is the product's too), use runtime dependencies only."""

from __future__ import annotations

import ast
import functools
import importlib.metadata
import re
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))

# Imports of development dependencies that a module the product runs makes only when a test
# calls it, and why that is so.
DEFERRED = {
    ("credsync.testing.graphsim._fixtures", "pytest"): "simulator_fixture is called by tests",
}


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared(requirements: list[str]) -> set[str]:
    return {_normal(re.split(r"[\s\[<>=!~;]", r, maxsplit=1)[0]) for r in requirements}


RUNTIME = _declared(PYPROJECT["project"]["dependencies"])
DEV = _declared(PYPROJECT["project"]["optional-dependencies"]["dev"])
DISTRIBUTIONS = importlib.metadata.packages_distributions()


def _modules() -> dict[str, Path]:
    found = {}
    for path in (SRC / "credsync").rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


@functools.cache
def _imports(module: str) -> tuple[tuple[str, bool], ...]:
    """(name, deferred) for each module ``module`` imports: absolute, relative resolved, with
    ``from package import submodule`` as the submodule; deferred when inside a function.
    Parsed once per session (the sources don't change while the tests run)."""
    return tuple(_parse_imports(module))


def _parse_imports(module: str) -> Iterator[tuple[str, bool]]:
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    deferred: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            deferred.update(id(inner) for inner in ast.walk(node) if inner is not node)
    for node in ast.walk(tree):
        later = id(node) in deferred
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, later
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            yield base, later
            for alias in node.names:
                if f"{base}.{alias.name}" in MODULES:
                    yield f"{base}.{alias.name}", later


def _product() -> set[str]:
    """The modules the product may run: every module outside credsync.testing, and what they
    import (with the packages above each), transitively."""
    todo = [m for m in MODULES if not m.startswith("credsync.testing")]
    seen: set[str] = set()
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        for name, _ in _imports(module):
            parts = name.split(".")
            todo += [p for i in range(1, len(parts) + 1) if (p := ".".join(parts[:i])) in MODULES]
    return seen


def _third_party() -> Iterator[tuple[str, str, bool]]:
    """(module, distribution, deferred) for every import of a package not ours or stdlib."""
    for module in MODULES:
        for name, later in _imports(module):
            top = name.split(".")[0]
            if top == "credsync" or top in sys.stdlib_module_names:
                continue
            names = DISTRIBUTIONS.get(top)
            assert names, f"{module} imports {top}, which no installed distribution provides"
            yield module, _normal(names[0]), later


def test_every_import_is_a_declared_dependency() -> None:
    undeclared = {(module, dist) for module, dist, _ in _third_party() if dist not in RUNTIME | DEV}
    assert undeclared == set(), "declare these in pyproject.toml"


def test_development_dependencies_stay_in_modules_only_tests_import() -> None:
    product = _product()
    assert "credsync.testing.graphsim._server" in product  # credsync simulate graph, demo
    assert "credsync.testing.conformance" not in product
    misplaced = set()
    for module, dist, later in _third_party():
        tests_only = module.startswith("credsync.testing") and module not in product
        if dist not in RUNTIME and not tests_only and not (later and (module, dist) in DEFERRED):
            misplaced.add((module, dist))
    assert misplaced == set(), "the product imports development dependencies"


def test_every_runtime_dependency_is_used() -> None:
    used = {dist for _, dist, _ in _third_party()}
    # Used by name only: the PostgreSQL driver (a database URL), the form parser (FastAPI),
    # uvicorn's HTTP parser and event loop (it loads them itself when they are installed).
    unused = RUNTIME - used - {"psycopg", "python-multipart", "httptools", "uvloop"}
    assert unused == set()
