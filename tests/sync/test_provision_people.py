"""Provisioning people to Office 365 (the Graph simulator): the settings and their checks, the
plan (create with the mapped name, update what differs, usage location before the licence,
a licence only while a seat is free, the vault's password or disabled until onboarding, the
immutable id in a federated domain), the apply (users made, linked as the person's account,
audited), a second apply that makes no writes, and who may."""

from __future__ import annotations

import asyncio
import base64
import uuid
from typing import Any

import pytest

from credsync.errors import InvalidInput, NotFound, PermissionDenied
from credsync.sync.provision_people import PeopleProvision, ProvisionSelection
from credsync.sync.provision_people_report import ProvisionReport
from credsync.types import Secret
from credsync.vault.drafts import make_draft
from credsync.vault.provisioning import immutable_id, map_username

from .entra import EntraWorld

E3 = "ENTERPRISEPACK"


def provision(ew: EntraWorld, actor: Any = None) -> PeopleProvision:
    return PeopleProvision(ew.vault, ew.keys, actor or ew.admin)


def plan(ew: EntraWorld, actor: Any = None, **chosen: Any) -> ProvisionReport:
    return asyncio.run(
        provision(ew, actor).plan(ew.client, ew.directory, ProvisionSelection(**chosen))
    )


def apply(ew: EntraWorld, actor: Any = None, **chosen: Any) -> ProvisionReport:
    return asyncio.run(
        provision(ew, actor).apply(ew.client, ew.directory, ProvisionSelection(**chosen))
    )


def configure(ew: EntraWorld, **given: Any) -> None:
    settings = {"username_template": "{given}.{surname}", "upn_suffix": ew.tenant.domain,
                "licence": E3, "usage_location": "SE"}  # fmt: skip
    settings.update(given)
    ew.vault.provisioning.update(ew.admin, ew.directory, settings)


def person(
    ew: EntraWorld, given: str, surname: str, password: str | None = None, **more: Any
) -> str:
    fields: dict[str, Any] = {"username": f"{given}-{uuid.uuid4().hex[:4]}", "given_name": given,
                              "surname": surname, **more}  # fmt: skip
    if password is not None:
        cred = ew.vault.credentials.add(
            ew.admin, ew.keys, ew.client,
            make_draft(title=f"{given} login", username=given, password=Secret(password)),
        )  # fmt: skip
        fields["credential"] = cred.id
    return str(ew.vault.people.add(ew.admin, ew.client, fields).id)


def lines(report: ProvisionReport) -> dict[str, Any]:
    return {p.person_id: p for p in report.people}


def seats(ew: EntraWorld, part: str = E3) -> dict[str, Any]:
    return next(s for s in ew.tenant.subscribed_skus() if s["skuPartNumber"] == part)


def test_the_username_mapping_folds_and_refuses_unknown_fields(ew: EntraWorld) -> None:
    who = {"given_name": "Åsa Maria", "surname": "Ødegård-Nuñez", "username": "asa@x.test"}
    assert map_username("{given}.{surname}", who) == "asamaria.odegard-nunez"
    assert map_username("{initial}{surname}", who) == "aodegard-nunez"
    assert map_username("{username}", who) == "asa"
    assert map_username("{given}.{surname}", {"surname": "Öst"}) == "ost"
    for bad in ("{given}.{nickname}", "{given", "plain", "{given!r}"):
        with pytest.raises(InvalidInput) as refused:
            configure(ew, username_template=bad)
        assert refused.value.field == "username_template"
    with pytest.raises(InvalidInput) as refused:
        configure(ew, username_template="{given}.{nickname}")
    assert "{nickname}" in str(refused.value)
    for name, value in (("upn_suffix", "not a domain"), ("usage_location", "XX"),
                        ("passwords", "maybe"), ("licence", "E3 please")):  # fmt: skip
        with pytest.raises(InvalidInput) as refused:
            configure(ew, **{name: value})
        assert refused.value.field == name
    # Microsoft's convention for an anchor: base64 of the GUID's bytes in .NET order
    pid = "0f8fad5b-d9cb-469f-a165-70867728950e"
    assert immutable_id(pid) == base64.b64encode(uuid.UUID(pid).bytes_le).decode()


def test_the_plan_checks_the_suffix_and_licence_against_the_tenant(ew: EntraWorld) -> None:
    person(ew, "Ada", "Lovelace", "Cs-Ada-Pass-77!")
    with pytest.raises(InvalidInput) as refused:
        plan(ew)
    assert refused.value.field == "upn_suffix"  # not set yet
    configure(ew, upn_suffix="unverified.example")
    with pytest.raises(InvalidInput) as refused:
        plan(ew)
    assert refused.value.field == "upn_suffix"
    configure(ew, licence="NO_SUCH_SKU")
    with pytest.raises(InvalidInput) as refused:
        plan(ew)
    assert refused.value.field == "licence"
    assert ew.tenant.stats["writes"] == 0


def test_plan_then_apply_creates_licenses_links_and_a_second_apply_writes_nothing(
    ew: EntraWorld,
) -> None:
    configure(ew)
    ada = person(ew, "Ada", "Lovelace", "Cs-Ada-Pass-77!", usage_location="GB")
    bob = person(ew, "Bob", "Berg")  # no password yet
    before = seats(ew)["consumedUnits"]
    planned = lines(plan(ew))
    assert planned[ada].outcome == "create"
    assert planned[ada].username == f"ada.lovelace@{ew.tenant.domain}"
    assert planned[ada].actions() == ["create", "usage_location", "licence", "password"]
    assert "no password yet: created disabled" in planned[bob].notes
    assert ew.tenant.stats["writes"] == 0  # a plan writes nothing

    done = apply(ew)
    assert done.applied
    applied = lines(done)
    assert applied[ada].outcome == "created"
    assert applied[ada].done == ["created", "password", "licensed"]
    user = ew.tenant.get_user(applied[ada].object_id)
    assert user["userPrincipalName"] == f"ada.lovelace@{ew.tenant.domain}"
    assert user["usageLocation"] == "GB"  # the person's, not the default
    assert user["accountEnabled"] is True
    assert ew.tenant.check_password(user["id"], "Cs-Ada-Pass-77!")
    bob_user = ew.tenant.get_user(applied[bob].object_id)
    assert bob_user["accountEnabled"] is False
    assert bob_user["usageLocation"] == "SE"  # the default
    assert seats(ew)["consumedUnits"] == before + 2
    # the users are the people's accounts now, and each write is audited
    person_ada = ew.vault.people.get(ew.admin, ada)
    assert [a["object_id"] for a in person_ada.accounts] == [applied[ada].object_id]
    entries = [e for e in ew.vault.audit.list(ew.admin, limit=20) if e.action == "person.provision"]
    assert {e.target_id for e in entries} == {ada, bob}
    assert "Cs-Ada-Pass" not in str([e.details for e in entries])

    writes = ew.tenant.stats["writes"]
    again = apply(ew)
    assert ew.tenant.stats["writes"] == writes  # the simulator's write counter did not move
    assert again.writes == 0
    assert {p.outcome for p in again.people} == {"unchanged"}


def test_an_existing_user_is_matched_by_name_and_only_what_differs_is_written(
    ew: EntraWorld,
) -> None:
    configure(ew, licence="")
    made = ew.add_user(upn=f"cyd.charisse@{ew.tenant.domain}", display_name="C. Charisse")
    cyd = person(ew, "Cyd", "Charisse", "Cs-Cyd-Pass-77!")
    line = lines(plan(ew))[cyd]
    assert (line.outcome, line.object_id) == ("update", made.id)
    assert sorted(line.fields) == ["display_name", "given_name", "surname", "usage_location"]
    assert line.password is not None  # the vault's password is set on it too
    applied = lines(apply(ew))[cyd]
    assert applied.done == ["updated", "password"]
    user = ew.tenant.get_user(made.id)
    assert (user["displayName"], user["usageLocation"]) == ("Cyd Charisse", "SE")
    assert ew.tenant.check_password(made.id, "Cs-Cyd-Pass-77!")
    assert [a["object_id"] for a in ew.vault.people.get(ew.admin, cyd).accounts] == [made.id]
    # a change in the vault is one update
    ew.vault.people.update(ew.admin, cyd, {"surname": "Charisse-Martin"})
    line = lines(plan(ew))[cyd]
    assert (line.outcome, sorted(line.fields)) == ("update", ["surname"])
    apply(ew)
    assert ew.tenant.get_user(made.id)["surname"] == "Charisse-Martin"


def test_no_free_seat_means_no_licence_and_a_note(ew: EntraWorld) -> None:
    configure(ew, licence="SPE_E5")
    sku = seats(ew, "SPE_E5")
    with ew.tenant.store.lock:
        for record in ew.tenant.skus:
            if record["skuId"] == sku["skuId"]:
                record["consumedUnits"] = record["prepaidUnits"]["enabled"] - 1
    first = person(ew, "Ann", "Able", "Cs-Ann-Pass-77!")
    second = person(ew, "Ben", "Baker", "Cs-Ben-Pass-77!")
    report = lines(apply(ew))
    licensed = [p for p in (first, second) if "licensed" in report[p].done]
    unlicensed = [p for p in (first, second) if "licensed" not in report[p].done]
    assert len(licensed) == 1
    assert len(unlicensed) == 1
    assert report[unlicensed[0]].outcome == "created"
    assert any("no free seat" in n for n in report[unlicensed[0]].notes)
    assert seats(ew, "SPE_E5")["consumedUnits"] == seats(ew, "SPE_E5")["prepaidUnits"]["enabled"]


def test_a_federated_domain_gets_the_immutable_id_and_no_password(
    ew: EntraWorld, graph_sim: Any
) -> None:
    domain = graph_sim.add_domain(ew.tenant, f"fed{uuid.uuid4().hex[:6]}.test", federated=True)
    configure(ew, upn_suffix=domain)
    fed = person(ew, "Fay", "Federer", "Cs-Fay-Pass-77!")
    line = lines(apply(ew))[fed]
    assert line.outcome == "created", line.reason
    assert "password" not in line.done
    user = ew.tenant.get_user(line.object_id)
    assert user["onPremisesImmutableId"] == immutable_id(fed)
    assert user["accountEnabled"] is True  # the identity provider signs them in
    assert lines(apply(ew))[fed].outcome == "unchanged"


def test_onboarding_creates_disabled_and_a_password_given_later_enables(ew: EntraWorld) -> None:
    configure(ew, licence="")
    dee = person(ew, "Dee", "Dunn")
    made = lines(apply(ew))[dee]
    assert ew.tenant.get_user(made.object_id)["accountEnabled"] is False
    cred = ew.vault.credentials.add(
        ew.admin, ew.keys, ew.client,
        make_draft(title="Dee login", username="dee", password=Secret("Cs-Dee-Pass-77!")),
    )  # fmt: skip
    ew.vault.people.update(ew.admin, dee, {"credential": cred.id})
    line = lines(plan(ew))[dee]
    assert sorted(line.actions()) == ["enable", "password"]
    apply(ew)
    user = ew.tenant.get_user(made.object_id)
    assert user["accountEnabled"] is True
    assert ew.tenant.check_password(made.object_id, "Cs-Dee-Pass-77!")
    configure(ew, passwords="onboarding")
    eve = person(ew, "Eve", "Ek", "Cs-Eve-Pass-77!")
    line = lines(apply(ew))[eve]
    assert ew.tenant.get_user(line.object_id)["accountEnabled"] is False
    assert not ew.tenant.check_password(line.object_id, "Cs-Eve-Pass-77!")
    assert "created disabled until onboarding" in line.notes


def test_refusals_say_why_and_the_rest_goes_on(ew: EntraWorld) -> None:
    configure(ew, licence="")
    synced = ew.add_user(upn=f"sam.synced@{ew.tenant.domain}", display_name="Sam")
    ew.tenant.set_on_premises_sync(synced.id, True)
    sam = person(ew, "Sam", "Synced", "Cs-Sam-Pass-77!")
    weak = person(ew, "Wes", "Weak", "short")  # Entra refuses it
    ok = person(ew, "Olga", "Ok", "Cs-Olga-Pass-77!")
    report = lines(apply(ew))
    assert report[sam].outcome == "refused"
    assert "on-premises" in (report[sam].reason or "")
    assert report[weak].outcome == "refused"
    assert "complexity" in (report[weak].reason or "")
    assert "short" not in (report[weak].reason or "")
    assert report[ok].outcome == "created"


def test_a_selection_of_people_or_a_groups_members(ew: EntraWorld) -> None:
    configure(ew, licence="")
    one = person(ew, "Una", "One", "Cs-Una-Pass-77!")
    two = person(ew, "Tor", "Two", "Cs-Tor-Pass-77!")
    three = person(ew, "Tre", "Three", "Cs-Tre-Pass-77!")
    assert [p.person_id for p in plan(ew, people=(one,)).people] == [one]
    outer = ew.vault.groups.add(ew.admin, ew.client, {"name": "Outer"}).id
    inner = ew.vault.groups.add(ew.admin, ew.client, {"name": "Inner"}).id
    ew.vault.groups.add_member(ew.admin, outer, two, kind="person")
    ew.vault.groups.add_member(ew.admin, outer, inner, kind="group")
    ew.vault.groups.add_member(ew.admin, inner, three, kind="person")
    assert {p.person_id for p in plan(ew, group=outer).people} == {two, three}
    with pytest.raises(InvalidInput) as refused:
        plan(ew, people=(one,), group=outer)
    assert refused.value.field == "selection"


@pytest.mark.parametrize("role", ["viewer", "technician", "directory_manager"])
def test_who_may_plan_and_apply(ew: EntraWorld, role: str) -> None:
    configure(ew)
    person(ew, "Ada", "Lovelace", "Cs-Ada-Pass-77!")
    who, expected = ew.refused_operator(role)
    with pytest.raises(expected):
        plan(ew, who)
    with pytest.raises(expected):
        apply(ew, who)
    with pytest.raises(PermissionDenied if role != "directory_manager" else NotFound):
        ew.vault.provisioning.update(who, ew.directory, {"licence": ""})
    assert ew.tenant.stats["writes"] == 0


def test_a_directory_manager_of_the_client_may(ew: EntraWorld) -> None:
    configure(ew, licence="")
    ada = person(ew, "Ada", "Lovelace", "Cs-Ada-Pass-77!")
    who = ew.vault_world.operator("op-dm", "directory_manager")
    assert lines(apply(ew, who))[ada].outcome == "created"


def test_a_person_in_the_trash_has_the_user_provisioning_made_removed(ew: EntraWorld) -> None:
    configure(ew, licence="")
    gone = person(ew, "Gus", "Gone", "Cs-Gus-Pass-77!")
    kept = person(ew, "Kim", "Kept", "Cs-Kim-Pass-77!")
    matched = ew.add_user(upn=f"mia.matched@{ew.tenant.domain}", display_name="Mia")
    mia = person(ew, "Mia", "Matched", "Cs-Mia-Pass-77!")
    made = lines(apply(ew))
    ew.vault.people.delete(ew.admin, gone)
    ew.vault.people.delete(ew.admin, mia)  # matched, not made by provisioning: left alone
    planned = lines(plan(ew))
    assert (planned[gone].outcome, planned[gone].actions()) == ("remove", ["remove"])
    assert planned[gone].reason == "the person is in the trash"
    assert mia not in planned
    assert planned[kept].outcome == "unchanged"
    assert gone not in lines(plan(ew, people=(kept,)))  # a selection removes nobody
    done = lines(apply(ew))
    assert (done[gone].outcome, done[gone].done) == ("removed", ["removed"])
    assert ew.tenant.get_user(made[gone].object_id)["id"] in ew.tenant.store.users.deleted
    assert ew.tenant.store.user(matched.id) is not None
    assert gone not in lines(plan(ew))
    writes = ew.tenant.stats["writes"]
    apply(ew)
    assert ew.tenant.stats["writes"] == writes


def test_throttled_writes_wait_for_retry_after_and_all_land(ew: EntraWorld) -> None:
    from credsync.testing.graphsim import ThrottleConfig

    configure(ew)
    made = [person(ew, "Tia", f"Throttled{n}", f"Cs-Tia-{n}-Pass-77!") for n in range(8)]
    # 16 writes (a create and a licence each) against a bucket of 6, 6 a second back
    ew.tenant.throttle = ThrottleConfig(enabled=True, write_units=6, write_window=1.0)
    report = lines(apply(ew))
    assert ew.tenant.stats["throttled"] >= 1
    assert {report[p].outcome for p in made} == {"created"}
    assert all(report[p].done == ["created", "password", "licensed"] for p in made)


def test_a_licence_still_busy_after_the_retries_is_tried_again_alone(ew: EntraWorld) -> None:
    configure(ew)
    una = person(ew, "Una", "Busy", "Cs-Una-Pass-77!")
    upn = f"una.busy@{ew.tenant.domain}"
    # the connector's 8 tries of the licence all answered 503: its next round sends it alone
    ew.tenant.inject_fault(method="POST", path_prefix=f"/v1.0/users/{upn}/assignLicense",
                           status=503, times=8, retry_after=0)  # fmt: skip
    line = lines(apply(ew))[una]
    assert (line.outcome, line.done) == ("created", ["created", "password", "licensed"])
    assert ew.tenant.stats["by_status"].get(503) == 8
    assert [u for u in ew.tenant.store.users.live.values() if u["userPrincipalName"] == upn]
    assert seats(ew)["consumedUnits"] == 1
