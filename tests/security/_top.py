"""Constants and types of the top-level ``tests/conftest.py``, loaded by its path.

``tests/`` is not a package and other test folders have a ``conftest.py`` of their own, so
``from conftest import ...`` may find another folder's module, depending on collection order.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

__all__ = ["ADMIN_PASSWORD", "FAST_KDF", "PASSPHRASE", "VaultWorld", "fast_kdf"]


def _load() -> ModuleType:
    path = Path(__file__).resolve().parent.parent / "conftest.py"
    spec = importlib.util.spec_from_file_location("_credsync_security_top_conftest", path)
    if spec is None or spec.loader is None:  # pragma: no cover - the file is part of the repo
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it is executed
    spec.loader.exec_module(module)
    return module


_conftest = _load()

PASSPHRASE: str = _conftest.PASSPHRASE
ADMIN_PASSWORD: str = _conftest.ADMIN_PASSWORD
FAST_KDF: dict[str, int] = _conftest.FAST_KDF
fast_kdf = _conftest.fast_kdf

if TYPE_CHECKING:
    from conftest import VaultWorld
else:
    VaultWorld = _conftest.VaultWorld
