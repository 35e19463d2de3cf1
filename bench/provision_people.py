"""Provisioning 10,000 people with licences to Office 365 under Graph's write throttling.

    python bench/provision_people.py [--quick] [--people N] [--write-limit W/S]
                                     [--time-limit SECONDS]

The world (seeding is not measured):

- The Graph simulator in a process of its own (``_graphsim_server.py``: its CPU is not charged
  to the product), an empty tenant, throttling on: reads 8000 units per 10 s, the app's writes
  W units per S seconds (default 1000/10, as relay_initial's), the tenant's writes for all apps
  set out of the way (10x the app's) so that the app's limit is the one measured; the licence
  ENTERPRISEPACK with seats for everyone (2N + 10: the baseline takes N too).
- A SQLite vault (cheap KDF) with one client, N people (given name and surname, a usage
  location for half of them, the default for the others) each with a primary credential
  holding their password, and an Entra directory for the tenant whose provisioning settings
  map ``{given}.{surname}{n}`` to the tenant's domain, licence ENTERPRISEPACK, usage location
  SE, passwords from the vault.

Measured:

1. ``PeopleProvision.apply`` over every person (what ``credsync person provision apply``
   does): the directory read, the plan, N users created with their password and usage
   location and N licences assigned (2N writes), the links and audit entries stored. Target
   (issue 16): at least 90% of the write rate the throttle allows. The allowance is the token
   bucket's: the first W writes at once, then W/S per second, so a perfect client needs
   (2N - W) / (W/S) seconds; the whole run counts. Afterwards every user must sign in with the
   person's password (the simulator checks each) and hold the licence.
2. A second apply: it must make no write (the simulator's write counter does not move).
3. Baseline, in this process after the bucket refilled: a bare httpx client making the same
   2N writes (N ``POST /users`` then each user's ``assignLicense``, 40 users at a time,
   honouring Retry-After); its rate and the run's against it are printed with the allowance.
"""

from __future__ import annotations

import argparse
import asyncio
import ssl
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

import _common as c
from _simproc import SimProcess as Sim
from credsync.sync.provision_people import PeopleProvision
from credsync.sync.provision_people_report import ProvisionReport
from credsync.types import CredentialType, Secret, SyncMode
from credsync.vault.directories import DirectoryInput
from credsync.vault.drafts import make_draft

TARGET_RATIO = 0.90
BARE_IN_FLIGHT = 40
SKU = "ENTERPRISEPACK"
COUNTRIES = ("GB", "DE", "FR", "NO")


def limit(text: str) -> tuple[int, float]:
    units, _, seconds = text.partition("/")
    if not units.isdigit() or not seconds:
        raise argparse.ArgumentTypeError("a limit is UNITS/SECONDS, e.g. 1000/10")
    return int(units), float(seconds)


def start_sim(write_limit: tuple[int, float], home: Path) -> Sim:
    """The simulator with Graph's per-app write limit (and ten times it for the tenant)."""
    return Sim(
        home,
        "--users",
        "0",
        "--write-limit",
        f"{write_limit[0]}/{write_limit[1]}",
        "--tenant-write-limit",
        f"{write_limit[0] * 10}/{write_limit[1]}",
    )


def password(n: int) -> str:
    return f"Pv-{n:05d}-{uuid.uuid4().hex[:8]}-Q7!"


def make_vault(sim: Sim, n: int, home: Path) -> tuple[Any, Any, Any, dict[str, str]]:
    """The vault, its people and the provisioning settings: (vault, admin, keys, {person id:
    password})."""
    vault, admin, keys = c.make_vault(f"sqlite:///{home / 'vault.db'}")
    vault.clients.add(admin, keys, "Bench", directory_sync=True)
    app = vault.credentials.add(admin, keys, "Bench", make_draft(
        title="Graph app", username="credsync-app", password=Secret(str(sim.info["client_secret"])),
        type_=CredentialType.DIRECTORY_ADMIN, sync_mode=SyncMode.OFF))  # fmt: skip
    # every person is a create: over the change threshold's default of 500
    vault.directories.add(admin, "Bench", "bench-entra", "entra", DirectoryInput.of({
        "url": str(sim.info["graph_url"]), "secret_credential": app.id,
        "tenant_id": sim.tenant_id, "app_id": str(sim.info["client_id"]),
        "authority": sim.authority, "ca_pem": Path(sim.ca_file).read_text(),
        "options": {"change_cap": 1_000_000}}))  # fmt: skip
    vault.provisioning.update(admin, "bench-entra", {
        "username_template": "{given}.{surname}", "upn_suffix": sim.domain, "licence": SKU,
        "usage_location": "SE", "passwords": "vault"})  # fmt: skip
    started = time.perf_counter()
    passwords: dict[str, str] = {}
    for i in range(n):
        secret = password(i)
        cred = vault.credentials.add(admin, keys, "Bench", make_draft(
            title=f"login {i}", username=f"user{i}", password=Secret(secret),
            sync_mode=SyncMode.OFF))  # fmt: skip
        fields: dict[str, Any] = {"username": f"user{i}", "given_name": "Anna",
                                  "surname": f"Berg{i}", "credential": cred.id}  # fmt: skip
        if i % 2:
            fields["usage_location"] = COUNTRIES[i % len(COUNTRIES)]
        made = vault.people.add(admin, "Bench", fields)
        passwords[made.id] = secret
    print(f"added {n} people with their credentials in {time.perf_counter() - started:.1f} s")
    return vault, admin, keys, passwords


def provision(vault: Any, admin: Any, keys: Any) -> tuple[float, ProvisionReport]:
    started = time.perf_counter()
    report = asyncio.run(PeopleProvision(vault, keys, admin).apply("Bench", "bench-entra"))
    return time.perf_counter() - started, report


async def bare_writes(sim: Sim, n: int) -> tuple[float, int]:
    """N users created and licensed by hand, 40 at a time, each request retried after the
    Retry-After of a 429: (seconds, 429 answers)."""
    throttled = 0
    queue = list(reversed(range(n)))
    headers = {"Authorization": f"Bearer {sim.token()}"}
    verify = ssl.create_default_context(cafile=sim.ca_file)
    skus = await _sku_id(sim, headers, verify)
    async with httpx.AsyncClient(verify=verify, headers=headers, timeout=60) as http:

        async def send(method: str, url: str, body: dict[str, Any]) -> httpx.Response:
            nonlocal throttled
            while True:
                response = await http.request(method, url, json=body)
                if response.status_code != 429:
                    return response
                throttled += 1
                await asyncio.sleep(float(response.headers.get("Retry-After", "1")))

        async def worker() -> None:
            while queue:
                i = queue.pop()
                upn = f"bare{i}@{sim.domain}"
                made = await send("POST", f"{sim.graph}/users", {
                    "accountEnabled": True, "displayName": f"Bare {i}", "mailNickname": f"bare{i}",
                    "userPrincipalName": upn, "usageLocation": "SE",
                    "passwordProfile": {"password": password(i),
                                        "forceChangePasswordNextSignIn": False}})  # fmt: skip
                assert made.status_code == 201, made.text
                url = f"{sim.graph}/users/{made.json()['id']}/assignLicense"
                licensed = await send("POST", url,
                                      {"addLicenses": [{"skuId": skus, "disabledPlans": []}],
                                       "removeLicenses": []})  # fmt: skip
                assert licensed.status_code == 200, licensed.text

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(BARE_IN_FLIGHT)))
        return time.perf_counter() - started, throttled


async def _sku_id(sim: Sim, headers: dict[str, str], verify: ssl.SSLContext) -> str:
    async with httpx.AsyncClient(verify=verify, headers=headers, timeout=60) as http:
        found = (await http.get(f"{sim.graph}/subscribedSkus")).json()["value"]
    return str(next(s["skuId"] for s in found if s["skuPartNumber"] == SKU))


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--write-limit", type=limit, default=(1000, 10.0))
    parser.add_argument("--time-limit", type=int, default=1800)
    args = parser.parse_args()
    if args.quick:
        args.people, args.write_limit = 200, (50, 2.0)
    c.header("provision_people: provisioning people with licences under Graph's write throttling",
             args.quick)  # fmt: skip
    c.time_limit(args.time_limit)
    verdicts = c.Verdicts("provision_people")
    sim: Sim | None = None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            home = Path(tmp)
            sim = start_sim(args.write_limit, home)
            sim.ask("seats", {SKU: 2 * args.people + 10})
            vault, admin, keys, passwords = make_vault(sim, args.people, home)
            measure(sim, vault, admin, keys, passwords, args, verdicts)
            vault.db.dispose()
        print()
        print(c.table(["figure", "value"], [[k, v] for k, v in verdicts.figures.items()]))
    except c.Deadline as err:
        verdicts.check(False, str(err))
    finally:
        if sim is not None:
            sim.close()
    return verdicts.report()


def measure(sim: Sim, vault: Any, admin: Any, keys: Any, passwords: dict[str, str], args: Any,
            verdicts: c.Verdicts) -> None:  # fmt: skip
    n = len(passwords)
    units, seconds = args.write_limit
    rate = units / seconds
    writes_needed = 2 * n
    ideal = max(writes_needed - units, 0) / rate
    before = sim.ask("stats")
    took, report = provision(vault, admin, keys)
    after = sim.ask("stats")
    totals = report.totals
    writes = report.writes  # accepted writes (the simulator's counter also has refused ones)
    requests_sent = int(after["writes"]) - int(before["writes"])
    throttled = int(after["throttled"]) - int(before["throttled"])
    print(f"apply: {totals}, {report.writes} writes in {took:.1f} s (the throttle allows "
          f"{ideal:.1f} s for {writes_needed}); {throttled} throttled answers")  # fmt: skip
    assert totals.get("created") == n, (totals, [p.reason for p in report.people if p.reason][:3])
    licensed = sum("licensed" in p.done for p in report.people)
    checked = sim.ask("check", {p.username: passwords[p.person_id] for p in report.people})
    ratio = ideal / took if ideal else 1.0
    verdicts.figures.update({
        "people": n, "write_limit": f"{units}/{seconds:g}", "writes": writes,
        "apply_s": round(took, 2), "throttle_allows_s": round(ideal, 2),
        "writes_per_s": round(writes / took, 1), "allowed_writes_per_s": rate,
        "apply_vs_throttle": round(ratio, 3), "throttled_answers": throttled,
        "write_requests_incl_throttled": requests_sent,
        "licensed": licensed, "passwords_wrong": checked["wrong"],
    })  # fmt: skip
    verdicts.check(
        checked["wrong"] == 0 and checked["checked"] == n and licensed == n,
        f"every user signs in with the person's password and is licensed: "
        f"{checked['checked'] - checked['wrong']} of {n}, {licensed} licensed",
    )
    verdicts.check(
        ratio >= TARGET_RATIO,
        f"provisioning {n} people with licences ({writes} writes): {ratio:.0%} of the write "
        f"rate the throttle ({units}/{seconds:g} s) allows ({took:.1f} s, allowance "
        f"{ideal:.1f} s; target >= 90%)",
    )
    before_writes = sim.writes()
    second, again = provision(vault, admin, keys)
    moved = sim.writes() - before_writes
    verdicts.figures.update({"second_run_s": round(second, 2), "second_run_writes": moved})
    print(f"second apply: {again.totals}, {moved} writes in {second:.1f} s")
    verdicts.check(moved == 0 and again.writes == 0,
                   f"a second apply makes no writes: {moved} ({second:.1f} s)")  # fmt: skip
    time.sleep(seconds)  # the write bucket refills
    bare, bare_throttled = asyncio.run(bare_writes(sim, n))
    verdicts.figures.update({
        "bare_s": round(bare, 2), "bare_vs_throttle": round(ideal / bare, 3),
        "apply_vs_bare": round(bare / took, 3), "bare_throttled_answers": bare_throttled,
    })  # fmt: skip
    print(f"bare httpx: {writes_needed} writes in {bare:.1f} s ({ideal / bare:.0%} of the "
          f"allowance); the apply took {took / bare:.2f}x the bare loop")  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
