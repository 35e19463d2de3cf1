"""The identity provider's foundation, on both backends: the signing keys (made on first
need, sealed by the master key, rotated with an overlap, retired keys never sign again) and
the federated domains (one client per domain, the issuer URI derived per domain, identities
replaced as a set), with their permissions and audit entries."""

from __future__ import annotations

import base64
import datetime as dt
import uuid

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree
from signxml.exceptions import InvalidDigest
from signxml.verifier import XMLVerifier

from credsync.crypto.idp_keys import XmlSigner, key_bits, new_idp_key
from credsync.errors import AlreadyExists, Conflict, InvalidInput, NotFound, PermissionDenied
from credsync.storage import idp_keys as key_rows
from credsync.types import Secret
from credsync.vault import KeyRing
from credsync.vault.federated_domains import FederatedIdentity, idp_endpoints

from .flag_seed import add_ad_directory
from .helpers import Ctx, VaultWorld

BASE = "https://vault.example.test"
LOGIN = "https://login.microsoftonline.com/login.srf"


def _sign_and_verify(ctx: Ctx, cert_b64: str) -> None:
    signer = ctx.vault.idp_keys.signer(ctx.client.id, keys=ctx.keys)
    root = etree.fromstring(b'<a xmlns="urn:t" ID="_x1"><Issuer>me</Issuer><b>hello</b></a>')
    signed = signer.sign(root, "_x1")
    assert etree.QName(signed[1]).localname == "Signature"  # right after Issuer
    cert = x509.load_der_x509_certificate(base64.b64decode(cert_b64))
    XMLVerifier().verify(etree.tostring(signed), x509_cert=cert)


def test_the_first_key_is_made_on_first_need_sealed_and_audited(ctx: Ctx) -> None:
    current, following = ctx.vault.idp_keys.certificates(ctx.client.id, keys=ctx.keys)
    assert following is None
    assert current.state == "current"
    cert = x509.load_der_x509_certificate(current.der)
    key = cert.public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    assert key.key_size == key_bits(current.not_after)  # 2048 while it expires by 2030
    assert (current.not_after - current.not_before).days >= 3 * 365
    assert base64.b64decode(current.b64) == current.der
    again, _ = ctx.vault.idp_keys.certificates(ctx.client.id, keys=ctx.keys)
    assert again.key_id == current.key_id  # made once
    [made] = ctx.audit("idp.key_created", ctx.client.id)
    assert made.details["thumbprint"] == current.thumbprint
    with ctx.world.db.read() as conn:
        [row] = key_rows.of_client(conn, ctx.client.id)
    assert b"PRIVATE" not in bytes(row.wrapped_key)
    assert bytes(row.wrapped_key).hex() not in repr(row)
    _sign_and_verify(ctx, current.b64)
    assert current.thumbprint in repr(ctx.vault.idp_keys.signer(ctx.client.id, keys=ctx.keys))


@pytest.mark.parametrize(
    ("made", "bits"),
    [
        (dt.datetime(2026, 12, 8, tzinfo=dt.UTC), 2048),  # expires 2029: 112-bit security
        (dt.datetime(2027, 12, 31, tzinfo=dt.UTC), 2048),  # expires 2030-12-30
        (dt.datetime(2028, 3, 1, tzinfo=dt.UTC), 3072),  # would be valid in 2031
    ],
)
def test_a_key_is_2048_bits_unless_it_outlives_2030(made: dt.datetime, bits: int) -> None:
    new = new_idp_key("fabrikam.example", made)
    public = x509.load_der_x509_certificate(new.cert_der).public_key()
    assert isinstance(public, rsa.RSAPublicKey)
    assert (public.key_size, key_bits(new.not_after)) == (bits, bits)
    assert (new.not_after.year <= 2030) is (bits == 2048)


@pytest.mark.parametrize("bits", [2048, 3072])
def test_a_key_of_either_size_signs_what_signxml_accepts(bits: int) -> None:
    # 3072: the keys made before 2048 was the default, kept and signing until rotated
    new = new_idp_key("fabrikam.example", dt.datetime.now(dt.UTC), bits=bits)
    cert = x509.load_der_x509_certificate(new.cert_der)
    signer = XmlSigner("k1", new.private_der, new.cert_der)
    root = etree.fromstring(b'<a xmlns="urn:t" ID="_x1"><Issuer>me</Issuer><b>hi</b></a>')
    signed = signer.sign(root, "_x1")
    result = XMLVerifier().verify(etree.tostring(signed), x509_cert=cert)
    assert result.signed_xml is not None
    assert result.signed_xml.findtext("{urn:t}b") == "hi"
    tampered = etree.tostring(signed).replace(b">hi<", b">ho<")
    with pytest.raises(InvalidDigest):
        XMLVerifier().verify(tampered, x509_cert=cert)
    with pytest.raises(ValueError, match="at least 2048"):
        new_idp_key("fabrikam.example", dt.datetime.now(dt.UTC), bits=1024)


def test_rotation_overlaps_then_retires_the_old_key(ctx: Ctx) -> None:
    keys = ctx.vault.idp_keys
    old, _ = keys.certificates(ctx.client.id, keys=ctx.keys)
    new = keys.begin_rotation(ctx.admin, ctx.name, keys=ctx.keys)
    current, following = keys.certificates(ctx.client.id)
    assert (current.key_id, following and following.key_id) == (old.key_id, new.key_id)
    # the old key still signs during the overlap
    _sign_and_verify(ctx, old.b64)
    with pytest.raises(Conflict, match="already has a signing-key rotation"):
        keys.begin_rotation(ctx.admin, ctx.name, keys=ctx.keys)
    done = keys.finish_rotation(ctx.admin, ctx.name)
    assert (done.key_id, done.state) == (new.key_id, "current")
    _sign_and_verify(ctx, new.b64)
    states = {c.key_id: c.state for c in keys.history(ctx.admin, ctx.name)}
    assert states == {old.key_id: "retired", new.key_id: "current"}
    with pytest.raises(Conflict, match="no signing-key rotation"):
        keys.finish_rotation(ctx.admin, ctx.name)
    assert ctx.audit("idp.rotation_begun", ctx.client.id)
    [finished] = ctx.audit("idp.rotation_finished", ctx.client.id)
    assert finished.details == {"retired": old.thumbprint, "current": new.thumbprint}


def test_a_rotation_can_be_cancelled(ctx: Ctx) -> None:
    keys = ctx.vault.idp_keys
    old, _ = keys.certificates(ctx.client.id, keys=ctx.keys)
    keys.begin_rotation(ctx.admin, ctx.name, keys=ctx.keys)
    keys.cancel_rotation(ctx.admin, ctx.name)
    assert keys.certificates(ctx.client.id) == (old, None)
    with pytest.raises(NotFound, match="no next signing key"):
        keys.cancel_rotation(ctx.admin, ctx.name)
    assert ctx.audit("idp.rotation_cancelled", ctx.client.id)


def test_only_directory_setup_rotates_and_only_within_client_access(ctx: Ctx) -> None:
    keys = ctx.vault.idp_keys
    viewer = ctx.as_role("technician")
    for attempt in (
        lambda: keys.begin_rotation(viewer, ctx.name, keys=ctx.keys),
        lambda: keys.finish_rotation(viewer, ctx.name),
        lambda: keys.cancel_rotation(viewer, ctx.name),
    ):
        with pytest.raises(PermissionDenied):
            attempt()
    other = ctx.other_client()
    name = f"idp-lim-{uuid.uuid4().hex[:6]}"
    limited = ctx.world.operator(name, "directory_manager")
    ctx.vault.operators.set_clients(ctx.admin, name, [other.id])
    limited = ctx.vault.access.login_password(name, Secret(f"{name}-password-1234"))
    with pytest.raises(NotFound):
        keys.begin_rotation(limited, ctx.name, keys=ctx.keys)
    assert keys.history(ctx.admin, ctx.name) == []  # nothing was made


def test_master_key_rotation_rewraps_the_signing_keys(world: VaultWorld) -> None:
    client = world.vault.clients.add(world.admin, world.keys, "Rewrap")
    current, _ = world.vault.idp_keys.certificates(client.id, keys=world.keys)
    world.vault.rotate_key(world.admin, world.keys, Secret("another long passphrase 42!"))
    fresh = KeyRing(lambda: world.vault.unlock(Secret("another long passphrase 42!")))
    world.vault.idp_keys._signers.clear()
    signer = world.vault.idp_keys.signer(client.id, keys=fresh)
    assert signer.thumbprint == current.thumbprint


def _domain(ctx: Ctx, name: str | None = None, **overrides: str) -> tuple[str, str]:
    directory_id, _ = add_ad_directory(ctx.world, ctx.name, f"o365-{uuid.uuid4().hex[:6]}")
    domain = name or f"d{uuid.uuid4().hex[:8]}.example"
    given = {
        "directory_id": directory_id,
        "base_url": BASE + "/",
        "login_url": LOGIN,
        "protocol": "saml",
        "mfa_behavior": "enforceMfaByFederatedIdp",
    } | overrides
    ctx.vault.federated_domains.record(ctx.admin, ctx.name, domain.upper(), **given)
    return domain, directory_id


def test_a_domain_is_recorded_read_and_moved_through_its_states(ctx: Ctx) -> None:
    domain, directory_id = _domain(ctx)
    fed = ctx.vault.federated_domains.get(ctx.admin, ctx.name, domain)
    assert (fed.domain, fed.state, fed.base_url, fed.directory_id) == (
        domain,
        "enabling",
        BASE,
        directory_id,
    )
    assert fed.issuer_uri == f"{BASE}/idp/{domain}" == idp_endpoints(BASE, domain).issuer
    assert fed.sign_in_uri == f"{BASE}/idp/{domain}/sign-in"
    assert fed.metadata_uri.endswith("/metadata")
    assert fed.sign_out_uri.endswith("/sign-out")
    moved = ctx.vault.federated_domains.set_state(
        ctx.admin, ctx.name, domain, "federated", config_id="cfg-1"
    )
    assert (moved.state, moved.config_id) == ("federated", "cfg-1")
    assert ctx.vault.federated_domains.resolve(domain.upper()) == moved
    assert ctx.vault.federated_domains.resolve("nowhere.example") is None
    assert [d.domain for d in ctx.vault.federated_domains.of_client(ctx.admin, ctx.name)] == [
        domain
    ]
    assert ctx.audit("federation.domain_recorded", domain)
    [state] = ctx.audit("federation.state", domain)
    assert state.details["to"] == "federated"
    ctx.vault.federated_domains.forget(ctx.admin, ctx.name, domain)
    assert ctx.vault.federated_domains.resolve(domain) is None
    with pytest.raises(NotFound, match=domain):
        ctx.vault.federated_domains.get(ctx.admin, ctx.name, domain)
    assert ctx.audit("federation.domain_forgotten", domain)


def test_a_domain_belongs_to_one_client(ctx: Ctx) -> None:
    domain, _ = _domain(ctx)
    other = ctx.other_client()
    directory_id, _ = add_ad_directory(ctx.world, other.name, f"o365-{uuid.uuid4().hex[:6]}")
    with pytest.raises(AlreadyExists, match="another client"):
        ctx.vault.federated_domains.record(
            ctx.admin,
            other.name,
            domain,
            directory_id=directory_id,
            base_url=BASE,
            login_url=LOGIN,
            protocol="saml",
            mfa_behavior="enforceMfaByFederatedIdp",
        )
    with pytest.raises(NotFound):
        ctx.vault.federated_domains.get(ctx.admin, other.name, domain)


@pytest.mark.parametrize(
    ("domain", "overrides", "field"),
    [
        ("not a domain", {}, "domain"),
        ("contoso.onmicrosoft.com", {}, "domain"),
        (None, {"base_url": "http://vault.example.test"}, "base_url"),
        (None, {"login_url": "ftp://x"}, "login_url"),
        (None, {"protocol": "oidc"}, "protocol"),
        (None, {"mfa_behavior": "sometimes"}, "mfa_behavior"),
    ],
)
def test_record_refuses_bad_input_naming_the_field(
    ctx: Ctx, domain: str | None, overrides: dict[str, str], field: str
) -> None:
    with pytest.raises(InvalidInput) as err:
        _domain(ctx, domain, **overrides)
    assert err.value.field == field


def test_identities_are_replaced_as_a_set_and_checked(ctx: Ctx) -> None:
    domain, _ = _domain(ctx)
    anna = ctx.vault.people.add(ctx.admin, ctx.name, {"username": "anna"}).id
    ben = ctx.vault.people.add(ctx.admin, ctx.name, {"username": "ben"}).id
    feds = ctx.vault.federated_domains
    n = feds.set_identities(
        ctx.admin,
        ctx.name,
        domain,
        [
            FederatedIdentity(anna, "aW1tdXRhYmxlK2lk", f"Anna@{domain}"),
            FederatedIdentity(ben, "YmVu", f"ben@{domain}"),
        ],
    )
    assert n == 2
    assert feds.identity(domain, anna) == FederatedIdentity(
        anna, "aW1tdXRhYmxlK2lk", f"anna@{domain}"
    )
    feds.set_identities(
        ctx.admin, ctx.name, domain, [FederatedIdentity(ben, "YmVu", f"b@{domain}")]
    )
    assert feds.identity(domain, anna) is None
    other = ctx.other_client()
    stranger = ctx.vault.people.add(ctx.admin, other.name, {"username": "zed"}).id
    with pytest.raises(InvalidInput) as err:
        feds.set_identities(ctx.admin, ctx.name, domain, [FederatedIdentity(stranger, "eg", "z@x")])
    assert err.value.field == "identities[0].person_id"
    with pytest.raises(InvalidInput) as err:
        feds.set_identities(ctx.admin, ctx.name, domain, [FederatedIdentity(ben, "x" * 65, "b@x")])
    assert err.value.field == "identities[0].immutable_id"
    [last, first] = ctx.audit("federation.identities", domain)
    assert (first.details, last.details) == ({"before": 0, "after": 2}, {"before": 2, "after": 1})


def test_only_directory_setup_writes_domains_and_vault_read_reads(ctx: Ctx) -> None:
    domain, directory_id = _domain(ctx)
    feds = ctx.vault.federated_domains
    viewer = ctx.as_role("technician")
    assert feds.get(viewer, ctx.name, domain).domain == domain
    for attempt in (
        lambda: feds.record(
            viewer,
            ctx.name,
            domain,
            directory_id=directory_id,
            base_url=BASE,
            login_url=LOGIN,
            protocol="saml",
            mfa_behavior="enforceMfaByFederatedIdp",
        ),
        lambda: feds.set_state(viewer, ctx.name, domain, "federated"),
        lambda: feds.set_identities(viewer, ctx.name, domain, []),
        lambda: feds.forget(viewer, ctx.name, domain),
    ):
        with pytest.raises(PermissionDenied):
            attempt()
    assert feds.get(ctx.admin, ctx.name, domain).state == "enabling"
