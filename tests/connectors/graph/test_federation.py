"""The Graph connector's ``federation`` capability against the simulator: domains, the setup
check naming what the app lacks, create / read / update / delete of a domain's settings with
the Managed/Federated flip, the 403 explained, and users' immutable ids."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from credsync.connectors.base import Capability
from credsync.connectors.federation import DomainFederation, FederationChange, FederationSettings
from credsync.errors import DirectoryDenied, PermanentConnectorError
from credsync.testing.graphsim._tls import make_app_certificate

from .world import GraphWorld

APP = ("Domain-InternalFederation.ReadWrite.All", "User.ReadWrite.All", "Directory.Read.All")


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def cert(name: str) -> str:
    der = make_app_certificate(name).certificate.public_bytes(serialization.Encoding.DER)
    return base64.b64encode(der).decode()


def settings(domain: str) -> FederationSettings:
    return FederationSettings(
        issuer_uri=f"https://vault.example/idp/{domain}",
        sign_in_uri=f"https://vault.example/idp/{domain}/sso",
        sign_out_uri=f"https://vault.example/idp/{domain}/logout",
        signing_certificate=cert("current"),
    )


def test_setup_check_names_what_is_missing(gw: GraphWorld) -> None:
    plain = gw.connector()  # the default app: no federation permission, no such role
    setup = run(plain.federation_setup())
    assert not setup.may_federate
    assert "Domain-InternalFederation.ReadWrite.All" in setup.missing
    assert "Hybrid Identity Administrator or Global Administrator" in setup.missing
    assert "403 on create and delete" in setup.missing
    no_role = gw.connector(app=gw.tenant.add_app(APP, None))
    setup = run(no_role.federation_setup())
    assert not setup.may_federate
    assert "permission" not in setup.missing.split(":")[0]
    ok = gw.connector(app=gw.tenant.add_app(APP, "Hybrid Identity Administrator"))
    setup = run(ok.federation_setup())
    assert (setup.may_federate, setup.roles, setup.missing) == (
        True,
        ("Hybrid Identity Administrator",),
        "",
    )
    for conn in (plain, no_role, ok):
        run(conn.close())


def test_create_read_update_delete(gw: GraphWorld) -> None:
    domain = gw.sim.add_domain(gw.tenant, "fedconn.test")
    conn = gw.connector(app=gw.tenant.add_app(APP, "Global Administrator"))
    try:
        assert Capability.FEDERATION in conn.capabilities
        assert isinstance(conn, DomainFederation)
        domains = {d.name: d for d in run(conn.federation_domains())}
        assert domains[gw.tenant.domain].default
        assert domains[gw.tenant.initial_domain].initial
        assert not domains[domain].federated
        assert run(conn.federation_settings(domain)) is None

        made = run(conn.create_federation(domain, settings(domain)))
        assert made.config_id
        assert made.mfa == "enforce"
        assert {d.name: d for d in run(conn.federation_domains())}[domain].federated
        assert gw.tenant.federation[domain]["federatedIdpMfaBehavior"] == (
            "enforceMfaByFederatedIdp"
        )

        nxt = cert("next")
        run(conn.update_federation(domain, made.config_id, FederationChange(
            next_signing_certificate=nxt)))  # fmt: skip
        read = run(conn.federation_settings(domain))
        assert read.next_signing_certificate == nxt
        assert read.signing_certificate == made.signing_certificate
        run(conn.update_federation(domain, made.config_id, FederationChange(
            signing_certificate=nxt, clear_next=True)))  # fmt: skip
        read = run(conn.federation_settings(domain))
        assert (read.signing_certificate, read.next_signing_certificate) == (nxt, None)

        with pytest.raises(PermanentConnectorError, match="Request_MultipleObjectsWithSameKey"):
            run(conn.create_federation(domain, settings(domain)))
        with pytest.raises(PermanentConnectorError, match="default domain"):
            run(conn.create_federation(gw.tenant.domain, settings(gw.tenant.domain)))

        run(conn.delete_federation(domain, made.config_id))
        assert not {d.name: d for d in run(conn.federation_domains())}[domain].federated
        assert run(conn.federation_settings(domain)) is None
    finally:
        run(conn.close())


def test_app_only_create_without_role_is_denied_with_what_is_needed(gw: GraphWorld) -> None:
    domain = gw.sim.add_domain(gw.tenant, "fedrole.test")
    conn = gw.connector(app=gw.tenant.add_app(APP, None))
    try:
        with pytest.raises(DirectoryDenied, match="Hybrid Identity Administrator") as caught:
            run(conn.create_federation(domain, settings(domain)))
        assert "Authorization_RequestDenied" in str(caught.value)
        assert domain not in gw.tenant.federation
    finally:
        run(conn.close())


def test_domain_users_and_immutable_ids(gw: GraphWorld) -> None:
    domain = gw.sim.add_domain(gw.tenant, "fedusers.test")
    ann = gw.tenant.create_user(upn=f"ann@{domain}")
    synced = gw.tenant.create_user(upn=f"bob@{domain}", on_premises_sync=True)
    gw.tenant.create_user(upn=f"eve@{gw.tenant.domain}")
    conn = gw.connector(app=gw.tenant.add_app(APP, "Global Administrator"))
    try:
        users = {u.username: u for u in run(conn.domain_users(domain))}
        assert set(users) == {ann.upn, synced.upn}
        assert users[synced.upn].managed_elsewhere
        assert users[synced.upn].immutable_id
        assert users[ann.upn].immutable_id == ""
        run(conn.set_immutable_id(ann.id, "YW5uLWFuY2hvcg=="))
        assert gw.tenant.get_user(ann.id)["onPremisesImmutableId"] == "YW5uLWFuY2hvcg=="
        with pytest.raises(PermanentConnectorError, match="onPremisesImmutableId"):
            run(conn.set_immutable_id(ann.id, users[synced.upn].immutable_id))
    finally:
        run(conn.close())
