"""A vault with rows in every kind of table for the backup tests, and what to compare a
restored copy with: the secrets it holds (every version) and its tables, row by row."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import pyotp

from credsync.storage import Database, snapshot
from credsync.storage import runs as run_rows
from credsync.storage.tables import links
from credsync.types import Secret, new_id
from credsync.vault import KeyRing, Vault

from .flag_seed import seed_flags
from .helpers import ADMIN_PASSWORD, PASSPHRASE, Ctx, RoleActors, VaultWorld, add_cred
from .idp_world import federate


@dataclass
class Seeded:
    secrets: dict[str, dict[int, str]] = field(default_factory=dict)  # cred id -> version -> pw


def seed(world: VaultWorld) -> Seeded:
    """Clients, folders, credentials with tags, notes and a history (and one in the trash),
    a directory with links, flags and a run with items, an operator with MFA, an API token,
    a session, people and groups, a federated domain with its IdP signing key."""
    vault, admin, keys = world.vault, world.admin, world.keys
    seeded = Seeded()
    vault.clients.add(admin, keys, "Contoso", directory_sync=True)
    for n in range(3):
        cred = add_cred(
            world, "Contoso", f"Server {n}", f"First-{n}-Pa55!", username=f"svc{n}",
            folder_path="Servers/Windows", tags=["prod", f"n{n}"], notes=f"note {n}",
        )  # fmt: skip
        vault.credentials.set_password(admin, keys, cred.id, Secret(f"Second-{n}-Pa55!"))
        seeded.secrets[cred.id] = {1: f"First-{n}-Pa55!", 2: f"Second-{n}-Pa55!"}
    trashed = add_cred(world, "Contoso", "Old router", "Trash-Pa55-1!")
    seeded.secrets[trashed.id] = {1: "Trash-Pa55-1!"}
    vault.credentials.delete(admin, trashed.id)

    flagged = seed_flags(world, "Contoso", 4)
    seeded.secrets[flagged.bind_id] = {1: "Bind-Pa55word-1!"}
    for n, cred_id in enumerate(flagged.credential_ids):
        seeded.secrets[cred_id] = {1: f"Seeded-Pa55-{n}!"}
    now = dt.datetime.now(dt.UTC)
    run_id = new_id()
    with world.db.write() as conn:
        conn.execute(
            links.insert().values(
                credential_id=flagged.credential_ids[0],
                directory_id=flagged.directory_id,
                account_id="guid-0",
                linked_at=now,
                linked_by="alice",
                status="in_sync",
            )
        )
        run_rows.insert(
            conn, run_id, directory_id=flagged.directory_id, client_id=flagged.client_id,
            kind="check", trigger="manual", dry_run=False, actor="alice", owner="test", now=now,
        )  # fmt: skip
        run_rows.add_items(
            conn,
            run_id,
            [
                (
                    1,
                    run_rows.NewItem(
                        flagged.credential_ids[0], "guid-0", "user0", "in_sync", "none", ""
                    ),
                )
            ],
        )

    bob = world.operator("bob-backup", "technician")
    started = vault.mfa.begin(bob)
    vault.mfa.confirm(bob, pyotp.TOTP(started.secret.reveal()).at(time.time()))
    vault.access.create_token(admin, "backup-script")
    vault.access.create_session(admin, keys.kek(), dt.timedelta(hours=1))

    ctx = Ctx(world, vault.clients.get(admin, "Contoso"), RoleActors(world))
    person = vault.people.add(admin, "Contoso", {"username": "erik", "surname": "Berg"})
    group = vault.groups.add(admin, "Contoso", {"name": "Sales"})
    vault.groups.add_member(admin, group.id, person.id)
    federate(ctx)
    vault.idp_keys.certificates(ctx.client.id, keys=keys)
    return seeded


def tables(db: Database) -> dict[str, list[list[Any]]]:
    """Every table's rows in the archive's portable form (equal across SQLite and
    PostgreSQL for equal data)."""
    with db.snapshot() as conn:
        return {s.name: list(snapshot.read_rows(conn, s)) for s in snapshot.shapes(conn)}


def secrets_of(db: Database) -> dict[str, dict[int, str]]:
    """Every version of every credential's password in the vault of ``db``, opened with the
    original passphrase and signed in as the original admin."""
    vault = Vault.open(db)
    keys = KeyRing.of(vault.unlock(Secret(PASSPHRASE)))
    admin = vault.access.login_password("alice", Secret(ADMIN_PASSWORD))
    found: dict[str, dict[int, str]] = {}
    for client in vault.clients.list(admin):
        for trashed in (False, True):
            page = vault.credentials.list(admin, client.id, limit=10_000, trash=trashed)
            for cred in page.items:
                history = vault.credentials.history(admin, keys, cred.id, reveal=True)
                found[cred.id] = {
                    h.version: h.password.reveal() for h in history if h.password is not None
                }
        if vault.idp_keys.history(admin, client.id):  # the signing key unwraps, and signs
            assert vault.idp_keys.signer(client.id, keys=keys) is not None
    return found


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"
