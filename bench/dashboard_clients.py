"""The dashboard's clients page and overview with 500 clients (issue 20).

    python bench/dashboard_clients.py [--quick] [--backend sqlite|postgresql|both]
        [--clients N] [--credentials N] [--ad N] [--days N] [--dense-hours N] [--requests N]
        [--sqlite PATH] [--postgresql URL --postgresql-world PATH]

Loads a vault (SQLite, and a throwaway PostgreSQL server: ``credsync.testing.postgres``) as
an MSP's looks: ``--clients`` clients (500) with ``--credentials`` (~120,000) between them,
log-uniform 50-500 a client (``_msp.tenant_sizes``), through search_list's bulk loader (the
product's ``insert_drafts``); an Entra directory a client and an Active Directory one for the
first ``--ad`` (50) clients (550 directory rows, added through the vault's services; nothing
connects to them); then dashboard_overview's history, through the storage's own bulk
writer: a link for every live credential in each directory of its client, open flags for
those not in step, resolved ones, runs of every directory (one an hour over ``--days`` (30)
days; over the last ``--dense-hours`` (24) hours one a minute, the agent's default interval:
~1.17 million runs in all), report items on 5% of runs; password ages over two years and a
rotation interval on four clients in five. Statistics refreshed (ANALYZE), then served with
``credsync serve``'s own loop (uvicorn in a thread, real HTTP on 127.0.0.1) and timed with one
keep-alive browser session ``--requests`` (60; 20 with ``--quick``) times a page, signed in:

- as the admin (every client): the overview, the clients page (its first page), a later page,
  a search by name;
- as a technician who reaches one client in ten: the overview and the clients page (checked:
  neither names a client outside their access).

Baseline, in the same server: ``GET /api/v1/auth/whoami`` with a token. Target (issue 20):
p95 under 300 ms for the overview and the clients page, on each backend.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

import _common as c
import search_list
from _msp import tenant_sizes
from api_server import ServerThread, measure
from dashboard_overview import add_directories, add_rotation, add_sync_history

PAGE_TARGET_S = 0.300
TECH = "tech"
TECH_PASSWORD = "bench-tech-password-1"
TECH_EVERY = 10  # the technician reaches one client in this many


def load(url: str, args: argparse.Namespace) -> dict[str, Any]:
    """Fill a new vault at ``url``; returns what it holds."""
    from credsync.types import Secret

    rng = random.Random(args.seed)
    vault, admin, keys = c.make_vault(url)
    sizes = tenant_sizes(args.clients, args.credentials)
    started = time.perf_counter()
    loaded = search_list.load(vault, admin, keys, sizes, args.seed, loader="bulk")
    print(f"  loaded {loaded['credentials']:,} credentials in {loaded['load_s']:.1f} s", flush=True)
    t0 = time.perf_counter()
    clients = vault.clients.list(admin)
    directories = add_directories(vault, admin, keys, clients, ad=args.ad)
    print(f"  added {len(directories)} directories in {time.perf_counter() - t0:.1f} s", flush=True)
    t0 = time.perf_counter()
    history = add_sync_history(
        vault, directories, rng, days=args.days, dense_hours=args.dense_hours, items_share=0.05
    )
    rotating = add_rotation(vault, admin, rng)
    reached = [cl.name for cl in clients[::TECH_EVERY]]
    vault.operators.add(admin, TECH, Secret(TECH_PASSWORD), "technician", reached)
    what, analyse_s = search_list.analyse(vault.db)
    print(
        f"  added {history['links']:,} links, {history['open_flags']:,} open and "
        f"{history['resolved_flags']:,} resolved flags, {history['runs']:,} runs, "
        f"{history['run_items']:,} run items, rotation on {rotating} clients in "
        f"{time.perf_counter() - t0:.1f} s; {what} in {analyse_s:.1f} s "
        f"(all in {time.perf_counter() - started:.0f} s)",
        flush=True,
    )
    vault.db.dispose()
    return {
        "clients": len(clients),
        "credentials": sum(sizes),
        "directories": len(directories),
        **history,
        "rotating": rotating,
        "tech_clients": reached,
        "all_clients": [cl.name for cl in clients],
    }


def sign_in(browser: httpx.Client, name: str, password: str) -> httpx.Client:
    browser.post("/api/v1/auth/login", json={"name": name, "password": password}).raise_for_status()
    return browser


def check_access(text: str, world: dict[str, Any]) -> None:
    """The technician's page names no client outside their access."""
    reached = set(world["tech_clients"])
    shown = {name for name in world["all_clients"] if re.search(rf">{re.escape(name)}<", text)}
    if shown - reached:
        raise RuntimeError(f"the technician sees {len(shown - reached)} clients of others")
    if not shown:
        raise RuntimeError("the technician sees none of their clients")


def measure_pages(tag: str, url: str, args: argparse.Namespace, world: dict[str, Any]) -> list[Any]:
    """(label, samples) of each page, the baseline first."""
    from credsync.api.state import ServerState
    from credsync.server.app import create_app

    vault, admin, keys = c.open_vault(url)
    _, token = vault.access.create_token(admin, "bench")
    app = create_app(ServerState(vault, keys))
    found: list[Any] = []
    with ServerThread(app) as server:
        base = f"http://127.0.0.1:{server.port}"
        auth = {"Authorization": f"Bearer {token.reveal()}"}
        with httpx.Client(base_url=base, headers=auth, timeout=60) as http:
            found.append(
                (f"{tag} baseline: GET /auth/whoami", measure(http, "/api/v1/auth/whoami", 50))
            )
        with httpx.Client(base_url=base, timeout=120) as browser:
            sign_in(browser, c.ADMIN, c.ADMIN_PASSWORD)
            for label, path in admin_pages(browser):
                found.append((f"{tag} admin: {label}", measure(browser, path, args.requests)))
        with httpx.Client(base_url=base, timeout=120) as browser:
            sign_in(browser, TECH, TECH_PASSWORD)
            for label, path in (("overview", "/overview"), ("clients page", "/")):
                check_access(browser.get(path).text, world)
                found.append((f"{tag} technician: {label}", measure(browser, path, args.requests)))
        print(f"  measured (load average {os.getloadavg()[0]:.1f})", flush=True)
    vault.db.dispose()
    return found


def admin_pages(browser: httpx.Client) -> list[tuple[str, str]]:
    """The pages timed for the admin: with the clients page's next page and a search, where
    the page has them (it had neither before issue 20)."""
    pages = [("overview", "/overview"), ("clients page", "/")]
    first = browser.get("/").text
    found = re.search(r'<a href="(/\?after=[^"]+)">Next clients</a>', first)
    if found:
        pages.append(("clients page 2", found.group(1).replace("&amp;", "&")))
        pages.append(("clients search", "/?q=client+4"))
    return pages


def run_backend(
    label: str,
    tag: str,
    url: str,
    args: argparse.Namespace,
    verdicts: c.Verdicts,
    kept: Path | None = None,
) -> None:
    """Load (or reuse the vault ``kept`` describes, its schema brought up to date) and
    measure."""
    print(f"\n## {label}", flush=True)
    if kept is not None and kept.exists():
        from credsync.storage import Database

        world = json.loads(kept.read_text())
        db = Database(url)
        db.upgrade()
        print(f"  reusing the loaded vault; {search_list.analyse(db)[0]}", flush=True)
        db.dispose()
    else:
        world = load(url, args)
        if kept is not None:
            kept.write_text(json.dumps(world))
    found = measure_pages(tag, url, args, world)
    print()
    print(c.latency_table(verdicts, found[0], found[1:]))
    for name, samples in found[1:]:
        if "overview" in name or "clients page" in name:
            p95 = c.percentile(samples, 95)
            verdicts.check(
                p95 < PAGE_TARGET_S,
                f"{label}: {name} p95 {p95 * 1000:.1f} ms with {world['clients']} clients, "
                f"{world['credentials']:,} credentials, {world['directories']} directories, "
                f"{world['runs']:,} runs (target: under {PAGE_TARGET_S * 1000:.0f} ms)",
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--credentials", type=int, default=120_000)
    parser.add_argument("--ad", type=int, default=50)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--dense-hours", type=int, default=24)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--time-limit", type=int, default=3600)
    parser.add_argument(
        "--sqlite",
        type=Path,
        metavar="PATH",
        help="the SQLite vault's file: loaded and kept there, or measured again if it exists",
    )
    parser.add_argument(
        "--postgresql",
        metavar="URL",
        help="a PostgreSQL database of a server you run (instead of a throwaway one): loaded and "
        "kept, its world in --postgresql-world, or measured again if that file exists",
    )
    parser.add_argument("--postgresql-world", type=Path, metavar="PATH")
    args = parser.parse_args()
    if args.quick:
        args.clients, args.credentials, args.ad, args.dense_hours, args.requests = (
            60,
            10_000,
            6,
            2,
            20,
        )
    c.header("dashboard_clients: the clients page and overview with many clients", args.quick)
    c.time_limit(args.time_limit)
    verdicts = c.Verdicts("dashboard_clients")
    if args.backend in ("sqlite", "both"):
        if args.sqlite is not None:
            kept = args.sqlite.with_suffix(".world.json")
            url = f"sqlite:///{args.sqlite.resolve()}"
            run_backend("SQLite", "sqlite", url, args, verdicts, kept)
        else:
            with tempfile.TemporaryDirectory() as tmp:
                url = f"sqlite:///{Path(tmp) / 'vault.db'}"
                run_backend("SQLite", "sqlite", url, args, verdicts)
    if args.backend in ("postgresql", "both") and args.postgresql is not None:
        if args.postgresql_world is None:
            parser.error("--postgresql needs --postgresql-world PATH")
        run_backend(
            "PostgreSQL (kept)", "pg", args.postgresql, args, verdicts, args.postgresql_world
        )
    elif args.backend in ("postgresql", "both"):
        from credsync.testing.postgres import TempPostgres

        with TempPostgres() as pg:
            run_backend(
                f"PostgreSQL (127.0.0.1:{pg.port})",
                "pg",
                pg.create_database("bench"),
                args,
                verdicts,
            )
    return verdicts.report()


if __name__ == "__main__":
    sys.exit(main())
