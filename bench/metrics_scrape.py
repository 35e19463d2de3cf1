"""A Prometheus scrape of ``/metrics`` on a vault with many rows.

    python bench/metrics_scrape.py [--quick] [--credentials N] [--clients N] [--runs N]

Loads a SQLite vault as dashboard_overview does (``--credentials`` credentials, 100,000, in
``--clients`` clients, 50; a directory a client, a link with a last check for every live
credential, open and resolved flags, 30 days of hourly runs: about 36,000), adds
``--queued`` (20,000) pushes to the queue, refreshes planner statistics, serves the app with a
scrape token (uvicorn, real HTTP on 127.0.0.1, no agent) and times ``--runs`` scrapes (200;
30 with ``--quick``) from one keep-alive client.

Baseline, in the same process and server: ``GET /healthz`` (HTTP and a JSON answer, no
database). Printed: p50/p95/max and p95 against the baseline, and the scrape's own
``credsync_scrape_duration_seconds`` (the database part).

Target (issue 18): a scrape's p95 under 250 ms with 100,000 credentials (Prometheus scrapes
every 15-60 s; a scrape must stay far below that on a busy vault).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

import httpx

import _common as c
import search_list
from api_server import ServerThread, measure
from dashboard_overview import add_directories, add_sync_history

SCRAPE_TARGET_S = 0.250
TOKEN = "bench-scrape-token-0123456789abcdef"


def add_queue(vault: object, n: int) -> int:
    """``n`` queued pushes of the vault's linked credentials (the queue's own enqueue)."""
    import sqlalchemy as sa

    from credsync.storage import push_queue
    from credsync.storage.tables import links
    from credsync.vault._time import utcnow

    db = vault.db  # type: ignore[attr-defined]
    with db.read() as conn:
        pairs = conn.execute(sa.select(links.c.credential_id, links.c.directory_id).limit(n)).all()
    with db.write() as conn:
        for credential_id, directory_id in pairs:
            push_queue.enqueue(conn, credential_id, [directory_id], 2, utcnow())
    return len(pairs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--credentials", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--queued", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--time-limit", type=int, default=1800)
    args = parser.parse_args()
    if args.quick:
        args.credentials, args.queued, args.runs = 5000, 1000, 30
    c.header("metrics_scrape: /metrics over HTTP", args.quick)
    c.time_limit(args.time_limit)
    verdicts = c.Verdicts("metrics_scrape")

    from credsync.api.state import ServerState
    from credsync.server.app import create_app
    from credsync.types import Secret

    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        vault, admin, keys = c.make_vault(f"sqlite:///{Path(tmp) / 'vault.db'}")
        sizes = [args.credentials // args.clients] * args.clients
        figures = search_list.load(vault, admin, keys, sizes, args.seed, loader="bulk")
        started = time.perf_counter()
        directories = add_directories(vault, admin, keys, vault.clients.list(admin))
        history = add_sync_history(vault, directories, rng)
        queued = add_queue(vault, args.queued)
        print(
            f"loaded {figures['credentials']:,} credentials, {history['links']:,} links, "
            f"{history['open_flags']:,} open flags, {history['runs']:,} runs, {queued:,} queued "
            f"pushes in {figures['load_s'] + time.perf_counter() - started:.1f} s"
        )
        search_list.analyse(vault.db)
        app = create_app(ServerState(vault, keys), metrics_token=Secret(TOKEN))
        with ServerThread(app) as server:
            base = f"http://127.0.0.1:{server.port}"
            with httpx.Client(base_url=base, timeout=60) as http:
                baseline = measure(http, "/healthz", args.runs)
                auth = {"Authorization": f"Bearer {TOKEN}"}
                text = http.get("/metrics", headers=auth).text
                if 'credsync_push_queue_depth{state="waiting"}' not in text:
                    raise RuntimeError("the scrape shows no queue")
                scrape = measure(http, "/metrics", args.runs, headers=auth)
                own = [
                    float(line.split()[-1])
                    for line in http.get("/metrics", headers=auth).text.splitlines()
                    if line.startswith("credsync_scrape_duration_seconds ")
                ]
        vault.db.dispose()

    latencies = c.latency_table(
        verdicts, ("baseline: GET /healthz", baseline), [("GET /metrics", scrape)]
    )
    p95, base_p95 = c.percentile(scrape, 95), c.percentile(baseline, 95)
    print(f"the database part of a scrape: {own[0] * 1000:.1f} ms")
    verdicts.check(
        p95 < SCRAPE_TARGET_S,
        f"/metrics: p95 {p95 * 1000:.1f} ms ({p95 / base_p95:.1f}x /healthz) with "
        f"{args.credentials:,} credentials, {queued:,} queued pushes "
        f"(target: under {SCRAPE_TARGET_S * 1000:.0f} ms)",
    )
    print()
    print(latencies)
    return verdicts.report()


if __name__ == "__main__":
    sys.exit(main())
