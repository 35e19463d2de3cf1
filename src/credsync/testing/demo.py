"""The world ``credsync demo`` shows: a throwaway vault, a simulated Entra tenant (and a local
Samba AD DC when one runs or is asked for), clients with credentials in report, enforce and
two-way mode, and some passwords drifted in the directory so that there is something to see.

Everything is made for the demo and thrown away with it: the master passphrase and the demo
operator's password are random, printed once, and the data directory is a temporary one
unless the caller keeps it.
"""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from credsync.crypto import KdfParams
from credsync.storage import Database
from credsync.sync.confirm import LinkConfirmations
from credsync.sync.engine import Engine
from credsync.testing.graphsim import DEFAULT_PERMISSIONS, DEFAULT_ROLE, GraphSimulator
from credsync.types import CredentialType, Secret, SyncMode
from credsync.vault import Actor, KeyRing, Vault
from credsync.vault.directories import DirectoryInput
from credsync.vault.drafts import make_draft

__all__ = ["DemoWorld", "build_demo"]

CLIENT = "Contoso Ltd"
SECOND_CLIENT = "Fabrikam Inc"
AD_CLIENT = "Northwind Traders"  # on-premises Active Directory only
ENTRA = "contoso-365"
AD = "northwind-ad"
ADMIN = "demo"

# (name, title, mode, what happens after the first run)
_PEOPLE: tuple[tuple[str, str, SyncMode | None, str], ...] = (
    ("megan.bowen", "Megan Bowen (M365)", None, ""),
    ("adele.vance", "Adele Vance (M365)", None, "portal_reset"),
    ("lee.gu", "Lee Gu (M365)", None, ""),
    ("diego.siciliani", "Diego Siciliani (M365)", None, "vault_change"),
    ("isaiah.langer", "Isaiah Langer (M365)", None, ""),
    ("lynne.robbins", "Lynne Robbins (M365)", None, "portal_reset"),
    ("nestor.wilke", "Nestor Wilke (M365)", SyncMode.ENFORCE, "portal_reset"),
    ("patti.fernandez", "Patti Fernandez (M365)", SyncMode.ENFORCE, ""),
    ("grady.archie", "Grady Archie (M365)", SyncMode.TWO_WAY, "portal_reset"),
    ("henrietta.mueller", "Henrietta Mueller (M365)", None, ""),
)
_OTHER = (
    ("Office Wi-Fi", "", "https://wifi.contoso.test"),
    ("Firewall admin", "admin", "https://fw1.contoso.test"),
    ("Domain registrar", "it@contoso.test", "https://registrar.example"),
)


def _password() -> str:
    return f"Demo-{secrets.token_urlsafe(9)}-7!"


@dataclass
class DemoWorld:
    """What the demo made; :meth:`close` stops the simulator and the database."""

    home: Path
    db: Database
    vault: Vault
    keys: KeyRing
    admin: Actor
    admin_password: Secret = field(repr=False)
    token: Secret = field(repr=False)
    sim: GraphSimulator
    tenant: Any
    summary: list[str] = field(default_factory=list)
    cleanups: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        self.keys.forget()
        self.db.dispose()
        self.sim.stop()
        for cleanup in reversed(self.cleanups):
            cleanup()


def build_demo(
    home: Path, *, users: int = 200, seed: int = 7, samba: Any = None, runs: bool = True
) -> DemoWorld:
    """Make the demo's vault in ``home`` (which must hold no vault yet) and its tenant.
    ``samba``: the facts of a running Samba AD DC (:class:`credsync.testing.samba.SambaFacts`)
    to add an Active Directory too. ``runs``: make the first run and the drift now."""
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    db = Database(f"sqlite:///{home / 'vault.db'}")
    admin_password = Secret(_password())
    # A throwaway vault: a lighter key derivation than the product's default (19 MiB, 2
    # passes: OWASP's minimum for Argon2id) so that the demo starts at once.
    vault, _, kek = Vault.initialise(
        db,
        passphrase=Secret(secrets.token_urlsafe(24)),
        admin_name=ADMIN,
        admin_password=admin_password,
        kdf=KdfParams.new(time_cost=2, memory_kib=19456, parallelism=1),
    )
    keys = KeyRing.of(kek)
    admin = vault.access.login_password(ADMIN, admin_password)
    _, token = vault.access.create_token(admin, "demo scripts")
    sim = GraphSimulator(port=0, seed=seed).start()
    world = DemoWorld(home, db, vault, keys, admin, admin_password, token, sim, None)
    try:
        world.tenant = sim.add_tenant(users=users, groups=10, domain="contoso.test")
        _contoso(world)
        if samba is not None:
            _active_directory(world, samba)
        _fabrikam(world)
        if runs:
            _first_runs_and_drift(world, with_ad=samba is not None)
    except BaseException:
        world.close()
        raise
    return world


def _add(world: DemoWorld, client: str, title: str, username: str, password: str, **kw: Any) -> str:
    draft = make_draft(title=title, username=username, password=Secret(password), **kw)
    return world.vault.credentials.add(world.admin, world.keys, client, draft).id


def _contoso(world: DemoWorld) -> None:
    vault, admin, keys, sim, tenant = world.vault, world.admin, world.keys, world.sim, world.tenant
    vault.clients.add(admin, keys, CLIENT, directory_sync=True, default_sync_mode=SyncMode.REPORT)
    # The default app plus AuditLog.Read.All: the flags name who changed a password.
    app = tenant.add_app((*DEFAULT_PERMISSIONS, "AuditLog.Read.All"), DEFAULT_ROLE, "credsync")
    app_cred = _add(
        world,
        CLIENT,
        "Graph app (credsync)",
        "credsync-app",
        app.certificate_pem + app.private_key_pem,
        type_=CredentialType.DIRECTORY_ADMIN,
        sync_mode=SyncMode.OFF,
        tags=["entra"],
    )
    vault.directories.add(
        admin,
        CLIENT,
        ENTRA,
        "entra",
        DirectoryInput.of(
            {
                "url": sim.graph_url,
                "certificate_credential": app_cred,
                "tenant_id": tenant.id,
                "app_id": app.client_id,
                "authority": sim.url,
                "ca_pem": sim.ca_pem,
                "options": {"interval": 20, "jitter": 5},
            }
        ),
    )
    for alias, title, mode, _ in _PEOPLE:
        password = _password()
        tenant.create_user(upn=f"{alias}@{tenant.domain}", password=password)
        _add(
            world,
            CLIENT,
            title,
            f"{alias}@{tenant.domain}",
            password,
            sync_mode=mode,
            tags=["m365"],
            folder_path="Users",
        )
    for title, username, url in _OTHER:
        _add(world, CLIENT, title, username, _password(), url=url, sync_mode=SyncMode.OFF)


def _active_directory(world: DemoWorld, facts: Any) -> None:
    from credsync.testing.samba import SambaAdmin

    world.vault.clients.add(world.admin, world.keys, AD_CLIENT, directory_sync=True)
    with SambaAdmin(facts) as ad:
        ou = ad.new_ou("demo")
        world.cleanups.append(lambda: _delete_ou(facts, ou))
        admin_cred = _add(
            world,
            AD_CLIENT,
            "Domain admin (credsync)",
            facts.admin_upn,
            facts.admin_password,
            type_=CredentialType.DIRECTORY_ADMIN,
            sync_mode=SyncMode.OFF,
            tags=["ad"],
        )
        world.vault.directories.add(
            world.admin,
            AD_CLIENT,
            AD,
            "active-directory",
            DirectoryInput.of(
                {
                    "url": facts.ldaps_url,
                    "base_dn": ou,
                    "bind_credential": admin_cred,
                    "ca_pem": Path(facts.ca_file).read_text(),
                    "tls_server_name": facts.tls_server_name,
                    "options": {"interval": 20, "jitter": 5},
                }
            ),
        )
        for n, mode in enumerate((None, None, SyncMode.ENFORCE)):
            name = f"demo{uuid.uuid4().hex[:6]}{n}"
            password = _password()
            user = ad.create_user(ou, name, password)
            _add(world, AD_CLIENT, f"AD user {name}", user.name, password, sync_mode=mode)
        world.summary.append(f"Active Directory ({AD_CLIENT}): {AD}, OU {ou} of the local Samba DC")


def _delete_ou(facts: Any, ou: str) -> None:
    """The demo's OU and its users leave the DC with the demo."""
    from credsync.testing.samba import SambaAdmin

    with SambaAdmin(facts) as ad:
        ad.delete_tree(ou)


def _fabrikam(world: DemoWorld) -> None:
    world.vault.clients.add(world.admin, world.keys, SECOND_CLIENT)
    for title, username, url in (
        ("Router", "admin", "https://192.0.2.1"),
        ("Backup portal", "backup@fabrikam.test", "https://backup.example"),
    ):
        _add(world, SECOND_CLIENT, title, username, _password(), url=url)


def _first_runs_and_drift(world: DemoWorld, *, with_ad: bool) -> None:
    """A first run links and baselines everything; the demo's operator confirms the new
    links of the enforce and two-way credentials (as one does with ``credsync flags confirm``
    once the accounts are checked), and a run makes their first pushes; then some passwords
    change in the tenant (a portal reset) and one in the vault, and another run finds them."""
    engine = Engine(world.vault, world.keys, world.admin)
    directories = [ENTRA, AD] if with_ad else [ENTRA]
    for name in directories:
        asyncio.run(engine.run(name, full=True))
    confirmations = LinkConfirmations(world.vault)
    for client in [CLIENT, AD_CLIENT] if with_ad else [CLIENT]:
        if confirmations.waiting(world.admin, client):
            confirmations.confirm(world.admin, client_ref=client, confirmed=True)
    for name in directories:  # the confirmed links' first pushes
        asyncio.run(engine.run(name))
    # Graph's timestamps have whole seconds: the changes below must come in a later second
    # than the passwords the first run saw. Wait for it (moving the simulator's clock ahead
    # instead dated every later change in the tenant seconds after the flag reporting it).
    time.sleep(1.05 - time.time() % 1)
    tenant = world.tenant
    creds = {c.username: c for c in world.vault.credentials.list(world.admin, CLIENT).items}
    for alias, _, _, what in _PEOPLE:
        upn = f"{alias}@{tenant.domain}"
        if what == "portal_reset":
            tenant.admin_reset(upn, _password())  # by admin@contoso.test in the portal
        elif what == "vault_change":
            world.vault.credentials.set_password(
                world.admin, world.keys, creds[upn].id, Secret(_password()), reason="demo"
            )
    for name in directories:
        asyncio.run(engine.run(name))
    world.summary.append(
        "Drift made for the demo: 4 passwords reset in the tenant (2 in report mode flagged "
        "changed_in_directory, 1 in enforce mode pushed back, 1 in two-way mode flagged and "
        "not pushed over), 1 changed in the vault (flagged mismatch); the new links of the "
        "enforce and two-way credentials were confirmed by "
        f"{ADMIN!r} after the first run (`credsync flags confirm`)"
    )
