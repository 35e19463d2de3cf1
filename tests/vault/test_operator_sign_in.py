"""The vault's connection to the MSP's tenant and the operators linked to identities there
(credsync.vault.operator_sign_in), on SQLite and PostgreSQL: admin only (others refused), the
secret sealed (never shown, in reprs or the audit log) and re-wrapped by the master key's
rotation, bad input refused on its field, links unique, and who may sign in."""

from __future__ import annotations

import uuid

import pytest

from credsync.connectors.operator_sign_in import VerifiedIdentity
from credsync.errors import AuthenticationFailed, Conflict, InvalidInput, NotFound, PermissionDenied
from credsync.types import Secret
from credsync.vault import KeyRing
from credsync.vault.keyring import derive_and_check
from vault.helpers import PASSPHRASE, VaultWorld, audit_of

TENANT = "11111111-2222-3333-4444-555555555555"
APP = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
SECRET = "app-secret-value~1234"
REDIRECT = "https://vault.example.test/sign-in/microsoft/callback"


def _setup(world: VaultWorld, **changes: object) -> object:
    values: dict[str, object] = {
        "tenant_id": TENANT,
        "client_id": APP,
        "client_secret": Secret(SECRET),
        "redirect_uri": REDIRECT,
        **changes,
    }
    return world.vault.operator_sign_in.setup(world.admin, world.keys, **values)  # type: ignore[arg-type]


def test_an_admin_connects_the_tenant_and_the_secret_stays_sealed(world: VaultWorld) -> None:
    settings = _setup(world)
    assert SECRET not in repr(settings)
    shown = world.vault.operator_sign_in.show(world.admin)
    assert shown is not None
    assert shown.to_json()["tenant_id"] == TENANT
    assert shown.to_json()["authority"] == "https://login.microsoftonline.com"
    assert SECRET not in str(shown.to_json())
    config = world.vault.operator_sign_in.provider_config(world.keys)
    assert config.client_secret is not None
    assert config.client_secret.reveal() == SECRET
    assert SECRET not in repr(config)
    entry = audit_of(world, "sign_in.setup")[-1]
    assert entry.details["secret_changed"] is True
    assert SECRET not in str(entry.details)
    public = world.vault.operator_sign_in.public()
    assert public is not None
    assert "client_secret" not in public
    # a change without the secret keeps the stored one
    _setup(world, client_secret=None, redirect_uri="https://other.example.test/cb")
    again = world.vault.operator_sign_in.provider_config(world.keys)
    assert again.client_secret is not None
    assert again.client_secret.reveal() == SECRET
    assert again.redirect_uri == "https://other.example.test/cb"


@pytest.mark.parametrize("role", ["viewer", "technician", "directory_manager", "auditor"])
def test_only_admins_connect_show_and_link(world: VaultWorld, role: str) -> None:
    _setup(world)
    someone = world.operator(f"who-{role}", role)
    service = world.vault.operator_sign_in
    with pytest.raises(PermissionDenied):
        service.setup(
            someone, world.keys, tenant_id=TENANT, client_id=APP,
            client_secret=Secret(SECRET), redirect_uri=REDIRECT,
        )  # fmt: skip
    with pytest.raises(PermissionDenied):
        service.show(someone)
    with pytest.raises(PermissionDenied):
        service.link(someone, someone.name, str(uuid.uuid4()))
    with pytest.raises(PermissionDenied):
        service.unlink(someone, "alice")
    with pytest.raises(PermissionDenied):
        service.links(someone)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"tenant_id": "contoso"}, "tenant_id"),
        ({"client_id": ""}, "client_id"),
        ({"redirect_uri": "http://vault.example.test/cb"}, "redirect_uri"),
        ({"redirect_uri": "https://vault.example.test/cb#x"}, "redirect_uri"),
        ({"authority": "ftp://login.example.test"}, "authority"),
        ({"ca_pem": "not a certificate"}, "ca_pem"),
        ({"client_secret": Secret("  ")}, "client_secret"),
    ],
)
def test_bad_input_is_refused_on_its_field(world: VaultWorld, change: dict, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        _setup(world, **change)
    assert caught.value.field == field
    assert world.vault.operator_sign_in.show(world.admin) is None


def test_the_first_setup_needs_the_secret(world: VaultWorld) -> None:
    with pytest.raises(InvalidInput) as caught:
        _setup(world, client_secret=None)
    assert caught.value.field == "client_secret"


def test_rotating_the_master_key_rewraps_the_secret(world: VaultWorld) -> None:
    _setup(world)
    new_passphrase = Secret(PASSPHRASE + "-rotated")
    world.vault.rotate_key(world.admin, world.keys, new_passphrase)
    keys = KeyRing(lambda: derive_and_check(world.db, new_passphrase))
    config = world.vault.operator_sign_in.provider_config(keys)
    assert config.client_secret is not None
    assert config.client_secret.reveal() == SECRET


def test_links_are_one_identity_per_operator_and_one_operator_per_identity(
    world: VaultWorld,
) -> None:
    _setup(world)
    world.operator("tech-a", "technician")
    world.operator("tech-b", "technician")
    oid = str(uuid.uuid4())
    service = world.vault.operator_sign_in
    linked = service.link(world.admin, "tech-a", oid.upper(), username="a@msp.test")
    assert (linked.tenant_id, linked.object_id) == (TENANT, oid)
    with pytest.raises(Conflict, match="tech-a"):
        service.link(world.admin, "tech-b", oid)
    with pytest.raises(InvalidInput) as caught:
        service.link(world.admin, "tech-b", "not-a-guid")
    assert caught.value.field == "object_id"
    with pytest.raises(NotFound):
        service.link(world.admin, "nobody", str(uuid.uuid4()))
    assert [(x.operator, x.object_id) for x in service.links(world.admin)] == [("tech-a", oid)]
    assert audit_of(world, "operator.identity_link")
    service.unlink(world.admin, "tech-a")
    assert audit_of(world, "operator.identity_unlink")
    with pytest.raises(NotFound):
        service.unlink(world.admin, "tech-a")
    service.link(world.admin, "tech-b", oid)  # free again


def test_who_may_sign_in(world: VaultWorld) -> None:
    _setup(world)
    world.operator("tech-c", "technician")
    oid = str(uuid.uuid4())
    service = world.vault.operator_sign_in
    service.link(world.admin, "tech-c", oid)
    row = service.operator_for(VerifiedIdentity(TENANT, oid, "c@msp.test"))
    assert row.name == "tech-c"
    session = world.vault.web_sessions.start_with(row, "microsoft")
    assert session.actor.via == "microsoft"
    assert not session.actor.mfa
    other_tenant = str(uuid.uuid4())
    with pytest.raises(AuthenticationFailed, match="no operator is linked"):
        service.operator_for(VerifiedIdentity(other_tenant, oid, "c@elsewhere.test"))
    with pytest.raises(AuthenticationFailed, match="no operator is linked"):
        service.operator_for(VerifiedIdentity(TENANT, str(uuid.uuid4()), "x@msp.test"))
    world.vault.operators.set_disabled(world.admin, "tech-c", True)
    with pytest.raises(AuthenticationFailed, match="disabled"):
        service.operator_for(VerifiedIdentity(TENANT, oid, "c@msp.test"))
    with pytest.raises(AuthenticationFailed):
        world.vault.web_sessions.start_with(row, "microsoft")
    reasons = [e.details["reason"] for e in audit_of(world, "auth.failed")]
    assert reasons.count("no operator is linked to it") == 2
    assert "operator is disabled" in reasons
