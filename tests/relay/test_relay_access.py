"""Relay definitions: who may do what (only directory.setup adds, changes, removes and applies;
vault.read lists, shows and plans), each change audited, and bad input refused with the field
it concerns; through the API too (the error envelope, 403 for a viewer)."""

from __future__ import annotations

import asyncio

import pytest

from credsync.errors import AlreadyExists, InvalidInput, PermissionDenied

from .conftest import RelayWorld


@pytest.fixture
def people(rw: RelayWorld) -> dict[str, object]:
    world = rw.sw.vault_world
    return {role: world.operator(f"op-{role}", role)
            for role in ("viewer", "technician", "auditor", "directory_manager")}  # fmt: skip


def test_without_directory_setup_nobody_adds_changes_removes_or_applies(
    rw: RelayWorld, people: dict[str, object]
) -> None:
    for role in ("viewer", "technician", "auditor"):
        refused_and_reading(rw, people[role])


def refused_and_reading(rw: RelayWorld, who: object) -> None:
    relays = rw.sw.vault.relays
    with pytest.raises(PermissionDenied):
        relays.add(who, rw.sw.client, "other", source=rw.sw.directory, target=rw.entra)
    with pytest.raises(PermissionDenied):
        relays.update(who, rw.relay, {"never_expires": True})
    with pytest.raises(PermissionDenied):
        relays.remove(who, rw.relay)
    with pytest.raises(PermissionDenied):
        rw.run(apply=True, actor=who)
    # what vault.read allows: list, show, plan, a dry run
    assert [r.name for r in relays.list(who)] == [rw.relay]
    assert relays.get(who, rw.relay).target.name == rw.entra
    assert rw.plan(actor=who).dry_run is True
    assert rw.run(actor=who).dry_run is True
    assert rw.writes() == 0


def test_directory_setup_may_and_every_change_is_audited(
    rw: RelayWorld, people: dict[str, object]
) -> None:
    who = people["directory_manager"]
    relays = rw.sw.vault.relays
    added = relays.add(who, rw.sw.client, "second", source=rw.sw.directory, target=rw.entra,
                       settings={"filters": ["extensionAttribute1=o365"]})  # fmt: skip
    assert added.settings.filters == (("extensionAttribute1", "o365"),)
    changed = relays.update(who, "second", {"match": ["upn"], "never_expires": True})
    assert (changed.version, changed.settings.match) == (2, ("upn",))
    asyncio.run(rw.runner(who).run("second", apply=True))
    relays.remove(who, "second")
    actions = [
        e.action for e in rw.sw.vault.audit.list(rw.sw.admin) if e.action.startswith("relay.")
    ]
    assert actions[:3] == ["relay.remove", "relay.update", "relay.add"]
    [first] = [e for e in rw.sw.vault.audit.list(rw.sw.admin, action="relay.add")
               if e.details["name"] == "second"]  # fmt: skip
    assert first.details["filters"] == ["extensionAttribute1=o365"]


BAD = [
    ({"suffix_map": ["contoso.local"]}, "suffix_map"),
    ({"suffix_map": ["a.local=not a domain"]}, "suffix_map"),
    ({"match": ["link", "guess"]}, "match"),
    ({"match": []}, "match"),
    ({"filters": ["department"]}, "filters"),
    ({"filters": ["(cn=*)=x"]}, "filters"),
    ({"scope_ous": ["Staff"]}, "scope_ous"),
    ({"allow_admins": ["boss"]}, "allow_admins"),
    ({"never_expires": "yes"}, "never_expires"),
    ({"schedule": "hourly"}, "schedule"),
]


def test_bad_settings_are_refused_naming_the_field(rw: RelayWorld) -> None:
    for settings, field in BAD:
        with pytest.raises(InvalidInput) as refused:
            rw.sw.vault.relays.update(rw.sw.admin, rw.relay, settings)
        assert refused.value.fields == (field,), settings
    assert rw.sw.vault.relays.get(rw.sw.admin, rw.relay).version == 1


def test_directories_of_the_wrong_kind_or_the_same_one_are_refused(rw: RelayWorld) -> None:
    relays, admin, client = rw.sw.vault.relays, rw.sw.admin, rw.sw.client
    with pytest.raises(InvalidInput) as refused:
        relays.add(admin, client, "backwards", source=rw.entra, target=rw.sw.directory)
    assert refused.value.fields == ("source",)
    with pytest.raises(InvalidInput) as refused:
        relays.add(admin, client, "self", source=rw.sw.directory, target=rw.sw.directory)
    assert refused.value.fields == ("target",)
    with pytest.raises(AlreadyExists):
        relays.add(admin, client, rw.relay.upper(), source=rw.sw.directory, target=rw.entra)


def test_the_api_answers_with_the_error_envelope_and_refuses_a_viewer(
    rw: RelayWorld, people: dict[str, object]
) -> None:
    http = rw.cw.http
    listed = http.get("/api/v1/relays")
    assert [r["name"] for r in listed.json()] == [rw.relay]
    bad = http.patch(f"/api/v1/relays/{rw.relay}", json={"suffix_map": ["nope"]})
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid_input"
    planned = http.post(f"/api/v1/relays/{rw.relay}/plan")
    assert planned.status_code == 200, planned.text
    assert planned.json()["dry_run"] is True
    _, token = rw.sw.vault.access.create_token(people["viewer"], "viewer")
    viewer = {"Authorization": f"Bearer {token.reveal()}"}
    refused = rw.cw.anonymous.post(
        "/api/v1/relays/" + rw.relay + "/runs", json={"apply": True}, headers=viewer
    )
    assert refused.status_code == 403
    allowed = rw.cw.anonymous.post("/api/v1/relays/" + rw.relay + "/runs", headers=viewer)
    assert allowed.status_code == 200, allowed.text
    assert "relays" in str(http.get("/api/v1/openapi.json").json()["paths"])
