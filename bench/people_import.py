"""The import of people and groups from a 100,000-user, 5,000-group tenant (issue 16).

    python bench/people_import.py [--quick] [--users N] [--groups N]
                                  [--backend sqlite|postgresql|both] [--time-limit SECONDS]

The Graph simulator runs in a process of its own (``_graphsim_server.py``: its CPU and memory
are not charged to the product), seeded straight into its store with N users (default
100,000) and G groups (default 5,000; a third Microsoft 365, the rest security), each user a
member of 1 to 3 groups and every tenth group nested in an earlier one (``--groups``,
:func:`_graphsim_server.seed_memberships`), with Graph's read throttling on as in graph_sync.

Measured, on a new SQLite vault and/or a database of a throwaway PostgreSQL server
(``credsync.testing.postgres.TempPostgres``), each with one client and its Entra directory:

1. Baseline, in this process: a bare paged read of the same objects with httpx (msal token):
   every user (the import's ``$select``, ``$top=999``), every group, and every group's
   members (``$top=999``, the import's ``MEMBER_READS`` groups at a time), following
   ``@odata.nextLink``. Graph's read throttling is on (the simulator's defaults, Entra's:
   8,000 units per 10 s; a member listing costs 2): a 5,000-group tenant's reads take more
   than one bucket, and every measured read starts with a full one (the bench waits the
   bucket's window, 10 s, before each import).
2. The import: ``PeopleImport.sync(client, directory, Selection(query="", groups=True))``
   (every user and group, memberships set), as ``credsync person import sync`` runs it. Its
   time, the ratio to the baseline, and the peak memory: this process's peak resident set
   size during the import (``VmHWM`` of /proc/self/status, reset just before it through
   /proc/self/clear_refs; the vault's and the bench's memory before the import included,
   the simulator's not). The report is checked: every user and group created, nothing
   refused, every membership added.
3. A second import with nothing changed: its time, and that it writes nothing (the report's
   ``writes`` is 0 and the audit log did not grow).

Targets: the import under 60 s and under 500 MB peak.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import msal
import requests

import _common as c
from credsync.sync.people_import import PeopleImport, Selection

PERSON_SELECT = (
    "id,userPrincipalName,displayName,givenName,surname,mail,usageLocation,department,"
    "jobTitle,accountEnabled"
)
GROUP_SELECT = "id,displayName,groupTypes,securityEnabled,mailEnabled,mail,description"
SCOPE = ["https://graph.microsoft.com/.default"]
TARGET_S = 60.0
TARGET_MB = 500.0
MEMBER_READS = 8  # groups whose members are read at a time (the import's own figure)
# Graph's read throttling is on (8,000 units per 10 s; a member listing costs 2 units, so a
# 5,000-group tenant's reads go beyond one bucket): each measured read starts with a full
# bucket, as the bare read does, after waiting the bucket's window.
REFILL_S = 10.0


class Sim:
    """The simulator process and a bare client of it (msal token + httpx)."""

    def __init__(self, users: int, groups: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(c.BENCH_DIR / "_graphsim_server.py"), "--users", str(users),
             "--groups", str(groups)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the simulator process did not start")
        self.info: dict[str, Any] = json.loads(line)
        print(
            f"simulator: {users} users, {groups} groups, {self.info['memberships']} "
            f"memberships seeded in {self.info['load_seconds']} s"
        )
        self.tenant_id = str(self.info["tenant_id"])
        self.authority = str(self.info["authority"])
        self.base_authority = self.authority.removesuffix("/" + self.tenant_id)
        self.graph = str(self.info["graph_url"]).rstrip("/") + "/v1.0"
        self.ca_file = str(self.info["ca_file"])
        session = requests.Session()
        session.trust_env = False
        session.verify = self.ca_file
        self.app = msal.ConfidentialClientApplication(
            self.info["client_id"],
            authority=self.authority,
            client_credential=self.info["client_secret"],
            http_client=session,
            instance_discovery=False,
        )

    def client(self) -> httpx.AsyncClient:
        token = str(self.app.acquire_token_for_client(SCOPE)["access_token"])
        return httpx.AsyncClient(
            verify=ssl.create_default_context(cafile=self.ca_file),
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)


async def _paged(http: httpx.AsyncClient, url: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    next_url: str | None = url
    while next_url:
        response = await http.get(next_url)
        if response.status_code == 429:
            await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
            continue
        response.raise_for_status()
        page = response.json()
        found.extend(page["value"])
        next_url = page.get("@odata.nextLink")
    return found


async def bare_read(sim: Sim) -> tuple[float, int, int, int]:
    """(seconds, users, groups, memberships) of a bare paged read of the tenant."""
    async with sim.client() as http:
        start = time.perf_counter()
        users = len(await _paged(http, f"{sim.graph}/users?$select={PERSON_SELECT}&$top=999"))
        groups = await _paged(http, f"{sim.graph}/groups?$select={GROUP_SELECT}&$top=999")
        ids = [str(g["id"]) for g in groups]
        gate = asyncio.Semaphore(MEMBER_READS)

        async def members(group_id: str) -> int:
            async with gate:
                url = f"{sim.graph}/groups/{group_id}/members?$select=id,displayName&$top=999"
                return len(await _paged(http, url))

        counts = await asyncio.gather(*(members(i) for i in ids))
        return time.perf_counter() - start, users, len(groups), sum(counts)


def setup(sim: Sim, url: str) -> tuple[Any, Any, Any]:
    vault, admin, keys = c.make_vault(url)
    vault.clients.add(admin, keys, "Bench")
    c.add_entra_directory(
        vault, admin, keys, "Bench", sim.info,
        tenant_id=sim.tenant_id, authority=sim.base_authority,
        ca_pem=Path(sim.ca_file).read_text(),
    )  # fmt: skip
    return vault, admin, keys


def _reset_peak_rss() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def run_import(vault: Any, admin: Any, keys: Any) -> tuple[float, Any]:
    time.sleep(REFILL_S)
    importer = PeopleImport(vault, keys, admin)
    start = time.perf_counter()
    report = asyncio.run(importer.sync("Bench", "bench-entra", Selection(query="", groups=True)))
    return time.perf_counter() - start, report


def measure(
    label: str, url: str, sim: Sim, bare: tuple[float, int, int, int], verdicts: c.Verdicts
) -> None:
    bare_s, users, groups, memberships = bare
    vault, admin, keys = setup(sim, url)
    rss_before = _status_mb("VmRSS")
    reset = _reset_peak_rss()
    took, report = run_import(vault, admin, keys)
    peak = _status_mb("VmHWM") if reset else float("nan")
    totals = report.totals
    added = sum(len(o.members_added) for o in report.objects)
    print(
        f"[{label}] import: {took:.1f} s ({took / bare_s:.2f}x the bare read), peak RSS "
        f"{peak:.0f} MB (before: {rss_before:.0f} MB); {totals}; {added} memberships added"
    )
    assert totals["created"] == users + groups, totals
    assert totals["refused"] == 0, totals
    assert added == memberships, (added, memberships)
    del report
    audit_before = vault.audit.list(admin, limit=1)[0].seq
    again, second = run_import(vault, admin, keys)
    audit_after = vault.audit.list(admin, limit=1)[0].seq
    print(
        f"[{label}] second import, nothing changed: {again:.1f} s "
        f"({again / bare_s:.2f}x the bare read), {second.writes} writes, "
        f"{audit_after - audit_before} audit entries"
    )
    assert second.totals["unchanged"] == users + groups, second.totals
    assert second.writes == 0
    assert audit_after == audit_before
    vault.db.dispose()
    f = verdicts.figures
    f[f"{label} import s"] = round(took, 2)
    f[f"{label} import / bare read"] = round(took / bare_s, 2)
    f[f"{label} peak RSS MB"] = round(peak, 1)
    f[f"{label} RSS before MB"] = round(rss_before, 1)
    f[f"{label} second import s"] = round(again, 2)
    f[f"{label} second import / bare read"] = round(again / bare_s, 2)
    verdicts.check(
        took < TARGET_S and peak < TARGET_MB,
        f"[{label}] import of {users} users, {groups} groups, {memberships} memberships: "
        f"{took:.1f} s, peak {peak:.0f} MB (target: under {TARGET_S:.0f} s, "
        f"under {TARGET_MB:.0f} MB)",
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--groups", type=int, default=5_000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--time-limit", type=int, default=1800)
    args = parser.parse_args()
    if args.quick:
        args.users, args.groups = 2000, 100
    c.header("people_import: people and groups from the Graph simulator", args.quick)
    c.time_limit(args.time_limit)
    verdicts = c.Verdicts("people_import")
    sim = Sim(args.users, args.groups)
    try:
        bare = asyncio.run(bare_read(sim))
        bare_s, users, groups, memberships = bare
        print(
            f"bare paged read: {users} users, {groups} groups, {memberships} memberships "
            f"in {bare_s:.1f} s"
        )
        verdicts.figures["bare read s"] = round(bare_s, 2)
        verdicts.figures["memberships"] = memberships
        with tempfile.TemporaryDirectory() as tmp:
            if args.backend in ("sqlite", "both"):
                measure("sqlite", f"sqlite:///{Path(tmp) / 'vault.db'}", sim, bare, verdicts)
            if args.backend in ("postgresql", "both"):
                from credsync.testing.postgres import TempPostgres

                with TempPostgres() as pg:
                    measure("postgresql", pg.create_database("bench"), sim, bare, verdicts)
        print()
        print(c.table(["figure", "value"], [[k, v] for k, v in verdicts.figures.items()]))
        return verdicts.report()
    finally:
        sim.close()


if __name__ == "__main__":
    raise SystemExit(main())
