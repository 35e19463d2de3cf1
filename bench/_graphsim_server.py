"""The Graph simulator in a process of its own, for the Graph benchmarks (so its CPU and
memory are not the client's): prints the tenant's connection facts as one JSON line, then
serves until its standard input closes.

    python bench/_graphsim_server.py --users 100000 --write-limit 1000/10
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from credsync.testing.graphsim import GraphSimulator, ThrottleConfig


def limit(text: str) -> tuple[int, float]:
    units, _, seconds = text.partition("/")
    return int(units), float(seconds)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--read-limit", type=limit, default=(8000, 10.0))
    parser.add_argument("--write-limit", type=limit, default=(3000, 150.0))
    args = parser.parse_args()
    started = time.perf_counter()
    sim = GraphSimulator(port=0, seed=args.seed)
    tenant = sim.add_tenant(users=args.users, groups=0)
    tenant.throttle = ThrottleConfig(
        enabled=True,
        read_units=args.read_limit[0],
        read_window=args.read_limit[1],
        write_units=args.write_limit[0],
        write_window=args.write_limit[1],
    )
    sim.start()
    info = dict(sim.info(tenant, tenant.default_app))
    info["load_seconds"] = round(time.perf_counter() - started, 2)
    print(json.dumps(info), flush=True)
    try:
        sys.stdin.read()  # until the benchmark closes our standard input (or exits)
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
