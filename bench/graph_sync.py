"""The sync engine against the Graph simulator (in a process of its own): whole runs, compared
with bare httpx loops in this process.

    python bench/graph_sync.py [--quick] [--users N] [--linked N] [--changes N] [--pushes N]
                               [--scan-only]

On a SQLite vault with one client, one Entra directory and L linked credentials (default
5,000) over a seeded tenant of N users (default 100,000), it measures:

1. A full scan of the tenant (a report run's full pass: every user read, cached and planned;
   the first, into an empty cache): at most 2.5x a bare httpx loop paging the same users with
   the same ``$select`` and ``$top=999`` (issue 19), and under 200 MB peak RSS of this
   whole process during the scan (VmHWM reset before it). A second full pass, over the full
   cache, is printed beside it.
2. A delta run after C users changed their password in the tenant (default 100): under 0.2 s
   for the whole run (issue 19). Baseline: a bare httpx call following a delta link taken
   before the same changes.
3. Pushing P passwords changed in the vault (default 5,000, enforce) with the simulator's
   throttling on (writes limited to W units per S seconds, default 1000/10): at least 90% of
   the write rate the throttle allows. The allowance is computed from the token bucket: the
   first W writes at once, then W/S per second, so a perfect client needs (P - W) / (W/S)
   seconds; the whole run counts (the delta read, planning, storing).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import ssl
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import msal
import requests

import _common as c
from credsync.sync.enforce import EnforceSwitches
from credsync.sync.engine import Engine
from credsync.types import Secret, SyncMode
from credsync.vault.drafts import make_draft

SELECT = (
    "id,userPrincipalName,displayName,accountEnabled,lastPasswordChangeDateTime,"
    "onPremisesSyncEnabled,passwordPolicies,passwordProfile,usageLocation"
)
SCOPE = ["https://graph.microsoft.com/.default"]


class Sim:
    """The simulator process and a bare client of it (msal token + httpx)."""

    def __init__(self, users: int, write_limit: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(c.BENCH_DIR / "_graphsim_server.py"), "--users", str(users),
             "--write-limit", write_limit],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the simulator process did not start")
        self.info: dict[str, Any] = json.loads(line)
        print(f"simulator: {users} users seeded in {self.info['load_seconds']} s")
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

    def token(self) -> str:
        result = self.app.acquire_token_for_client(SCOPE)
        return str(result["access_token"])

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            verify=ssl.create_default_context(cafile=self.ca_file),
            headers={"Authorization": f"Bearer {self.token()}"},
            timeout=60,
        )

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)


async def bare_list(sim: Sim) -> tuple[float, list[str]]:
    """Every user, paged by nextLink: the time and the UPNs of the enabled cloud-only users (the
    bench links those: users synced from on-premises AD can't take a password over Graph and
    disabled accounts aren't pushed; the planner flags both instead)."""
    upns: list[str] = []
    async with sim.client() as http:
        start = time.perf_counter()
        url: str | None = f"{sim.graph}/users?$select={SELECT}&$top=999"
        while url:
            response = await http.get(url)
            response.raise_for_status()
            page = response.json()
            upns.extend(
                u["userPrincipalName"]
                for u in page["value"]
                if u["accountEnabled"] and not u.get("onPremisesSyncEnabled")
            )
            url = page.get("@odata.nextLink")
        return time.perf_counter() - start, upns


async def bare_delta_start(sim: Sim) -> str:
    async with sim.client() as http:
        url: str | None = f"{sim.graph}/users/delta?$select={SELECT}&$deltatoken=latest"
        while url:
            page = (await http.get(url)).json()
            if "@odata.deltaLink" in page:
                return str(page["@odata.deltaLink"])
            url = page.get("@odata.nextLink")
    raise RuntimeError("no delta link")


async def bare_delta(sim: Sim, link: str) -> tuple[float, int]:
    async with sim.client() as http:
        start = time.perf_counter()
        seen = 0
        url: str | None = link
        while url:
            page = (await http.get(url)).json()
            seen += len(page["value"])
            url = page.get("@odata.nextLink")
        return time.perf_counter() - start, seen


async def portal_resets(sim: Sim, upns: list[str]) -> None:
    """Someone changes these users' passwords in the tenant (as an admin would)."""
    async with sim.client() as http:
        for upn in upns:
            body = {"passwordProfile": {"password": f"Portal-{uuid.uuid4().hex[:10]}-9!",
                                        "forceChangePasswordNextSignIn": False}}  # fmt: skip
            response = await http.patch(f"{sim.graph}/users/{upn}", json=body)
            assert response.status_code == 204, response.text


def setup(sim: Sim, upns: list[str], home: Path) -> tuple[Any, ...]:
    vault, admin, keys = c.make_vault(f"sqlite:///{home / 'vault.db'}")
    vault.clients.add(admin, keys, "Bench", directory_sync=True)
    c.add_entra_directory(
        vault, admin, keys, "Bench", sim.info,
        tenant_id=sim.tenant_id, authority=sim.base_authority,
        ca_pem=Path(sim.ca_file).read_text(), options={"push_cap": 1_000_000},
    )  # fmt: skip
    started = time.perf_counter()
    creds = [
        vault.credentials.add(
            admin,
            keys,
            "Bench",
            make_draft(title=f"M365 {upn}", username=upn, password=Secret(f"Vault-{n}-Aa1!")),
        )
        for n, upn in enumerate(upns)
    ]
    print(f"added {len(creds)} credentials in {time.perf_counter() - started:.1f} s")
    return vault, admin, keys, creds


def run(vault: Any, admin: Any, keys: Any, **kw: Any) -> tuple[float, Any]:
    engine = Engine(vault, keys, admin)
    start = time.perf_counter()
    report = asyncio.run(engine.run("bench-entra", **kw))
    took = time.perf_counter() - start
    assert report.state == "done", report.message
    return took, report


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak() -> None:
    """Reset this process's peak RSS (VmHWM) to its current RSS, so that the next
    :func:`scan_peak_mb` is the peak of what runs in between (``ru_maxrss`` never goes down:
    it would hold the peak of making the 5,000 credentials)."""
    Path("/proc/self/clear_refs").write_text("5")


def scan_peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return peak_mb()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--linked", type=int, default=5000)
    parser.add_argument("--changes", type=int, default=100)
    parser.add_argument("--pushes", type=int, default=5000)
    parser.add_argument("--write-limit", default="1000/10")
    parser.add_argument("--time-limit", type=int, default=1800)
    parser.add_argument(
        "--scan-only",
        action="store_true",
        help="measure the full scans only (no delta run, no pushes)",
    )
    args = parser.parse_args()
    if args.quick:
        args.users, args.linked, args.changes, args.pushes = 5000, 300, 20, 300
        args.write_limit = "100/2"
    args.pushes = min(args.pushes, args.linked)
    c.header("graph_sync: sync runs against the Graph simulator", args.quick)
    c.time_limit(args.time_limit)
    verdicts = c.Verdicts("graph_sync")
    sim = Sim(args.users, args.write_limit)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            _, upns = asyncio.run(bare_list(sim))
            assert args.linked <= len(upns) <= args.users, len(upns)
            print(f"{len(upns)} of {args.users} users are enabled and cloud-only; "
                  f"linking {args.linked}")  # fmt: skip
            linked = upns[: args.linked]
            vault, admin, keys, creds = setup(sim, linked, Path(tmp))
            measure_scan(sim, vault, admin, keys, args, verdicts)
            if not args.scan_only:
                measure_delta(sim, linked, vault, admin, keys, args, verdicts)
                measure_pushes(sim, creds, vault, admin, keys, args, verdicts)
            vault.db.dispose()
        print()
        print(c.table(["figure", "value"], [[k, v] for k, v in verdicts.figures.items()]))
        return verdicts.report()
    finally:
        sim.close()


def measure_scan(sim: Sim, vault: Any, admin: Any, keys: Any, args: Any,
                 verdicts: c.Verdicts) -> None:  # fmt: skip
    before = peak_mb()
    reset_peak()
    cpu = time.process_time()
    took, report = run(vault, admin, keys, full=True)
    cpu = time.process_time() - cpu  # this process's (not the simulator's): steadier under load
    peak = scan_peak_mb()
    bare = min(asyncio.run(bare_list(sim))[0] for _ in range(2))
    again, _ = run(vault, admin, keys, full=True)  # the cache full: a periodic full pass
    verdicts.figures["full_scan_cpu_s"] = round(cpu, 2)
    verdicts.figures["full_scan_s"] = round(took, 2)
    verdicts.figures["bare_listing_s"] = round(bare, 2)
    verdicts.figures["full_scan_vs_bare"] = round(took / bare, 2)
    verdicts.figures["peak_rss_mb"] = round(peak, 1)
    verdicts.figures["peak_rss_before_scan_mb"] = round(before, 1)
    verdicts.figures["full_scan_again_s"] = round(again, 2)
    verdicts.figures["full_scan_again_vs_bare"] = round(again / bare, 2)
    print(f"full scan of {args.users} users ({report.accounts_read} read, "
          f"{report.count('in_sync')} in sync): {took:.1f} s, peak RSS {peak:.0f} MB; bare "
          f"listing {bare:.1f} s ({took / bare:.2f}x); again over the full cache {again:.1f} s "
          f"({again / bare:.2f}x)")  # fmt: skip
    verdicts.check(
        took <= 2.5 * bare and peak < 200,
        f"full scan of a {args.users}-user tenant: {took / bare:.2f}x the bare paging "
        f"({took:.1f} s against {bare:.2f} s), peak {peak:.0f} MB "
        "(target: at most 2.5x, under 200 MB)",
    )


def measure_delta(sim: Sim, linked: list[str], vault: Any, admin: Any, keys: Any, args: Any,
                  verdicts: c.Verdicts) -> None:  # fmt: skip
    run(vault, admin, keys)  # settle: the cursor is the scan's delta link
    link = asyncio.run(bare_delta_start(sim))
    changed = linked[: args.changes]
    asyncio.run(portal_resets(sim, changed))
    took, report = run(vault, admin, keys)
    assert report.kind == "incremental", report.kind
    assert report.count("changed_in_directory") >= len(changed), report.summary
    bare, seen = asyncio.run(bare_delta(sim, link))
    assert seen >= len(changed)
    verdicts.figures["delta_run_s"] = round(took, 3)
    verdicts.figures["bare_delta_s"] = round(bare, 3)
    print(f"delta run with {len(changed)} changed users: {took:.2f} s "
          f"(bare delta read {bare:.3f} s)")  # fmt: skip
    verdicts.check(
        took < 0.2,
        f"delta run over the {args.users}-user tenant with {len(changed)} changed users: "
        f"{took:.3f} s (target: under 0.2 s)",
    )


def measure_pushes(sim: Sim, creds: list[Any], vault: Any, admin: Any, keys: Any, args: Any,
                   verdicts: c.Verdicts) -> None:  # fmt: skip
    chosen = creds[: args.pushes]
    switches = EnforceSwitches(vault)
    for cred in chosen:  # confirmed as an operator does: their links are confirmed with it
        switches.set_credential_mode(admin, cred.id, SyncMode.ENFORCE, confirmed=True)
    for cred in chosen:
        vault.credentials.set_password(
            admin, keys, cred.id, Secret(f"Push-{uuid.uuid4().hex[:10]}-7!")
        )
    units, _, seconds = args.write_limit.partition("/")
    capacity, rate = int(units), int(units) / float(seconds)
    time.sleep(float(seconds))  # the write bucket refills from the portal resets above
    took, report = run(vault, admin, keys)
    pushes = report.summary.get("pushes", 0)
    assert pushes >= len(chosen), report.summary
    ideal = max(len(chosen) - capacity, 0) / rate
    ratio = ideal / took if ideal else 1.0
    verdicts.figures["push_run_s"] = round(took, 2)
    verdicts.figures["push_ideal_s"] = round(ideal, 2)
    verdicts.figures["push_rate_per_s"] = round(len(chosen) / took, 1)
    verdicts.figures["push_throttle_ratio"] = round(ratio, 3)
    print(f"{len(chosen)} pushes with writes throttled to {args.write_limit} units/s: "
          f"{took:.1f} s, the throttle allows {ideal:.1f} s: {ratio:.0%}")  # fmt: skip
    verdicts.check(
        ratio >= 0.90,
        f"pushing {len(chosen)} passwords with throttling on: {ratio:.0%} of the write rate "
        "the throttle allows (target >= 90%)",
    )


if __name__ == "__main__":
    raise SystemExit(main())
