"""The facades export exactly their public names, sorted (as httpx does)."""

import importlib

import pytest

import credsync


def _isort_key(name: str) -> tuple[int, str]:
    if name.isupper():
        return (0, name)
    return (1 if name[0].isupper() else 2, name)


MODULES = [
    "credsync",
    "credsync.errors",
    "credsync.types",
    "credsync.crypto",
    "credsync.vault",
    "credsync.storage",
    "credsync.api",
]


@pytest.mark.parametrize("name", MODULES)
def test_all_is_sorted_and_resolvable(name: str) -> None:
    module = importlib.import_module(name)
    exported = list(module.__all__)
    # isort-style, as ruff's RUF022 keeps it: CONSTANTS, then Classes, then functions.
    assert exported == sorted(exported, key=_isort_key)
    for member in exported:
        assert hasattr(module, member), f"{name}.{member} is in __all__ but missing"


def test_package_exports_every_public_error() -> None:
    import credsync.errors as errors

    public = {n for n in dir(credsync) if not n.startswith("_")} - {
        "agent",
        "api",
        "checks",
        "cli",
        "config",
        "connectors",
        "crypto",
        "errors",
        "logcontext",
        "server",
        "storage",
        "sync",
        "telemetry",
        "testing",
        "types",
        "vault",
        "web",
    }
    assert public == set(credsync.__all__) - {"__version__"}
    for name in credsync.__all__:
        if name.endswith("Error") or name in ("NotFound", "StaleVersion", "VaultLocked"):
            assert getattr(credsync, name) is getattr(errors, name)
