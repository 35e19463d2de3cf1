"""The shape of the CLI's ports (credsync.cli.ports): each area has its Protocol with a local
and a remote implementation of every operation; commands never ask where the vault is; the
API client and the ports import nothing of the runtime or the commands (no import cycle);
the web imports no API route."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path
from typing import Any

import pytest

import credsync

SRC = Path(credsync.__file__).parent
AREAS = [
    "audit",
    "clients",
    "credentials",
    "flags",
    "people",
    "people_deleted",
    "people_import",
    "policies",
    "quarantine",
    "sync",
    "transfer",
]
# The directory commands move onto the ports next (their options come from kind descriptors).
NOT_YET = {"directories.py"}


def _imports(path: Path) -> set[str]:
    """Every module a file imports, anywhere in it (functions and TYPE_CHECKING too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def _protocol_methods(protocol: type) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in vars(protocol).items()
        if callable(member) and not name.startswith("_")
    }


@pytest.mark.parametrize("area", AREAS)
def test_each_area_has_a_local_and_a_remote_port_of_every_operation(area: str) -> None:
    module = importlib.import_module(f"credsync.cli.ports.{area}")
    [protocol] = [v for k, v in vars(module).items() if k.endswith("Port") and k[0].isupper()]
    methods = _protocol_methods(protocol)
    assert methods, protocol
    implementations: list[Any] = [
        inspect.signature(module.local).return_annotation,
        inspect.signature(module.remote).return_annotation,
    ]
    assert implementations == [protocol.__name__] * 2  # the factories give the Protocol
    for prefix in ("Local", "Remote"):
        [made] = [
            v
            for k, v in vars(module).items()
            if k.startswith(prefix) and getattr(v, "__module__", "") == module.__name__
        ]
        for name, wanted in methods.items():
            assert hasattr(made, name), f"{made.__name__} lacks {name}"
            got = inspect.signature(getattr(made, name))
            if any(p.kind is p.VAR_KEYWORD for p in got.parameters.values()):
                continue  # takes the Protocol's keywords as they come
            assert list(got.parameters) == list(wanted.parameters), f"{made.__name__}.{name}"


def test_the_runtime_picks_the_ports_once() -> None:
    from credsync.cli.ports import Ports

    ports = Ports(local=object())  # type: ignore[arg-type]
    assert ports.clients is ports.clients
    assert not ports.remote
    with pytest.raises(TypeError):
        Ports()


def test_commands_never_ask_where_the_vault_is() -> None:
    for path in sorted((SRC / "cli" / "commands").glob("*.py")):
        if path.name in NOT_YET:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        asked = [
            n.lineno for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr == "remote"
        ]
        assert not asked, f"{path.name} lines {asked}: call runtime(ctx).ports instead"


def test_no_import_cycle_between_the_runtime_the_api_client_and_the_ports() -> None:
    below = [SRC / "cli" / "remote.py", *sorted((SRC / "cli" / "ports").glob("*.py"))]
    for path in below:
        above = {
            m
            for m in _imports(path)
            if m.startswith(
                ("credsync.cli.runtime", "credsync.cli.commands", "credsync.cli.enforce")
            )
        }
        assert not above, f"{path.relative_to(SRC)} imports {sorted(above)}"


def test_the_web_imports_no_api_route() -> None:
    for path in sorted((SRC / "web").rglob("*.py")):
        routes = {m for m in _imports(path) if m.startswith("credsync.api.routes")}
        assert not routes, f"{path.relative_to(SRC)} imports {sorted(routes)}"
