"""Self-service passwords end to end against the real Samba AD DC and the Graph simulator:
a change is checked, stored and pushed to both at once (then a bind and an ROPC sign-in with
it work); a refused password stores nothing and names each rule; a push that fails keeps the
vault's password and flags it; onboarding invitations by mail (the import's and an operator's),
reset links, and links used twice, replaced or expired refused; who may invite."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from typing import Any

import pytest

from credsync.errors import InvalidInput, MailError, PermissionDenied
from credsync.storage import credentials as credential_rows
from credsync.storage.tables import person_links
from credsync.sync.people_import import PeopleImport, Selection
from credsync.sync.people_onboarding import Provisioning
from credsync.sync.self_service import set_person_password
from credsync.testing.graphsim import sign_in
from credsync.testing.smtp import MailTrap
from credsync.types import Secret
from credsync.vault.person_passwords import PasswordRefused
from credsync.vault.self_service import INVITE, RESET
from vault.helpers import audit_of

from .entra import EntraWorld, add_entra_directory, build_entra_world, strong
from .helpers import SyncWorld
from .selfservice_world import add_person, add_tenant, mail_to
from .test_enforce_mode import binds


def _version(vault: Any, credential_id: str) -> int:
    with vault.db.read() as conn:
        return int(credential_rows.get(conn, credential_id).secret_version)


def _token(trap: MailTrap, address: str, path: str) -> tuple[str, str]:
    """(client id, token) of the newest link to ``address``."""
    [*_, mail] = trap.to(address)
    [link] = [u for u in mail.links() if f"/{path}/" in u]
    found = re.search(rf"/my/([^/]+)/{path}/([A-Za-z0-9_-]+)$", link)
    assert found is not None, link
    return found[1], found[2]


def test_a_change_reaches_samba_and_the_tenant_at_once(sw: SyncWorld, graph_sim: Any) -> None:
    tenant_dir, tenant = add_tenant(sw, graph_sim)
    old = strong()
    ad_user = sw.ad.create_user(password=old, display_name="Ada Lovelace")
    cloud = tenant.create_user(upn=f"ada@{tenant.domain}", password=old, display_name="Ada")
    ada = add_person(sw.vault_world, sw.client, password=old,
                     accounts={sw.directory: ad_user.guid, tenant_dir: str(cloud.id)})  # fmt: skip
    new = strong()
    result = asyncio.run(set_person_password(sw.vault, sw.keys, ada.person_id, Secret(new),
                                             why="self-service"))  # fmt: skip
    shown = {(p.directory, p.status) for p in result.pushes}
    assert shown == {(sw.directory, "done"), (tenant_dir, "done")}, result.pushes
    assert binds(sw, ad_user.dn, new)
    assert not binds(sw, ad_user.dn, old)
    assert sign_in(graph_sim, cloud.upn, new).ok
    assert sw.reveal(sw.vault.credentials.get(sw.admin, ada.credential_id)) == new
    history = sw.vault.credentials.history(sw.admin, sw.keys, ada.credential_id)
    newest = max(history, key=lambda h: h.version)
    assert (newest.created_by, newest.reason) == (f"person:{ada.username}", "self-service")
    [pushed] = audit_of(sw.vault_world, "person.password_pushed", ada.person_id)
    assert {p["status"] for p in pushed.details["pushes"]} == {"done"}
    assert new not in str(pushed.details)


def test_a_weak_password_is_refused_by_every_rule_and_nothing_is_stored(
    sw: SyncWorld, graph_sim: Any
) -> None:
    tenant_dir, tenant = add_tenant(sw, graph_sim)
    ad_user = sw.ad.create_user(display_name="Ada Lovelace")
    cloud = tenant.create_user(upn=f"ada@{tenant.domain}", display_name="Ada")
    ada = add_person(sw.vault_world, sw.client,
                     accounts={sw.directory: ad_user.guid, tenant_dir: str(cloud.id)})  # fmt: skip
    before = _version(sw.vault, ada.credential_id)
    for weak, words in (
        ("short1A", ["password policy", "at least 12"]),
        ("Lovelace-Éclair-2026", ["Office 365", "non-ASCII", "Active Directory", "'Lovelace'"]),
        ("alllowercaseletters", ["Active Directory", "fewer than 3", "Office 365"]),
    ):
        with pytest.raises(PasswordRefused) as caught:
            asyncio.run(set_person_password(sw.vault, sw.keys, ada.person_id, Secret(weak),
                                            why="self-service"))  # fmt: skip
        message = str(caught.value)
        assert all(w in message for w in words), message
        assert weak not in message
        assert caught.value.field == "password"
    assert _version(sw.vault, ada.credential_id) == before
    assert sign_in(graph_sim, cloud.upn, cloud.password).ok


def test_a_push_that_fails_keeps_the_new_password_and_flags_it(
    sw: SyncWorld, graph_sim: Any
) -> None:
    tenant_dir, tenant = add_tenant(sw, graph_sim)
    ad_user = sw.ad.create_user(display_name="Ada Lovelace")
    cloud = tenant.create_user(upn=f"ada@{tenant.domain}", display_name="Ada")
    ada = add_person(sw.vault_world, sw.client,
                     accounts={sw.directory: ad_user.guid, tenant_dir: str(cloud.id)})  # fmt: skip
    sw.ad.admin.delete(ad_user.dn)
    new = strong()
    result = asyncio.run(set_person_password(sw.vault, sw.keys, ada.person_id, Secret(new),
                                             why="self-service"))  # fmt: skip
    by_dir = {p.directory: p for p in result.pushes}
    assert by_dir[tenant_dir].status == "done"
    assert by_dir[sw.directory].status == "failed"
    assert by_dir[sw.directory].detail
    assert not result.all_done
    assert sw.reveal(sw.vault.credentials.get(sw.admin, ada.credential_id)) == new
    assert sw.flags() == {ada.credential_id: "account_missing"}


def _import_with_invitations(ew: EntraWorld) -> dict[str, Any]:
    users = {
        alias: ew.tenant.create_user(upn=f"{alias}@{ew.tenant.domain}", display_name=name)
        for alias, name in (("ada", "Ada Lovelace"), ("bob", "Bob Berg"))
    }
    policy = Provisioning.make("New staff", sync_mode="enforce", invite=True)
    importer = PeopleImport(ew.vault, ew.keys, ew.admin)
    asyncio.run(importer.sync(ew.client, ew.directory, Selection(query=""), provisioning=policy))
    return users


def test_onboarding_by_the_mailed_link(ew_both: EntraWorld, mail_trap: MailTrap) -> None:
    """On SQLite and PostgreSQL."""
    ew = ew_both
    mail_to(ew.vault_world, mail_trap)
    users = _import_with_invitations(ew)
    mails = mail_trap.wait_for(2)
    assert {m.recipients for m in mails} == {(users["ada"].upn,), (users["bob"].upn,)}
    client_id, token = _token(mail_trap, users["ada"].upn, "welcome")
    opened = ew.vault.self_service.open_link(client_id, token, INVITE)
    person = ew.vault.people.get(ew.admin, opened.person_id)
    assert person.to_json()["onboarding"]["awaiting"] is True
    new = strong()
    result = asyncio.run(set_person_password(ew.vault, ew.keys, opened.person_id, Secret(new),
                                             why="onboarding", link=opened))  # fmt: skip
    assert [(p.status, p.account) for p in result.pushes] == [("done", users["ada"].upn)]
    assert result.stored.onboarded
    assert sign_in(ew.sim, users["ada"].upn, new).ok
    person = ew.vault.people.get(ew.admin, opened.person_id)
    assert person.to_json()["onboarding"]["awaiting"] is False
    cred = ew.vault.credentials.get(ew.admin, result.stored.credential_id)
    assert cred.to_json()["sync_mode"] == "enforce"
    with pytest.raises(InvalidInput, match="not valid"):  # used once
        ew.vault.self_service.open_link(client_id, token, INVITE)
    assert audit_of(ew.vault_world, "person.link_refused")[0].details["why"] == "used"


def test_an_operator_resends_an_invitation_which_voids_the_old_one(
    ew: EntraWorld, mail_trap: MailTrap
) -> None:
    mail_to(ew.vault_world, mail_trap)
    _import_with_invitations(ew)
    mail_trap.wait_for(2)
    bob = f"bob@{ew.tenant.domain}"
    client_id, first = _token(mail_trap, bob, "welcome")
    made = ew.vault.self_service.invite(ew.admin, ew.keys, bob)
    assert made["sent"] is True
    mail_trap.wait_for(3)
    _, second = _token(mail_trap, bob, "welcome")
    assert second != first
    with pytest.raises(InvalidInput, match="not valid"):
        ew.vault.self_service.open_link(client_id, first, INVITE)
    assert ew.vault.self_service.open_link(client_id, second, INVITE).username == bob
    viewer = ew.vault_world.operator("viewer1", "viewer")
    with pytest.raises(PermissionDenied):
        ew.vault.self_service.invite(viewer, ew.keys, bob)
    # The mail server away: the invitation is stored (pending), the error names the server.
    mail_trap.stop()
    with pytest.raises(MailError, match=r"stored but not sent: mail server 127\.0\.0\.1"):
        ew.vault.self_service.invite(ew.admin, ew.keys, bob)
    entry = audit_of(ew.vault_world, "person.invite")[0]
    assert entry.details["sent"] is False
    person_id = ew.vault.people.get(ew.admin, bob).id
    pending = ew.vault.self_service.invitation_of(ew.admin, person_id)
    assert pending is not None
    assert (pending["state"], pending["sent_at"]) == ("pending", None)
    assert "could not be reached" in (pending["error"] or "")


def test_a_reset_by_link_and_expired_or_foreign_links_refused(
    ew_both: EntraWorld, mail_trap: MailTrap
) -> None:
    """On SQLite and PostgreSQL."""
    ew = ew_both
    mail_to(ew.vault_world, mail_trap)
    cloud = ew.tenant.create_user(upn=f"cy@{ew.tenant.domain}", display_name="Cy")
    cy = add_person(ew.vault_world, ew.client, accounts={ew.directory: str(cloud.id)})
    client_id = ew.vault.people.get(ew.admin, cy.person_id).row.client_id
    selfservice = ew.vault.self_service
    selfservice.request_reset(ew.keys, client_id, "nobody-at-all", address="127.0.0.1")
    assert mail_trap.messages == []
    selfservice.request_reset(ew.keys, client_id, cy.email.upper(), address="127.0.0.1")
    mail_trap.wait_for(1)
    _, token = _token(mail_trap, cy.email, "reset")
    with pytest.raises(InvalidInput):  # a reset link is no invitation
        selfservice.open_link(client_id, token, INVITE)
    opened = selfservice.open_link(client_id, token, RESET)
    new = strong()
    result = asyncio.run(set_person_password(ew.vault, ew.keys, cy.person_id, Secret(new),
                                             why="reset", link=opened))  # fmt: skip
    assert [p.status for p in result.pushes] == ["done"]
    assert sign_in(ew.sim, cloud.upn, new).ok
    selfservice.request_reset(ew.keys, client_id, cy.username, address="127.0.0.1")
    mail_trap.wait_for(2)
    _, late = _token(mail_trap, cy.email, "reset")
    with ew.vault.db.write() as conn:
        conn.execute(person_links.update().values(
            expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))  # fmt: skip
    with pytest.raises(InvalidInput, match="not valid"):
        selfservice.open_link(client_id, late, RESET)
    assert audit_of(ew.vault_world, "person.link_refused")[0].details["why"] == "expired"
    outcomes = [e.details["outcome"] for e in audit_of(ew.vault_world, "person.reset_requested")]
    assert outcomes == ["sent", "sent", "no such person"]


def test_a_user_of_a_federated_domain_is_skipped_and_said_why(
    sqlite_world: Any, graph_sim: Any
) -> None:
    """Office 365 refuses a password for a user of a federated domain (it belongs to the
    domain's identity provider); the push knows it from the tenant's domains, flags nothing."""
    ew = build_entra_world(sqlite_world, graph_sim)
    tenant = graph_sim.add_tenant(users=0, groups=0, domain="fabrikam.test",
                                  federated_domain="sso.fabrikam.test")  # fmt: skip
    name, _ = add_entra_directory(ew.vault_world, ew.client, graph_sim, tenant)
    [federated] = [d["id"] for d in tenant.domains if d["authenticationType"] == "Federated"]
    user = tenant.create_user(upn=f"fed@{federated}", display_name="Fed User")
    fed = add_person(ew.vault_world, ew.client, accounts={name: str(user.id)})
    result = asyncio.run(set_person_password(ew.vault, ew.keys, fed.person_id, Secret(strong()),
                                             why="self-service"))  # fmt: skip
    [push] = result.pushes
    assert push.status == "skipped"
    assert "federated domain" in push.detail
    assert "outside the vault" in push.detail  # see test_self_service_federated.py
    assert result.all_done
    assert ew.flags() == {}
