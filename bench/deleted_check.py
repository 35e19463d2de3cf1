"""The check of deleted and disabled objects (issue 16) against the Graph simulator.

    python bench/deleted_check.py [--quick] [--people N] [--runs N] [--time-limit SECONDS]

A seeded tenant of N users (default 5,000; ``--quick``: 300) in an in-process Graph simulator,
every one a person of a SQLite vault linked to their user (``People.upsert_from_directory``,
as the import makes them); then 10% of the users are soft-deleted, 1% purged and 5% disabled.
Measured (best of ``--runs``, default 3):

1. the connector's ``object_states`` of every linked id (live ones read 15 a request, the
   deleted ones from the deleted items' listing);
2. the whole check through the service (``DeletedCheck.check``: the vault's linked records,
   the directory's states, the keep decisions, the list).

Baseline, in the same process: the import's read of the same ids by id
(``read_people``: the same 15-a-request ``$filter=id in (...)`` reads, deleted ones not
found). Printed: times, ``object_states / baseline`` and ``check / baseline``.
Figures go to ``bench/results/deleted_check.json``; the exit status is 1 on a miss.

Target: the check of 5,000 linked people under 10 s, and within 2x the baseline read.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _common as c
from credsync.connectors.base import DirectoryConfig
from credsync.connectors.graph.connector import GraphConnector
from credsync.sync.deleted_check import DeletedCheck
from credsync.testing.graphsim import GraphSimulator
from credsync.types import CredentialType, Secret, SyncMode
from credsync.vault.directory_input import DirectoryInput
from credsync.vault.drafts import make_draft

TARGET_S = 10.0
TARGET_RATIO = 2.0
RESULTS = Path(__file__).parent / "results" / "deleted_check.json"


def _vault(home: Path, sim: GraphSimulator, tenant: Any) -> tuple[Any, Any, Any]:
    vault, admin, keys = c.make_vault(f"sqlite:///{home / 'vault.db'}")
    vault.clients.add(admin, keys, "Bench", directory_sync=True)
    app = tenant.default_app
    bind = vault.credentials.add(admin, keys, "Bench", make_draft(
        title="Graph app", username="credsync-app", password=Secret(app.client_secret),
        type_=CredentialType.DIRECTORY_ADMIN, sync_mode=SyncMode.OFF))  # fmt: skip
    vault.directories.add(admin, "Bench", "bench-entra", "entra", DirectoryInput.of({
        "url": sim.graph_url, "secret_credential": bind.id, "tenant_id": tenant.id,
        "app_id": app.client_id, "authority": sim.url, "ca_pem": sim.ca_pem}))  # fmt: skip
    return vault, admin, keys


def _connector(sim: GraphSimulator, tenant: Any) -> GraphConnector:
    app = tenant.default_app
    return GraphConnector(DirectoryConfig(
        kind="entra", name="bench-entra", url=sim.graph_url, bind_username=app.client_id,
        bind_password=Secret(app.client_secret), ca_file=sim.ca_file, timeout=30.0,
        options={"tenant_id": tenant.id, "authority": sim.url}))  # fmt: skip


def _disabled(tenant: Any) -> int:
    """Live users that may not sign in (the seed disables some too)."""
    return sum(1 for i in tenant.user_ids() if tenant.get_user(i).get("accountEnabled") is False)


def _best(runs: int, fn: Any) -> float:
    return min(c.timed(fn) for _ in range(runs))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--people", type=int, default=None)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--time-limit", type=int, default=900)
    args = parser.parse_args()
    c.time_limit(args.time_limit)
    people = args.people or (300 if args.quick else 5_000)
    c.header(f"deleted objects check, {people:,} linked people", args.quick)
    rng = random.Random(16)
    with GraphSimulator(seed=16) as sim, tempfile.TemporaryDirectory() as tmp:
        tenant = sim.add_tenant(users=people, groups=0)
        ids = tenant.user_ids()
        vault, admin, keys = _vault(Path(tmp), sim, tenant)
        started = time.perf_counter()
        for object_id in ids:
            user = tenant.get_user(object_id)
            vault.people.upsert_from_directory(admin, "bench-entra", object_id, {
                "username": user["userPrincipalName"], "enabled": True})  # fmt: skip
        print(f"linked {len(ids):,} people in {time.perf_counter() - started:.1f} s")
        shuffled = ids[:]
        rng.shuffle(shuffled)
        n_deleted, n_gone, n_off = people // 10, people // 100, people // 20  # off: and the seed's
        for object_id in shuffled[:n_deleted]:
            tenant.soft_delete(object_id)
        for object_id in shuffled[:n_gone]:
            tenant.hard_delete(object_id)
        for object_id in shuffled[n_deleted : n_deleted + n_off]:
            tenant.disable(object_id)

        conn = _connector(sim, tenant)
        try:
            baseline = _best(args.runs, lambda: asyncio.run(conn.read_people(ids)))
            states = _best(args.runs, lambda: asyncio.run(conn.object_states(ids, [])))
            found = asyncio.run(conn.object_states(ids, []))
        finally:
            asyncio.run(conn.close())
        counted = {
            s: sum(1 for f in found if f.state == s) for s in ("deleted", "gone", "disabled")
        }
        expected = {"deleted": n_deleted - n_gone, "gone": n_gone, "disabled": _disabled(tenant)}
        assert counted == expected, (counted, expected)
        checker = DeletedCheck(vault, keys, admin)
        check = _best(args.runs, lambda: asyncio.run(checker.check("Bench", "bench-entra")))
        listed = asyncio.run(checker.check("Bench", "bench-entra"))
        assert len(listed["findings"]) == n_deleted + expected["disabled"], listed["checked"]
        vault.db.dispose()

    rows = [
        ["read_people (baseline)", f"{baseline:.2f} s", "1.00"],
        ["object_states", f"{states:.2f} s", f"{states / baseline:.2f}"],
        ["DeletedCheck.check", f"{check:.2f} s", f"{check / baseline:.2f}"],
    ]
    print(c.table(["what", "best", "x baseline"], rows, title=f"{people:,} linked people"))
    ok_time, ok_ratio = check < TARGET_S, check / baseline < TARGET_RATIO
    print(f"{'PASS' if ok_time else 'MISS'} check under {TARGET_S:.0f} s: {check:.2f} s")
    print(f"{'PASS' if ok_ratio else 'MISS'} check within {TARGET_RATIO:.0f}x the baseline: "
          f"{check / baseline:.2f}x")  # fmt: skip
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({
        "people": people, "quick": args.quick, "baseline_s": baseline,
        "object_states_s": states, "check_s": check}, indent=2))  # fmt: skip
    return 0 if (ok_time and ok_ratio) or args.quick else 1


if __name__ == "__main__":
    sys.exit(main())
