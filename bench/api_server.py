"""The server over HTTP with 100,000 credentials: API list endpoints and the client page.

    python bench/api_server.py [--quick] [--credentials N] [--runs N] [--time-limit SECONDS]

Loads a SQLite vault (the product's ``insert_drafts``, written by search_list's bulk loader):
"Contoso Ltd" with N credentials (default 100,000) and 19 small clients with 2,000 more, a few
hundred audit entries; refreshes planner statistics; then serves it with ``credsync serve``'s
own loop (uvicorn, real HTTP on 127.0.0.1, no agent) in a thread and times, from one keep-alive
HTTP client in this process, ``--runs`` requests per case (200; 30 with ``--quick``) after 5
warm-up requests:

- API, signed in with an API token: ``/clients``, the big client's first page of credentials
  (100), a deep page (a cursor ~90% of the way through), a search, one credential, the audit
  log's first page, open flags and runs;
- the dashboard, signed in with a browser session: the client page of the big client.

Baseline, in the same process and server: ``GET /api/v1/auth/whoami`` (HTTP, the token lookup
and a JSON answer: what every request pays). Printed: p50/p95/max and p95 against the baseline.

Targets: every API list endpoint p95 under 50 ms; the client page p95 under 300 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

import _common as c
import search_list

API_TARGET_S = 0.050
PAGE_TARGET_S = 0.300


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerThread:
    """The app under uvicorn in a thread of its own (its own event loop)."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.port = free_port()
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=lambda: asyncio.run(self.server.serve()))

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


def measure(http: httpx.Client, path: str, runs: int, **kw: Any) -> list[float]:
    for _ in range(5):
        http.get(path, **kw).raise_for_status()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        response = http.get(path, **kw)
        samples.append(time.perf_counter() - start)
        response.raise_for_status()
    return samples


def deep_cursor(http: httpx.Client, client: str, total: int) -> str:
    """A cursor ~90% through the big client, found by walking its pages of 500."""
    cursor = None
    pages = int(total * 0.9) // 500
    for _ in range(max(pages, 1)):
        params: dict[str, Any] = {"limit": 500}
        if cursor:
            params["cursor"] = cursor
        page = http.get(f"/api/v1/clients/{client}/credentials", params=params).json()
        cursor = page["next_cursor"]
        if cursor is None:
            break
    if cursor is None:
        raise RuntimeError("no deep cursor: the client has too few credentials")
    return str(cursor)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--credentials", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--time-limit", type=int, default=1800)
    args = parser.parse_args()
    if args.quick:
        args.credentials, args.runs = 5000, 30
    c.header("api_server: the REST API and the dashboard over HTTP", args.quick)
    c.time_limit(args.time_limit)
    verdicts = c.Verdicts("api_server")

    from credsync.api.state import ServerState
    from credsync.server.app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        vault, admin, keys = c.make_vault(f"sqlite:///{Path(tmp) / 'vault.db'}")
        sizes = [args.credentials, *([max(args.credentials // 50 // 19, 10)] * 19)]
        figures = search_list.load(vault, admin, keys, sizes, args.seed, loader="bulk")
        print(f"loaded {figures['credentials']:,} credentials in {figures['load_s']:.1f} s")
        search_list.analyse(vault.db)
        _, token = vault.access.create_token(admin, "bench")
        big = c.CLIENTS[0][0]
        big_id = vault.clients.get(admin, big).id
        app = create_app(ServerState(vault, keys))
        cases: list[tuple[str, str, dict[str, Any], float]] = []
        with ServerThread(app) as server:
            base = f"http://127.0.0.1:{server.port}"
            auth = {"Authorization": f"Bearer {token.reveal()}"}
            with httpx.Client(base_url=base, headers=auth, timeout=30) as http:
                some = http.get(f"/api/v1/clients/{big}/credentials", params={"limit": 1}).json()
                cred_id = some["items"][0]["id"]
                cursor = deep_cursor(http, big, args.credentials)
                api = [
                    ("GET /clients", "/api/v1/clients", {}),
                    ("first page (100)", f"/api/v1/clients/{big}/credentials", {}),
                    (
                        "deep page (100, cursor at 90%)",
                        f"/api/v1/clients/{big}/credentials",
                        {"cursor": cursor},
                    ),
                    ("search 'exchange admin'", "/api/v1/credentials", {"q": "exchange admin"}),
                    ("one credential", f"/api/v1/credentials/{cred_id}", {}),
                    ("audit, first page", "/api/v1/audit", {}),
                ]
                api += [("open flags", "/api/v1/flags", {}), ("runs", "/api/v1/runs", {})]
                baseline = measure(http, "/api/v1/auth/whoami", args.runs)
                for label, path, params in api:
                    samples = measure(http, path, args.runs, params=params)
                    cases.append((label, "api", {"samples": samples}, API_TARGET_S))
            with httpx.Client(base_url=base, timeout=30) as browser:
                signed = browser.post(
                    "/api/v1/auth/login",
                    json={"name": c.ADMIN, "password": c.ADMIN_PASSWORD},
                )
                signed.raise_for_status()
                page = measure(browser, f"/clients/{big_id}", max(args.runs // 2, 20))
                cases.append(("client page (HTML)", "web", {"samples": page}, PAGE_TARGET_S))
        vault.db.dispose()

    latencies = c.latency_table(
        verdicts,
        ("baseline: GET /auth/whoami", baseline),
        [(label, data["samples"]) for label, _, data, _ in cases],
    )
    for label, kind, data, target in cases:
        p95 = c.percentile(data["samples"], 95)
        verdicts.check(
            p95 < target,
            f"{kind} {label}: p95 {p95 * 1000:.1f} ms with {args.credentials:,} credentials "
            f"(target: under {target * 1000:.0f} ms)",
        )
    print()
    print(latencies)
    return verdicts.report()


if __name__ == "__main__":
    sys.exit(main())
