"""A federated client for the end-to-end tests of the identity provider: the vault served
over HTTPS on 127.0.0.1 (Entra wants an https passiveSignInUri; the certificate comes from a
throwaway test CA), the Graph simulator with a tenant whose domain is federated to it (the
configuration set directly, as ``credsync federation enable`` will set it through Graph), a
person with a password and an authenticator app, and their Entra user with the matching
``onPremisesImmutableId``."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyotp
import uvicorn

from credsync.api.state import ServerState
from credsync.server.app import create_app
from credsync.testing.graphsim import GraphSimulator, SimTenant
from credsync.testing.graphsim._tls import make_server_tls
from credsync.types import Secret
from credsync.vault.drafts import make_draft
from credsync.vault.federated_domains import FederatedDomain, FederatedIdentity
from vault.flag_seed import add_ad_directory
from vault.helpers import VaultWorld, make_world

from .conftest import LiveServer

PASSWORD = "Federated-Pa55word!"
IMMUTABLE = "q0/Vs+Fh3kGbW1cA8N7x2A=="


class TlsLiveServer(LiveServer):
    """The app over HTTPS (uvicorn with the test CA's certificate for 127.0.0.1)."""

    def __init__(self, app: Any, cert: Path, key: Path) -> None:
        super().__init__(app)
        self.url = self.url.replace("http://", "https://")
        config = uvicorn.Config(
            app, lifespan="off", log_level="warning", access_log=False, log_config=None,
            ssl_certfile=str(cert), ssl_keyfile=str(key),
        )  # fmt: skip
        self._server = uvicorn.Server(config)


@dataclass
class FedWorld:
    world: VaultWorld
    url: str
    sim: GraphSimulator
    tenant: SimTenant
    client_id: str
    domain: FederatedDomain
    person_id: str
    username: str
    totp: pyotp.TOTP
    upn: str

    @property
    def config(self) -> dict[str, Any]:
        return dict(self.tenant.federation[self.domain.domain])

    def set_config(self, **values: Any) -> None:
        self.tenant.federation[self.domain.domain].update(values)

    @property
    def start_url(self) -> str:
        """Where a person starts signing in to Office 365 (the tenant's sign-in page for
        their UPN: home realm discovery sends them on to the vault)."""
        return f"{self.sim.url}/{self.tenant.id}/login?user={self.upn}"


def _person(world: VaultWorld, client: str, username: str) -> tuple[str, pyotp.TOTP]:
    vault, admin, keys = world.vault, world.admin, world.keys
    cred = vault.credentials.add(
        admin,
        keys,
        client,
        make_draft(title=username, username=username, password=Secret(PASSWORD)),
    )
    person = vault.people.add(admin, client, {"username": username, "credential": cred.id})
    enrolment = vault.person_auth.begin_totp(person.id)
    totp = pyotp.TOTP(enrolment.seed.reveal())
    # the code of the step before: the person's first sign-in uses the current one (a code
    # is good once)
    vault.person_auth.confirm_totp(person.id, totp.at(time.time() - 30))
    return person.id, totp


@contextmanager
def federated(tmp: Path, protocol: str = "saml") -> Iterator[FedWorld]:
    tls = make_server_tls()
    cert, key = tmp / "vault.pem", tmp / "vault-key.pem"
    cert.write_text(tls.cert_pem)
    key.touch(mode=0o600)
    key.write_text(tls.key_pem)
    world = make_world(f"sqlite:///{tmp / 'vault.db'}")
    sim = GraphSimulator(port=0, seed=41).start()
    server = None
    try:
        state = ServerState(world.vault, world.keys, secure_cookies=True)
        server = TlsLiveServer(create_app(state, tls=True), cert, key).start()
        vault, admin, keys = world.vault, world.admin, world.keys
        name = f"idp-{uuid.uuid4().hex[:6]}"
        client = vault.clients.add(admin, keys, "Fabrikam")
        directory_id, _ = add_ad_directory(world, client.id, f"{name}-o365")
        tenant = sim.add_tenant(users=0, groups=0, domain=f"{name}.test")
        domain = sim.add_domain(tenant, f"fed.{name}.test", federated=True)
        vault.federated_domains.record(
            admin, client.id, domain, directory_id=directory_id, base_url=server.url,
            login_url=f"{sim.url}/login.srf", protocol=protocol,
            mfa_behavior="enforceMfaByFederatedIdp",
        )  # fmt: skip
        fed = vault.federated_domains.set_state(admin, client.id, domain, "federated")
        current, _ = vault.idp_keys.certificates(client.id, keys=keys)
        tenant.federation[domain].update(
            issuerUri=fed.issuer_uri,
            signingCertificate=current.b64,
            nextSigningCertificate=None,
            passiveSignInUri=fed.sign_in_uri,
            signOutUri=fed.sign_out_uri,
            preferredAuthenticationProtocol=protocol,
            federatedIdpMfaBehavior="enforceMfaByFederatedIdp",
        )
        username = f"{name}-petra"
        person_id, totp = _person(world, client.id, username)
        upn = f"petra@{domain}"
        user = tenant.create_user(upn=upn, display_name="Petra")
        tenant.set_immutable_id(user.id, IMMUTABLE)
        vault.federated_domains.set_identities(
            admin, client.id, domain, [FederatedIdentity(person_id, IMMUTABLE, upn)]
        )
        yield FedWorld(
            world, server.url, sim, tenant, client.id, fed, person_id, username, totp, upn
        )
    finally:
        if server is not None:
            server.stop()
        sim.stop()
        world.db.dispose()
