"""Many flags at once, written through their storage owner (a run per flag would take
minutes): a client's credentials imported from a CSV, a directory they are flagged in (an
Active Directory no test connects to), and one open flag per credential, opened on several
days so that the age filters have something to tell apart."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

from credsync.storage import flags as flag_rows
from credsync.types import CredentialType, Secret, SyncMode, new_id
from credsync.vault.directories import DirectoryInput
from credsync.vault.drafts import make_draft

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
STATUSES = ("mismatch", "changed_in_directory", "account_disabled")


@dataclass
class Seeded:
    client_id: str
    directory_id: str
    directory: str
    bind_id: str
    credential_ids: list[str]  # in the order they were flagged


def add_ad_directory(world: Any, client: str, name: str) -> tuple[str, str]:
    """An Active Directory of ``client`` (never reached) with a directory_admin credential to
    bind with: (directory id, bind credential id)."""
    vault, admin, keys = world.vault, world.admin, world.keys
    bind = vault.credentials.add(
        admin,
        keys,
        client,
        make_draft(
            title=f"{name} bind account",
            username="CONTOSO\\svc-credsync",
            password=Secret("Bind-Pa55word-1!"),
            type_=CredentialType.DIRECTORY_ADMIN,
            sync_mode=SyncMode.OFF,
        ),
    )
    given = DirectoryInput.of(
        {"url": "ldaps://127.0.0.1:1", "base_dn": "DC=contoso,DC=test", "bind_credential": bind.id}
    )
    directory = vault.directories.add(admin, client, name, "active_directory", given)
    return directory.id, bind.id


def seed_flags(
    world: Any, client: str, count: int, *, directory: str = "contoso-ad", title: str = "Account"
) -> Seeded:
    """``count`` credentials of ``client`` (an existing client), each with an open flag in a
    new directory: statuses in turn from :data:`STATUSES`, the n-th opened n // 100 days
    before :data:`NOW`."""
    vault, admin, keys = world.vault, world.admin, world.keys
    directory_id, bind_id = add_ad_directory(world, client, directory)
    rows = ["title,username,password"] + [
        f"{title} {n:05d},user{n:05d}@contoso.example,Seeded-Pa55-{n}!" for n in range(count)
    ]
    report = vault.csv.import_csv(
        admin, keys, client, io.BytesIO(("\n".join(rows) + "\n").encode()), source_name="seed"
    )
    assert report.imported == count, report
    page = vault.credentials.list(admin, client, limit=10_000)
    ids = [c.id for c in page.items if c.title.startswith(f"{title} ")]
    client_id = vault.clients.get(admin, client).id
    with world.db.write() as conn:
        for days in range(0, count // 100 + 1):
            found = [
                flag_rows.FlagCheck(
                    cid, f"acct-{n}", STATUSES[n % len(STATUSES)], f"seeded {n}", None
                )
                for n, cid in enumerate(ids)
                if n // 100 == days
            ]
            flag_rows.record_checks(
                conn,
                directory_id=directory_id,
                client_id=client_id,
                run_id=new_id(),
                found=found,
                by="seed",
                now=NOW - dt.timedelta(days=days),
            )
    return Seeded(client_id, directory_id, directory, bind_id, ids)


def flag_bind_credential(world: Any, seeded: Seeded) -> str:
    """An open flag on the directory's own bind credential (a directory_admin one); its id."""
    with world.db.write() as conn:
        flag_rows.record_checks(
            conn,
            directory_id=seeded.directory_id,
            client_id=seeded.client_id,
            run_id=new_id(),
            found=[flag_rows.FlagCheck(seeded.bind_id, "acct-bind", "mismatch", "bind", None)],
            by="seed",
            now=NOW,
        )
    [row] = [
        r
        for r in world.vault.flags.list(world.admin)
        if r.credential_id == seeded.bind_id and r.resolved_at is None
    ]
    return str(row.id)
