"""The simulator's access table against Microsoft's permission map (permissions.json)."""

from __future__ import annotations

import re

import pytest

from credsync.testing.graphsim._permissions import ROUTES

from .reference import application_grants, normal_path


def _lookup(route: str) -> tuple[str, str]:
    method, _, path = re.sub(r" \((user|group)\)$", "", route).partition(" ")
    return method, normal_path(path.removesuffix("/$ref"))


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_every_route_permission_is_granted_by_microsofts_map(route: str) -> None:
    access = ROUTES[route]
    if not access.permissions:
        assert route == "POST /$batch"  # each inner request is checked on its own
        return
    grants = application_grants()
    key = _lookup(access.map_route or route)
    assert key in grants, f"{key} is not in Microsoft's map (route {route})"
    missing = set(access.permissions) - grants[key]
    assert not missing, f"{route}: Microsoft's map does not grant {sorted(missing)} for {key}"


@pytest.mark.parametrize("route", sorted(r for r, a in ROUTES.items() if a.map_route))
def test_a_stand_in_route_is_used_only_where_the_map_has_no_answer(route: str) -> None:
    grants = application_grants()
    own = grants.get(_lookup(route))
    assert own is None or not set(ROUTES[route].permissions) <= own, (
        f"{route} is in Microsoft's map itself: drop its map_route"
    )


def test_password_writes_and_reads_use_the_documented_least_privileges() -> None:
    grants = application_grants()
    assert "User-PasswordProfile.ReadWrite.All" in grants[("PATCH", "/users/{id}")]
    assert "User.Read.All" in grants[("GET", "/users")]
    assert "User.Read.All" in ROUTES["GET /users"].permissions
    assert "User-PasswordProfile.ReadWrite.All" in ROUTES["PATCH /users/{id}"].permissions
