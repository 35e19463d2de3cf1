"""A client with a Samba AD directory (this test's OU) and an Office 365 tenant (the Graph
simulator), people linked to accounts in both, and the vault's mail going to a MailTrap."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from credsync.storage import onboarding as onboarding_rows
from credsync.storage import people as people_rows
from credsync.testing.smtp import MailTrap
from credsync.types import Secret
from credsync.vault._time import utcnow
from credsync.vault.drafts import make_draft

from .entra import add_entra_directory, strong
from .helpers import SyncWorld


def mail_to(vault_world: Any, trap: MailTrap) -> None:
    vault_world.vault.mail.set(
        vault_world.admin,
        vault_world.keys,
        {
            "host": "127.0.0.1",
            "port": trap.port,
            "security": "none",
            "from_address": "vault@msp.test",
            "public_url": "https://vault.msp.test",
        },
    )


@dataclass
class Someone:
    person_id: str
    credential_id: str
    username: str
    email: str
    ad_dn: str | None = None
    upn: str | None = None


def add_person(
    vw: Any,
    client: str,
    *,
    accounts: dict[str, str],
    username: str | None = None,
    awaiting: bool = False,
    password: str | None = None,
    display_name: str = "Ada Lovelace",
) -> Someone:
    """A person of ``client`` with a primary credential (a known password, or a placeholder
    awaiting onboarding) and links to ``accounts`` (directory name -> object id)."""
    vault, admin, keys = vw.vault, vw.admin, vw.keys
    username = username or f"selfservice-{uuid.uuid4().hex[:8]}"
    email = f"{username}@mail.msp.test"
    cred = vault.credentials.add(
        admin, keys, client,
        make_draft(title=display_name, username=username, password=Secret(password or strong())),
    )  # fmt: skip
    person = vault.people.add(admin, client, {"username": username, "email": email,
                                              "display_name": display_name,
                                              "credential": cred.id})  # fmt: skip
    now = utcnow()
    with vault.db.write() as conn:
        for name, object_id in accounts.items():
            directory = vault.directories.get(admin, name)
            people_rows.link_account(
                conn, people_rows.AccountRow(person.id, directory.id, object_id, now, "test")
            )
        if awaiting:
            record = onboarding_rows.OnboardingRow(
                person.id, person.row.client_id, None, "", "enforce", True, True, now, "test"
            )
            onboarding_rows.put(conn, record)
    return Someone(person.id, cred.id, username, email)


def add_tenant(sw: SyncWorld, sim: Any) -> tuple[str, Any]:
    """An Office 365 directory for the AD world's client: (its name, the tenant)."""
    tenant = sim.add_tenant(users=0, groups=0)
    name, _ = add_entra_directory(sw.vault_world, sw.client, sim, tenant)
    return name, tenant
