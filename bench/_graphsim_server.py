"""The Graph simulator in a process of its own, for the Graph benchmarks (so its CPU and
memory are not the client's): prints the tenant's connection facts as one JSON line, then
serves until its standard input closes.

    python bench/_graphsim_server.py --users 100000 --write-limit 1000/10 [--groups N]

``--tenant-sizes PATH`` plays many tenants instead of one (the MSP benchmark): PATH is a JSON
list of user counts, one tenant each (domains ``client001.test``...); the first line then also
has ``tenants``, each tenant's facts (``tenant_id``, ``domain``, ``authority``, ``client_id``,
``client_secret``), and a command for one of them starts with ``@TENANT_ID``.

``--groups N`` seeds N groups with realistic memberships (:func:`seed_memberships`: each user
in 1 to 3 groups, about one group in ten nested in another), straight into the store.

While it serves, it answers one-line commands on its standard input with one JSON line (what
a benchmark needs of the tenant's portal side, which is not Graph):

- ``users PATH``: make the cloud users listed in the JSON file at PATH (a list of
  ``{"alias", "password", "immutable_id"}``; the UPN is ``alias@<the tenant's domain>``, the
  immutable id optional): ``{"created": N, "seconds": S}``;
- ``stats``: the tenant's request counters (writes, password writes, throttled answers...);
- ``seats PATH``: set the seats bought of the licences in the JSON object at PATH
  (``{sku part number: enabled}``): ``{"skus": [{part, enabled, consumed}...]}``;
- ``federate PATH``: a federated domain for the identity-provider benchmark, from the JSON
  object at PATH (``{"domain", "federation": {internalDomainFederation's properties},
  "users": [{"upn_alias", "display_name", "immutable_id"}]}``; each user's UPN is
  ``alias@<the domain as added>``): ``{"domain": the name, "users": N}``;
- ``cpu``: this process's CPU seconds so far (``{"cpu": S}``), for a benchmark's per-process
  accounting;
- ``upns``: the UPNs of the tenant's enabled, cloud-only users (those a password can be
  pushed to over Graph): ``{"upns": [...]}``;
- ``throttle UNITS/SECONDS``: the tenant's reads and writes limited to that (a 429 storm at
  1/600), or ``throttle off``: Entra's defaults: ``{"throttle": "..."}``;
- ``check PATH``: whether each user of the JSON object at PATH (``{upn: password}``) would
  sign in with that password: ``{"checked": N, "wrong": K, "examples": [a few UPNs]}``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

from credsync.testing.graphsim import GraphSimulator, SimTenant, ThrottleConfig
from credsync.testing.graphsim._seed import DEPARTMENTS, guid


def limit(text: str) -> tuple[int, float]:
    units, _, seconds = text.partition("/")
    return int(units), float(seconds)


def make_users(tenant: SimTenant, path: str) -> dict[str, Any]:
    started = time.perf_counter()
    wanted = json.loads(Path(path).read_text())
    for entry in wanted:
        user = tenant.create_user(upn=f"{entry['alias']}@{tenant.domain}",
                                  password=entry["password"])  # fmt: skip
        if entry.get("immutable_id"):
            tenant.set_immutable_id(user.id, entry["immutable_id"])
    return {"created": len(wanted), "seconds": round(time.perf_counter() - started, 2)}


def seed_memberships(tenant: SimTenant, count: int) -> int:
    """``count`` groups (a third Microsoft 365, the rest security), each user a member of 1 to
    3 of them, and every tenth group a member of an earlier one (nested); returns the number of
    memberships."""
    rng = random.Random(7)
    store = tenant.store
    made = 0
    with store.lock:
        ids: list[str] = []
        for index in range(count):
            unified = index % 3 == 0
            kind = "Team" if unified else "Staff"
            name = f"{DEPARTMENTS[index % len(DEPARTMENTS)]} {kind} {index}"
            nickname = name.lower().replace(" ", "-")
            record: dict[str, Any] = {
                "id": guid(rng),
                "displayName": name,
                "description": f"Seeded group {index}",
                "groupTypes": ["Unified"] if unified else [],
                "mailEnabled": unified,
                "mailNickname": nickname,
                "securityEnabled": not unified,
                "mail": f"{nickname}@{tenant.domain}" if unified else None,
                "createdDateTime": "2024-01-01T00:00:00Z",
            }
            store.groups.add(record)
            ids.append(record["id"])
            store.members[record["id"]] = {}
        for user_id in list(store.users.live):
            for group_id in rng.sample(ids, rng.randint(1, 3)):
                store.members[group_id][user_id] = None
                made += 1
        for index in range(10, count, 10):
            parent = ids[rng.randrange(index)]
            store.members[parent][ids[index]] = None
            made += 1
    return made


def check(tenant: SimTenant, path: str) -> dict[str, Any]:
    expected: dict[str, str] = json.loads(Path(path).read_text())
    wrong = [upn for upn, password in expected.items() if not tenant.check_password(upn, password)]
    return {"checked": len(expected), "wrong": len(wrong), "examples": wrong[:5]}


def seats(tenant: SimTenant, path: str) -> dict[str, Any]:
    wanted: dict[str, int] = json.loads(Path(path).read_text())
    with tenant.store.lock:
        for sku in tenant.skus:
            if sku["skuPartNumber"] in wanted:
                sku["prepaidUnits"]["enabled"] = int(wanted[sku["skuPartNumber"]])
        found = [{"part": s["skuPartNumber"], "enabled": s["prepaidUnits"]["enabled"],
                  "consumed": s["consumedUnits"]} for s in tenant.skus]  # fmt: skip
    return {"skus": found}


def federate(sim: GraphSimulator, tenant: SimTenant, path: str) -> dict[str, Any]:
    wanted = json.loads(Path(path).read_text())
    domain = sim.add_domain(tenant, wanted["domain"], federated=True)
    with tenant.store.lock:
        tenant.federation[domain].update(wanted["federation"])
    for entry in wanted["users"]:
        user = tenant.create_user(
            upn=f"{entry['upn_alias']}@{domain}", display_name=entry["display_name"]
        )
        tenant.set_immutable_id(user.id, entry["immutable_id"])
    return {"domain": domain, "users": len(wanted["users"])}


def upns(tenant: SimTenant) -> dict[str, Any]:
    with tenant.store.lock:
        found = [
            u["userPrincipalName"]
            for u in tenant.store.users.live.values()
            if u.get("accountEnabled") and not u.get("onPremisesSyncEnabled")
        ]
    return {"upns": found}


def throttle(tenant: SimTenant, argument: str) -> dict[str, Any]:
    if argument.strip() == "off":
        tenant.throttle = ThrottleConfig()
    else:
        units, seconds = limit(argument)
        tenant.throttle = ThrottleConfig(
            enabled=True, read_units=units, read_window=seconds, write_units=units,
            write_window=seconds, tenant_write_units=units, tenant_write_window=seconds,
        )  # fmt: skip
    return {"throttle": argument.strip()}


def answer(tenant: SimTenant, line: str, sim: GraphSimulator | None = None) -> dict[str, Any]:
    command, _, argument = line.strip().partition(" ")
    if command.startswith("@") and sim is not None:  # a command for one tenant of many
        found = sim.find_tenant(command[1:])
        if found is None:
            return {"error": f"no tenant {command[1:]!r}"}
        return answer(found, argument, sim)
    try:
        if command == "upns":
            return upns(tenant)
        if command == "throttle":
            return throttle(tenant, argument)
        if command == "users":
            return make_users(tenant, argument)
        if command == "stats":
            return dict(tenant.stats)
        if command == "check":
            return check(tenant, argument)
        if command == "seats":
            return seats(tenant, argument)
        if command == "federate" and sim is not None:
            return federate(sim, tenant, argument)
        if command == "cpu":
            return {"cpu": time.process_time()}
    except (OSError, ValueError, KeyError) as err:
        return {"error": f"{command}: {type(err).__name__}: {err}"}
    return {"error": f"unknown command {command!r}"}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--groups", type=int, default=0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--read-limit", type=limit, default=(8000, 10.0))
    parser.add_argument("--write-limit", type=limit, default=(3000, 150.0))
    # all apps of the tenant together (Entra's default: 18000 units per 300 s)
    parser.add_argument("--tenant-write-limit", type=limit, default=(18000, 300.0))
    parser.add_argument("--tenant-sizes", help="a JSON list of user counts: a tenant each")
    args = parser.parse_args()
    started = time.perf_counter()
    sim = GraphSimulator(port=0, seed=args.seed)
    sizes = json.loads(Path(args.tenant_sizes).read_text()) if args.tenant_sizes else []
    tenants = [
        sim.add_tenant(users=int(size), groups=0, domain=f"client{n + 1:03d}.test")
        for n, size in enumerate(sizes)
    ]
    tenant = tenants[0] if tenants else sim.add_tenant(users=args.users, groups=0)
    memberships = seed_memberships(tenant, args.groups) if args.groups else 0
    for each in tenants or [tenant]:
        each.throttle = ThrottleConfig(
            enabled=True,
            read_units=args.read_limit[0],
            read_window=args.read_limit[1],
            write_units=args.write_limit[0],
            write_window=args.write_limit[1],
            tenant_write_units=args.tenant_write_limit[0],
            tenant_write_window=args.tenant_write_limit[1],
        )
    sim.start()
    info = dict(sim.info(tenant, tenant.default_app))
    if tenants:
        keep = ("tenant_id", "domain", "authority", "client_id", "client_secret")
        info["tenants"] = [
            {k: v for k, v in sim.info(t, t.default_app).items() if k in keep} for t in tenants
        ]
    info["load_seconds"] = round(time.perf_counter() - started, 2)
    info["memberships"] = memberships
    print(json.dumps(info), flush=True)
    try:
        for line in sys.stdin:  # until the benchmark closes our standard input (or exits)
            if line.strip():
                print(json.dumps(answer(tenant, line, sim), default=str), flush=True)
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
