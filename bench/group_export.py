"""The export of a client's groups to Office 365 (issue 16): plan and apply, then a second apply.

    python bench/group_export.py [--quick] [--groups N] [--members M] [--write-limit W/S]
                                 [--time-limit SECONDS]

The world (seeding is not measured):

- The Graph simulator in a process of its own (``_graphsim_server.py``, as graph_sync: its CPU
  is not charged to the product), throttling on (reads 8000 units per 10 s, writes W units per
  S seconds, default 1000/10 as graph_sync's), seeded with enough users.
- A SQLite vault (cheap KDF) with one client, an Entra directory for the tenant, a person
  linked to each of the first ``M * 2`` cloud users (``People.upsert_from_directory``), and N
  security groups (default 500) of M members each (default 40), drawn from those people.

Measured:

1. ``ProvisionGroups.plan`` (nothing in the directory yet: every group ``create``), then
   ``apply`` (N creations, N links, N * ceil(M / 20) member writes), then a second plan and a
   second ``apply``, which must make no write (the simulator's write counter does not move).
2. Baseline, in this process after the write bucket refilled: a bare httpx client making the
   same directory writes the same way (one group at a time: ``POST /groups``, then its members
   20 to a ``PATCH ... members@odata.bind``, honouring Retry-After). Printed: the first
   apply's time against it (what the vault side, the reads and the audit cost on top).

Target: the second apply makes no write. The ratio is reported, with no target (the writes are
throttled alike on both sides: the ratio says how close the apply stays to the allowance).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

import _common as c
import graph_sync
from credsync.sync.provision_groups import ProvisionGroups
from credsync.types import CredentialType, Secret, SyncMode
from credsync.vault.directories import DirectoryInput
from credsync.vault.drafts import make_draft


class Sim(graph_sync.Sim):
    """graph_sync's simulator process, asked for its counters too."""

    def ask(self, command: str) -> dict[str, Any]:
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        answer: dict[str, Any] = json.loads(self.proc.stdout.readline())
        return answer


async def cloud_users(sim: Sim, wanted: int) -> list[tuple[str, str]]:
    """(object id, UPN) of the first ``wanted`` enabled cloud-only users."""
    found: list[tuple[str, str]] = []
    async with sim.client() as http:
        url: str | None = (
            f"{sim.graph}/users?$select=id,userPrincipalName,accountEnabled,onPremisesSyncEnabled"
            "&$top=999"
        )
        while url and len(found) < wanted:
            response = await http.get(url)
            response.raise_for_status()
            page = response.json()
            found.extend(
                (u["id"], u["userPrincipalName"])
                for u in page["value"]
                if u["accountEnabled"] and not u.get("onPremisesSyncEnabled")
            )
            url = page.get("@odata.nextLink")
    return found[:wanted]


def setup(sim: Sim, users: list[tuple[str, str]], args: Any, home: Path) -> tuple[Any, ...]:
    vault, admin, keys = c.make_vault(f"sqlite:///{home / 'vault.db'}")
    vault.clients.add(admin, keys, "Bench", directory_sync=True)
    app = vault.credentials.add(admin, keys, "Bench", make_draft(
        title="Graph app", username="credsync-app", password=Secret(sim.info["client_secret"]),
        type_=CredentialType.DIRECTORY_ADMIN, sync_mode=SyncMode.OFF,
    ))  # fmt: skip
    vault.directories.add(admin, "Bench", "bench-entra", "entra", DirectoryInput.of({
        "url": str(sim.info["graph_url"]), "secret_credential": app.id,
        "tenant_id": sim.tenant_id, "app_id": str(sim.info["client_id"]),
        "authority": sim.base_authority, "ca_pem": Path(sim.ca_file).read_text(),
        "options": {"change_cap": 1_000_000},  # every group is a create
    }))  # fmt: skip
    started = time.perf_counter()
    people = [
        vault.people.upsert_from_directory(
            admin, "bench-entra", object_id, {"username": upn}
        ).person.id
        for object_id, upn in users
    ]
    rng = random.Random(7)
    for n in range(args.groups):
        group = vault.groups.add(admin, "Bench", {"name": f"Team {n:05d}"}).id
        for person in rng.sample(people, args.members):
            vault.groups.add_member(admin, group, person)
    print(f"seeded {len(people)} people and {args.groups} groups of {args.members} members "
          f"in {time.perf_counter() - started:.1f} s")  # fmt: skip
    return vault, admin, keys


async def bare_writes(sim: Sim, groups: int, members: list[list[str]]) -> float:
    """The same directory writes as the first apply, by a bare client, one group at a time."""

    async def send(http: httpx.AsyncClient, method: str, url: str, body: Any) -> httpx.Response:
        while True:
            response = await http.request(method, url, json=body)
            if response.status_code not in (429, 503):
                response.raise_for_status()
                return response
            await asyncio.sleep(float(response.headers.get("Retry-After", "1")))

    async with sim.client() as http:
        start = time.perf_counter()
        for n in range(groups):
            made = await send(http, "POST", f"{sim.graph}/groups", {
                "displayName": f"Bare {n:05d}", "mailNickname": f"bare{n:05d}",
                "mailEnabled": False, "securityEnabled": True,
            })  # fmt: skip
            group_id = made.json()["id"]
            for chunk in c.chunks(members[n], 20):
                refs = [f"{sim.graph}/directoryObjects/{m}" for m in chunk]
                await send(http, "PATCH", f"{sim.graph}/groups/{group_id}",
                           {"members@odata.bind": refs})  # fmt: skip
        return time.perf_counter() - start


def timed(make: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    done = asyncio.run(make())
    return time.perf_counter() - start, done


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--groups", type=int, default=500)
    parser.add_argument("--members", type=int, default=40)
    parser.add_argument("--write-limit", default="1000/10")
    parser.add_argument("--time-limit", type=int, default=1800)
    args = parser.parse_args()
    if args.quick:
        args.groups, args.members, args.write_limit = 30, 25, "100/2"
    c.header("group_export: plan and apply of a client's groups against the Graph simulator",
             args.quick)  # fmt: skip
    c.time_limit(args.time_limit)
    verdicts = c.Verdicts("group_export")
    sim = Sim(max(1000, args.members * 4), args.write_limit)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            users = asyncio.run(cloud_users(sim, args.members * 2))
            vault, admin, keys = setup(sim, users, args, Path(tmp))
            service = ProvisionGroups(vault, keys, admin)
            rows: list[list[object]] = []
            for label in ("first", "second"):
                plan_s, plan = timed(lambda: service.plan("Bench", "bench-entra"))
                before = int(sim.ask("stats")["writes"])
                apply_s, done = timed(lambda: service.apply("Bench", "bench-entra"))
                writes = int(sim.ask("stats")["writes"]) - before
                assert done.to_json()["errors"] == 0, done.to_json()
                rows.append([label, f"{plan_s:.2f}", plan.planned_writes, f"{apply_s:.2f}",
                             done.writes, writes])  # fmt: skip
                verdicts.figures[f"{label}_plan_s"] = round(plan_s, 2)
                verdicts.figures[f"{label}_apply_s"] = round(apply_s, 2)
                verdicts.figures[f"{label}_directory_writes"] = writes
            expected = args.groups * (1 + math.ceil(args.members / 20))
            assert rows[0][5] == expected, (rows[0][5], expected)
            vault.db.dispose()
        _, _, window = args.write_limit.partition("/")
        time.sleep(float(window))  # the write bucket refills
        rng = random.Random(7)
        ids = [u[0] for u in users]
        members = [rng.sample(ids, args.members) for _ in range(args.groups)]
        bare_s = asyncio.run(bare_writes(sim, args.groups, members))
        first = float(verdicts.figures["first_apply_s"])
        verdicts.figures["bare_writes_s"] = round(bare_s, 2)
        verdicts.figures["first_apply_vs_bare"] = round(first / bare_s, 2)
        print()
        print(c.table(["apply", "plan s", "planned writes", "apply s", "writes made",
                       "directory writes"], rows))  # fmt: skip
        print(c.table(["baseline", "s", "first apply / baseline"],
                      [["bare writes", f"{bare_s:.2f}", f"{first / bare_s:.2f}"]]))  # fmt: skip
        verdicts.check(rows[1][5] == 0, "a second apply makes no write to the directory")
        return verdicts.report()
    finally:
        sim.close()


if __name__ == "__main__":
    raise SystemExit(main())
