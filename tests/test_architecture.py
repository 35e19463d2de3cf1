"""The structure the code keeps (see the README's developer section): a directory kind is named
only in its connector package and the registry, so that adding a kind is a new package and one
registry line."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from credsync.connectors import registry

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "credsync"

# Packages that may name kinds: the connectors themselves; the test worlds of real products
# (a Samba DC, the Graph simulator) and the commands that start them; migrations, which
# record history.
MAY_NAME_KINDS = (
    SRC / "connectors",
    SRC / "testing",
    SRC / "storage" / "migrations",
    SRC / "cli" / "commands" / "demo.py",
    SRC / "cli" / "commands" / "simulate.py",
)


def _kind_words() -> tuple[set[str], re.Pattern[str]]:
    names = {n.lower() for k in registry.KINDS for n in (k.name, *k.aliases)}
    names |= {n.replace("_", "-") for n in names}
    displays = "|".join(re.escape(k.display_name) for k in registry.KINDS)
    return names, re.compile(rf"\b({displays})\b")


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
        ):
            found.add(id(body[0].value))
    return found


def test_no_module_outside_the_connectors_names_a_kind() -> None:
    """No string in the code (docstrings and comments may explain with examples) is a kind's
    name, one of its aliases or holds its display name."""
    names, displays = _kind_words()
    found = []
    for path in sorted(SRC.rglob("*.py")):
        if any(path == p or p in path.parents for p in MAY_NAME_KINDS):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docs = _docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if id(node) in docs:
                    continue
                if node.value.strip().lower() in names or displays.search(node.value):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value[:60]!r}")
    assert found == []


def test_no_template_names_a_kind() -> None:
    names, displays = _kind_words()
    quoted = re.compile("|".join(rf"[\"']{re.escape(n)}[\"']" for n in sorted(names)))
    found = []
    for path in sorted((SRC / "web" / "templates").glob("*.html")):
        text = path.read_text(encoding="utf-8")
        for number, line in enumerate(text.splitlines(), 1):
            if quoted.search(line) or displays.search(line):
                found.append(f"{path.name}:{number}: {line.strip()[:80]}")
    assert found == []


def test_the_registry_lists_each_connector_package_once() -> None:
    packages = {
        p.name
        for p in (SRC / "connectors").iterdir()
        if p.is_dir() and (p / "__init__.py").exists()
    }
    registered = {k.__class__.__module__ for k in registry.KINDS}
    assert registered == {"credsync.connectors.kinds"}
    modules = {k.open.__module__ for k in registry.KINDS}
    assert {m.split(".")[2] for m in modules} == packages
    assert all(m.endswith(".kind") for m in modules)
