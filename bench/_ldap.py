"""What the two ldap3 connector benchmarks share (``ad_connector.py`` against the Samba DC,
``ldap_connector.py`` against slapd): their options, the bare ldap3 baseline, making and
listing the accounts, the password-check loops, and the alternating comparison with its table.

Not a benchmark itself (the leading underscore); imported by the benchmarks, which put this
directory on ``sys.path`` by being run as ``python bench/NAME.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import ssl
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ldap3 import NONE, Connection, Server, Tls

import _common as c
from credsync.connectors.base import Account, Connector, VerifyOutcome
from credsync.types import Secret

TARGET_RATIO = 0.80
Pair = tuple[Callable[[], None], Callable[[], None]]  # (through the connector, bare ldap3)
Accounts = Sequence[tuple[Account, str]]  # (account, its password)


def arguments(doc: str) -> argparse.Namespace:
    """The options both take: sizes, rounds and a time limit (``--quick``: small and once)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--sets", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--time-limit", type=int, default=900)
    args = parser.parse_args()
    if args.quick:
        args.accounts, args.sets, args.rounds = 100, 50, 1
    return args


def bare_connection(
    host: str,
    port: int,
    ca_file: Path,
    name: str,
    user: str | None = None,
    password: str | None = None,
) -> Any:
    """A plain ldap3 LDAPS connection as one would write it by hand (CA checked; ``name``
    checked by ldap3's own ``valid_names``), ``get_info=NONE``; bound when ``user`` is given."""
    tls = Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=str(ca_file), valid_names=[name])
    server = Server(host, port=port, use_ssl=True, tls=tls, get_info=NONE)
    conn = Connection(server, user, password, raise_exceptions=False)
    conn.open()
    conn.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as the connector does
    if user:
        assert conn.bind(), conn.result
    return conn


def make_users(
    conn: Any, count: int, entry: Callable[[str, str], tuple[str, list[str], dict[str, Any]]]
) -> dict[str, str]:
    """``count`` accounts added on ``conn``, ``entry(name, password)`` saying each one's (dn,
    object classes, attributes): {dn: password}."""
    users = {}
    started = time.perf_counter()
    for i in range(count):
        name = f"b{i:05d}{uuid.uuid4().hex[:6]}"
        password = f"Bench-{uuid.uuid4().hex[:10]}-9"
        dn, classes, attributes = entry(name, password)
        conn.add(dn, classes, attributes)
        users[dn] = password
    took = time.perf_counter() - started
    print(f"made {count} accounts in {took:.1f} s ({count / took:.0f}/s)")
    return users


def listed(conn: Connector, passwords: dict[str, str]) -> list[tuple[Account, str]]:
    """The connector's accounts with their passwords: every one made, no other."""

    async def go() -> list[Account]:
        return [a async for a in conn.iter_accounts()]

    accounts = [(a, passwords[a.dn or ""]) for a in asyncio.run(go())]
    assert len(accounts) == len(passwords), len(accounts)
    return accounts


def rate(n: int, fn: Callable[[], None]) -> float:
    return n / c.timed(fn)


def bench_verify(conn: Connector, accounts: Accounts, bare: Any) -> Pair:
    """``verify_password`` of each account, one after another, against ``bare`` rebound as
    each user."""

    def through_connector() -> None:
        async def go() -> None:
            for account, password in accounts:
                result = await conn.verify_password(account, Secret(password))
                assert result.outcome is VerifyOutcome.OK, result

        asyncio.run(go())

    def bare_loop() -> None:
        for account, password in accounts:
            assert bare.rebind(account.dn, password, read_server_info=False)

    return through_connector, bare_loop


def compare(name: str, n: int, pair: Pair, rounds: int, verdicts: c.Verdicts) -> list[object]:
    """Both sides of ``pair`` over ``n`` calls for ``rounds`` rounds (who goes first
    alternating), each side's best round counting; the verdict, and a row of the table."""
    through_connector, bare_loop = pair
    ours: list[float] = []
    bare: list[float] = []
    for i in range(rounds):  # alternate who goes first
        if i % 2:
            ours.append(rate(n, through_connector))
        bare.append(rate(n, bare_loop))
        if not i % 2:
            ours.append(rate(n, through_connector))
    best_ours, best_bare = max(ours), max(bare)
    ratio = best_ours / best_bare
    verdicts.figures[name] = {
        "connector_per_s": round(best_ours, 1),
        "bare_ldap3_per_s": round(best_bare, 1),
        "ratio": round(ratio, 3),
        "rounds": {"connector": ours, "bare": bare},
    }
    verdicts.check(
        ratio >= TARGET_RATIO,
        f"{name}: connector {best_ours:.0f}/s is {ratio:.0%} of bare ldap3 {best_bare:.0f}/s "
        f"(target >= {TARGET_RATIO:.0%})",
    )
    return [name, n, f"{best_ours:.0f}", f"{best_bare:.0f}", f"{ratio:.2f}"]


def print_table(rows: Sequence[Sequence[object]], rounds: int) -> None:
    print()
    print(
        c.table(
            ["operation", "accounts", "connector /s", "bare ldap3 /s", "ratio"],
            rows,
            title=f"best of {rounds} round(s), one call after another",
        )
    )
