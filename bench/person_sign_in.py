"""People's sign-in at the service (issue 17): the password and the TOTP code, on SQLite.

    python bench/person_sign_in.py [--quick] [--people N] [--rounds N] [--threads N]
                                   [--time-limit SECONDS]

Makes a SQLite vault (cheap KDF) with one client and ``--people`` people (1,000; 50 with
``--quick``), each with a primary login credential and a confirmed authenticator app. Then:

- **latency**: every person signs in once per round (``--rounds``: 3), one at a time, as the
  identity provider and the portal do it: ``PersonAuth.check_password`` then
  ``PersonAuth.check_totp`` (each audited, the limits read, the code's step recorded). The
  service's clock moves 30 s per round so each code is a new one (pyotp computes it).
- **throughput**: ``--threads`` threads (4) sign everyone in again at once; sign-ins per
  second and errors.

Baseline, in the same process: ``People.get`` of a person by id (a read of the same rows).
Figures go to ``bench/results/person_sign_in.json``; the exit status is 1 on a miss.

Targets: the service's part of a federated sign-in, p95 under 50 ms (a quarter of issue 17's
200 ms for the whole sign-in), and at least 200 sign-ins per second without an error.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pyotp

import _common as c

TARGET_P95_S = 0.050
TARGET_RATE = 200.0
PASSWORD = "Bench-Person-Pa55!"


class Clock:
    def __init__(self) -> None:
        self.now = time.time()
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


def _people(vault: Any, admin: Any, keys: Any, n: int, clock: Clock) -> tuple[str, list[Any]]:
    from credsync.types import Secret
    from credsync.vault.drafts import make_draft

    client = vault.clients.add(admin, keys, "Bench people")
    made = []
    for i in range(n):
        username = f"bench.person{i:05d}@bench.example"
        cred = vault.credentials.add(
            admin, keys, client.id,
            make_draft(title=username, username=username, password=Secret(PASSWORD)),
        )  # fmt: skip
        person = vault.people.add(admin, client.id, {"username": username, "credential": cred.id})
        started = vault.person_auth.begin_totp(person.id)
        totp = pyotp.TOTP(started.seed.reveal())
        vault.person_auth.confirm_totp(person.id, totp.at(clock()))
        made.append((person.id, username, totp))
    return client.id, made


def _sign_in(auth: Any, client_id: str, username: str, totp: Any, at: float, n: int) -> None:
    from credsync.types import Secret

    address = f"10.0.{n // 250}.{n % 250}"
    signed = auth.check_password(client_id, username, Secret(PASSWORD), address=address)
    done = auth.check_totp(signed, totp.at(at), address=address)
    if not done.mfa:
        raise AssertionError("the sign-in did not pass its second factor")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--people", type=int)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--time-limit", type=int, default=900)
    args = parser.parse_args()
    people = args.people or (50 if args.quick else 1000)
    c.time_limit(args.time_limit)
    c.header("People's sign-in at the service: password + TOTP", args.quick)
    verdicts = c.Verdicts("person_sign_in")
    with tempfile.TemporaryDirectory(prefix="credsync-bench-") as tmp:
        vault, admin, keys = c.make_vault(f"sqlite:///{Path(tmp) / 'vault.db'}")
        try:
            auth = vault.person_auth
            auth.use_keys(keys)
            clock = Clock()
            auth.clock = clock
            client_id, made = _people(vault, admin, keys, people, clock)
            print(f"{people} people with a password and an authenticator app")

            baseline = [c.timed(lambda pid=pid: vault.people.get(admin, pid)) for pid, _, _ in made]
            samples = []
            for _ in range(args.rounds):
                clock.advance(30)
                at = clock()
                for n, (_, username, totp) in enumerate(made):
                    samples.append(
                        c.timed(
                            lambda u=username, t=totp, n=n, at=at: _sign_in(
                                auth, client_id, u, t, at, n
                            )
                        )
                    )
            print(c.latency_table(verdicts, ("People.get (baseline)", baseline), [
                ("password + code", samples),
            ]))  # fmt: skip

            clock.advance(30)
            at = clock()
            errors = 0
            start = time.perf_counter()
            with ThreadPoolExecutor(args.threads) as pool:
                futures = [
                    pool.submit(_sign_in, auth, client_id, u, t, at, n)
                    for n, (_, u, t) in enumerate(made)
                ]
                for future in futures:
                    if future.exception() is not None:
                        errors += 1
                        print(f"error: {type(future.exception()).__name__}")
            elapsed = time.perf_counter() - start
            rate = len(made) / elapsed
            print(f"\n{len(made)} sign-ins on {args.threads} threads: {rate:.0f} per second, "
                  f"{errors} errors")  # fmt: skip
            verdicts.figures.update({"sign-ins per second": round(rate), "errors": errors})
            p95 = c.percentile(samples, 95)
            verdicts.check(p95 < TARGET_P95_S, f"password + code p95 {c.ms(p95)} ms < 50 ms")
            verdicts.check(
                rate >= TARGET_RATE and errors == 0,
                f"{rate:.0f} sign-ins per second >= {TARGET_RATE:.0f}, {errors} errors",
            )
        finally:
            vault.db.dispose()
    return verdicts.report()


if __name__ == "__main__":
    sys.exit(main())
