"""Defederation's password push (the Graph simulator): after a domain returns to managed
sign-in, every person of the domain signs in to Office 365 with their vault password (ROPC);
a person without a password and a user linked to nobody are reported; Graph refuses the push
while the domain is still federated; and who may."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from credsync.storage import credentials as credential_rows
from credsync.storage import links as link_rows
from credsync.storage import people as people_rows
from credsync.sync.federation_passwords import DomainPasswordPush, PasswordPushReport
from credsync.sync.provision_people import PeopleProvision
from credsync.testing.graphsim import sign_in
from credsync.types import Secret
from credsync.vault._time import utcnow
from credsync.vault.drafts import make_draft

from .entra import EntraWorld


def push(ew: EntraWorld, domain: str, actor: Any = None) -> PasswordPushReport:
    service = DomainPasswordPush(ew.vault, ew.keys, actor or ew.admin)
    return asyncio.run(service.push(ew.client, ew.directory, domain))


def person(ew: EntraWorld, given: str, password: str | None) -> str:
    fields: dict[str, Any] = {"username": f"{given}-{uuid.uuid4().hex[:4]}",
                              "given_name": given, "surname": "Fed"}  # fmt: skip
    if password is not None:
        cred = ew.vault.credentials.add(
            ew.admin, ew.keys, ew.client,
            make_draft(title=f"{given} login", username=given, password=Secret(password)),
        )  # fmt: skip
        fields["credential"] = cred.id
    return str(ew.vault.people.add(ew.admin, ew.client, fields).id)


@pytest.fixture
def domain_world(ew: EntraWorld) -> tuple[EntraWorld, str, dict[str, str | None]]:
    """People provisioned into a domain of their own (two with a password, one without)."""
    domain = ew.sim.add_domain(ew.tenant, f"fed{uuid.uuid4().hex[:6]}.test")
    settings = {"username_template": "{given}.{surname}", "upn_suffix": domain}
    ew.vault.provisioning.update(ew.admin, ew.directory, settings)
    passwords: dict[str, str | None] = {
        "ann": f"Ann-{uuid.uuid4().hex[:8]}-7!",
        "bob": f"Bob-{uuid.uuid4().hex[:8]}-7!",
        "cid": None,
    }
    for given, password in passwords.items():
        person(ew, given, password)
    applied = asyncio.run(
        PeopleProvision(ew.vault, ew.keys, ew.admin).apply(ew.client, ew.directory)
    )
    assert all(p.outcome == "created" for p in applied.people), applied.people
    return ew, domain, passwords


def test_defederation_leaves_every_person_with_a_working_cloud_password(
    domain_world: tuple[EntraWorld, str, dict[str, str | None]],
) -> None:
    ew, domain, passwords = domain_world
    stranger = ew.tenant.create_user(upn=f"stranger@{domain}")
    ew.tenant.set_federated(domain)
    # while federated Graph takes no password: every push is refused with its words
    refused = push(ew, domain)
    assert refused.count("refused") == 2
    assert all("federated" in x.reason for x in refused.lines if x.outcome == "refused")
    ew.tenant.set_federated(domain, False)  # the federation settings are deleted
    report = push(ew, domain)
    by_name = {line.username.split("@")[0].split(".")[0]: line for line in report.lines}
    assert by_name["ann"].outcome == "pushed"
    assert by_name["bob"].outcome == "pushed"
    assert by_name["cid"].outcome == "no_password"
    assert by_name["stranger"].outcome == "no_person"
    assert {x.username for x in report.without_password} == {
        by_name["cid"].username,
        stranger.upn,
    }
    for given in ("ann", "bob"):
        password = passwords[given]
        assert password is not None
        signed = sign_in(ew.sim, by_name[given].username, password)
        assert signed.ok, signed
    entries = ew.vault.audit.list(ew.admin, action="person.password_push", limit=100)
    assert {e.details["outcome"] for e in entries} >= {"pushed", "no_password", "refused"}
    assert all(passwords["ann"] not in str(e.details) for e in entries)


@pytest.mark.parametrize("role", ["viewer", "technician", "directory_manager"])
def test_who_may_push(
    domain_world: tuple[EntraWorld, str, dict[str, str | None]], role: str
) -> None:
    ew, domain, _passwords = domain_world
    writes = ew.tenant.stats["password_writes"]
    who, expected = ew.refused_operator(role)
    with pytest.raises(expected):
        push(ew, domain, who)
    assert ew.tenant.stats["password_writes"] == writes


def test_the_push_is_recorded_as_a_self_service_push_is(
    domain_world: tuple[EntraWorld, str, dict[str, str | None]],
) -> None:
    """One path with the self-service push (credsync.sync.person_push): a refused push is
    flagged on the person's credential; a done one closes the flag and confirms the link at the
    vault's version and the directory's new stamp, so a sync run afterwards finds both sides
    in step (not a password "changed in the directory")."""
    ew, domain, _passwords = domain_world
    directory = ew.vault.directories.get(ew.admin, ew.directory)
    ew.tenant.set_federated(domain)
    refused = push(ew, domain)
    lines = {x.person_id: x.object_id for x in refused.lines if x.outcome == "refused"}
    creds: dict[str, str] = {}
    with ew.vault.db.write() as conn:  # each credential linked to its user, as a run links it
        for person_id, object_id in lines.items():
            row = people_rows.get(conn, person_id or "")
            assert row is not None
            assert row.credential_id
            creds[person_id or ""] = row.credential_id
            link_rows.add_confirmed(
                conn, row.credential_id, directory.id, object_id, by="test", now=utcnow(),
                status="unknown", detail="linked by the test", state={},
            )  # fmt: skip
    assert len(creds) == 2
    assert set(creds.values()) <= set(ew.flags())
    ew.tenant.set_federated(domain, False)
    report = push(ew, domain)
    assert report.count("pushed") == 2
    assert not set(creds.values()) & set(ew.flags())
    with ew.vault.db.read() as conn:
        for cred in creds.values():
            link = link_rows.get(conn, cred, directory.id)
            assert link is not None
            version = credential_rows.get(conn, cred).secret_version
            assert (link.confirmed_secret_version, link.status) == (version, "in_sync")
            assert link.confirmed_stamp
    after = ew.run()  # in step as the pushes left them: counted, not listed
    assert {ew.status_in(after, c) for c in creds.values()} == {"in_sync"}, ew.items(after)
    assert not set(creds.values()) & set(ew.flags())
