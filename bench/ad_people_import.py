"""The import of people and groups from Active Directory, against the Samba AD DC.

    python bench/ad_people_import.py [--quick] [--people N] [--rounds N]

N users (default 2,000, each with a display name, department and title; no password, so
disabled) in an OU of their own,
and one security group with all of them as members:

1. ``search_people("")`` through the connector (every person, paged, mapped to the import's
   fields) against the connector's own ``iter_accounts`` over the same OU (the same paged
   search, mapped to accounts): the baseline. Target: <= 1.5x the baseline.
2. ``iter_members`` of the group (``member`` read with ranged retrieval, each DN resolved by
   its objectClass, 50 a search) against a bare ldap3 paged search of the group's members by
   ``(memberOf=<group DN>)`` (what one would write by hand, without the member attribute).
   Target: <= 3x the baseline.
3. The whole import (``PeopleImport.sync`` of the group with ``members``: N people, one
   group, N memberships, into a new SQLite vault) and a second sync of the same, all
   unchanged, writing nothing. Printed: the time per object; target: the second sync no
   slower than the first (it reads the same and writes nothing; since the import writes in
   batches both are mostly the directory's reads, so a tighter ratio measures the DC).

Cases 1 and 2 alternate with their baselines for ``--rounds`` rounds (default 3); each side's
best round counts. The DC is the machine's shared one (``scripts/samba-dc``); the users live in
an OU of their own, deleted at the end; the vault is a temporary directory's.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from ldap3 import MODIFY_ADD, SUBTREE

import _common as c
import ad_connector as adc
from credsync.connectors.ad import ActiveDirectoryConnector
from credsync.sync.people_import import PeopleImport, Selection
from credsync.testing.samba import OuWorld, SambaDC
from credsync.types import CredentialType, Secret, SyncMode
from credsync.vault.directories import DirectoryInput
from credsync.vault.drafts import make_draft


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--time-limit", type=int, default=900)
    args = parser.parse_args()
    if args.quick:
        args.people, args.rounds = 100, 1
    return args


def make_world(world: OuWorld, count: int) -> tuple[list[str], str]:
    """``count`` users and a group of them all: (the users' DNs, the group's DN)."""

    def entry(name: str, password: str) -> tuple[str, list[str], dict[str, Any]]:
        attributes = {
            "sAMAccountName": name,
            "userPrincipalName": f"{name}@{world.facts.realm.lower()}",
            "displayName": f"Bench Person {name}",
            "department": "Bench",
            "title": "Tester",
            "userAccountControl": "514",  # no password: disabled (making them is 10x faster)
        }
        return f"CN={name},{world.dn}", ["user"], attributes

    import _ldap

    dns = list(_ldap.make_users(world.admin.conn, count, entry))
    group = world.admin.create_group(world.dn, f"Bench Group {uuid.uuid4().hex[:6]}")
    for part in c.chunks(dns, 500):
        world.admin.conn.modify(group, {"member": [(MODIFY_ADD, list(part))]})
    return dns, group


def best(rounds: int, first: Any, second: Any) -> tuple[float, float]:
    """Each side's best time over ``rounds`` rounds, who goes first alternating."""
    a: list[float] = []
    b: list[float] = []
    for n in range(rounds):
        if n % 2 == 0:
            a.append(c.timed(first))
            b.append(c.timed(second))
        else:
            b.append(c.timed(second))
            a.append(c.timed(first))
    return min(a), min(b)


def vault_with_directory(world: OuWorld, home: Path) -> tuple[Any, Any, Any]:
    vault, admin, keys = c.make_vault(f"sqlite:///{home / 'vault.db'}")
    facts = world.facts
    vault.clients.add(admin, keys, "Bench")
    bind = vault.credentials.add(
        admin, keys, "Bench",
        make_draft(title="Domain admin", username=facts.admin_upn,
                   password=Secret(facts.admin_password), type_=CredentialType.DIRECTORY_ADMIN,
                   sync_mode=SyncMode.OFF),
    )  # fmt: skip
    vault.directories.add(
        admin, "Bench", "bench-ad", "active-directory",
        DirectoryInput.of({
            "url": facts.ldaps_url, "base_dn": world.dn, "bind_credential": bind.id,
            "ca_pem": facts.ca_file.read_text(), "tls_server_name": facts.tls_server_name,
        }),
    )  # fmt: skip
    return vault, admin, keys


def main() -> int:
    args = arguments()
    c.header("ad_people_import: the import of people and groups from Samba AD", args.quick)
    c.time_limit(args.time_limit)
    verdicts = c.Verdicts("ad_people_import")
    dc = SambaDC()
    facts = dc.acquire()
    world = OuWorld.create(facts, prefix="bench")
    try:
        dns, group_dn = make_world(world, args.people)
        group_id = world.admin.guid(group_dn)
        conn = ActiveDirectoryConnector(world.config())
        bare = adc.bare_connection(facts, facts.admin_upn, facts.admin_password)

        async def people() -> int:
            return len([p async for p in conn.search_people("")])

        async def accounts() -> int:
            return len([a async for a in conn.iter_accounts()])

        async def members() -> int:
            return len([m async for m in conn.iter_members(group_id)])

        def by_member_of() -> int:
            found = bare.extend.standard.paged_search(
                world.dn, f"(memberOf={group_dn})", SUBTREE,
                attributes=["objectGUID", "objectClass"], paged_size=1000, generator=False,
            )  # fmt: skip
            return len([e for e in found if e.get("type") == "searchResEntry"])

        assert asyncio.run(people()) == asyncio.run(accounts()) == len(dns)
        assert asyncio.run(members()) == by_member_of() == len(dns)
        search, listing = best(
            args.rounds, lambda: asyncio.run(people()), lambda: asyncio.run(accounts())
        )
        member_time, member_of = best(args.rounds, lambda: asyncio.run(members()), by_member_of)
        asyncio.run(conn.close())
        bare.unbind()

        with tempfile.TemporaryDirectory(prefix="credsync-bench-") as tmp:
            vault, admin, keys = vault_with_directory(world, Path(tmp))
            importer = PeopleImport(vault, keys, admin)
            chosen = Selection(ids=(group_id,), members=True)
            started = time.perf_counter()
            first = asyncio.run(importer.sync("Bench", "bench-ad", chosen))
            first_time = time.perf_counter() - started
            assert first.totals["created"] == len(dns) + 1, first.totals
            started = time.perf_counter()
            second = asyncio.run(importer.sync("Bench", "bench-ad", chosen))
            second_time = time.perf_counter() - started
            assert second.totals["unchanged"] == len(dns) + 1, second.totals
            vault.db.dispose()

        n = len(dns)
        rows = [
            ["iter_accounts (baseline)", n, c.ms(listing), "1.00"],
            ["search_people('')", n, c.ms(search), f"{search / listing:.2f}"],
            ["bare (memberOf=group) (baseline)", n, c.ms(member_of), "1.00"],
            ["iter_members", n, c.ms(member_time), f"{member_time / member_of:.2f}"],
            ["import sync, first (baseline)", n + 1, c.ms(first_time), "1.00"],
            ["import sync, all unchanged", n + 1, c.ms(second_time),
             f"{second_time / first_time:.2f}"],
        ]  # fmt: skip
        print(c.table(["case", "objects", "ms", "ratio"], rows))
        print(f"first sync: {first_time / (n + 1) * 1000:.2f} ms an object; "
              f"second: {second_time / (n + 1) * 1000:.2f} ms an object")  # fmt: skip
        verdicts.figures.update({
            "people": n, "search_people ms": round(search * 1000, 1),
            "iter_accounts ms": round(listing * 1000, 1),
            "iter_members ms": round(member_time * 1000, 1),
            "memberOf search ms": round(member_of * 1000, 1),
            "first sync s": round(first_time, 2), "second sync s": round(second_time, 2),
        })  # fmt: skip
        checks = (
            (search / listing, 1.5, "search_people <= 1.5x iter_accounts"),
            (member_time / member_of, 3.0, "iter_members <= 3x a memberOf search"),
            (second_time / first_time, 1.0, "an unchanged sync <= 1.0x the first"),
        )
        for ratio, limit, text in checks:
            verdicts.check(ratio <= limit, f"{text} ({ratio:.2f}x)")
    except c.Deadline as err:
        verdicts.check(False, str(err))
    finally:
        world.close()
        dc.release()
    return verdicts.report()


if __name__ == "__main__":
    sys.exit(main())
