"""The people's pages are tried first (credsync.web.mount._people_first): that must change no
match, so no other page and no API route may answer an address under their prefixes."""

from __future__ import annotations

import importlib
import pkgutil

import credsync.api.routes as api_package
import credsync.web.routes as web_package
from credsync.api import API_PREFIX
from credsync.web.mount import PEOPLE_PREFIXES, PEOPLE_ROUTERS


def _other_paths() -> list[tuple[str, str]]:
    people = {module.__name__ for module in PEOPLE_ROUTERS}
    found = []
    for package, prefix in ((web_package, ""), (api_package, API_PREFIX)):
        for info in pkgutil.iter_modules(package.__path__):
            module = importlib.import_module(f"{package.__name__}.{info.name}")
            if module.__name__ in people or not hasattr(module, "router"):
                continue
            found += [(module.__name__, prefix + r.path) for r in module.router.routes]
    return found


def test_the_people_routers_answer_only_under_their_prefixes() -> None:
    for module in PEOPLE_ROUTERS:
        for route in module.router.routes:
            assert route.path.startswith(PEOPLE_PREFIXES), (module.__name__, route.path)


def test_no_other_route_can_answer_a_people_address() -> None:
    """Neither under /my/ or /idp/, nor with a parameter as its first segment (it would
    match them too)."""
    others = _other_paths()
    assert len(others) > 100  # the dashboard's pages and the API's routes were found
    offenders = [
        (name, path)
        for name, path in others
        if path.startswith(PEOPLE_PREFIXES) or path.lstrip("/").startswith("{")
    ]
    assert offenders == []
