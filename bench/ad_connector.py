"""The Active Directory connector against the Samba AD DC, compared with bare ldap3 loops.

    python bench/ad_connector.py [--quick] [--accounts N] [--sets N] [--rounds N]

1. ``verify_password`` over N accounts (default 2,000), one after another through the
   connector (``asyncio.to_thread`` per call, one verify connection rebound as each user),
   against a bare ldap3 loop in this process: one LDAPS connection with ``get_info=NONE``
   rebound as each user (the fastest way ldap3 checks passwords). Target: >= 80% of bare.
   Every account is bound once before measuring (a first logon makes Samba write).
2. ``set_password`` over M accounts (default 1,000): the connector's administrative reset
   (``unicodePwd`` replace, then the account read back for its new pwdLastSet) against a bare
   ldap3 ``unicodePwd`` modify loop on one admin connection. Target: >= 80% of bare.

Connector and bare loops alternate for ``--rounds`` rounds (default 2, who goes first
alternating too); each side's best round counts. The DC is the machine's shared one
(``scripts/samba-dc``; started and stopped here only if it was not running); the accounts live
in an OU of their own, deleted at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import ssl
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from ldap3 import MODIFY_REPLACE, NONE, Connection, Server, Tls

import _common as c
from credsync.connectors.ad import ActiveDirectoryConnector
from credsync.connectors.base import Account, PasswordOptions, VerifyOutcome
from credsync.testing.samba import OuWorld, SambaDC, SambaFacts
from credsync.types import Secret

TARGET_RATIO = 0.80


def quoted(password: str) -> bytes:
    return f'"{password}"'.encode("utf-16-le")


def bare_connection(facts: SambaFacts, user: str | None = None, pw: str | None = None) -> Any:
    """A plain ldap3 LDAPS connection as one would write it by hand (CA checked; name checked by
    ldap3's own ``valid_names``), ``get_info=NONE``."""
    tls = Tls(
        validate=ssl.CERT_REQUIRED,
        ca_certs_file=str(facts.ca_file),
        valid_names=[facts.tls_server_name],
    )
    server = Server(facts.host, port=636, use_ssl=True, tls=tls, get_info=NONE)
    conn = Connection(server, user, pw, raise_exceptions=False)
    conn.open()
    conn.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as the connector does
    if user:
        conn.bind()
    return conn


def make_users(world: OuWorld, count: int) -> list[tuple[str, str]]:
    """``count`` enabled users (password and flags set in the add itself): [(dn, password)]."""
    conn = world.admin.conn
    users = []
    started = time.perf_counter()
    for i in range(count):
        name = f"b{i:05d}{uuid.uuid4().hex[:6]}"
        dn = f"CN={name},{world.dn}"
        password = f"Bench-{uuid.uuid4().hex[:10]}-9"
        conn.add(
            dn,
            ["user"],
            {"sAMAccountName": name, "unicodePwd": quoted(password), "userAccountControl": "512"},
        )
        users.append((dn, password))
    took = time.perf_counter() - started
    print(f"made {count} accounts in {took:.1f} s ({count / took:.0f}/s)")
    return users


def rate(n: int, fn: Callable[[], None]) -> float:
    took = c.timed(fn)
    return n / took


def bench_verify(
    facts: SambaFacts, conn: ActiveDirectoryConnector, accounts: Sequence[tuple[Account, str]]
) -> tuple[Callable[[], None], Callable[[], None]]:
    def through_connector() -> None:
        async def go() -> None:
            for account, password in accounts:
                result = await conn.verify_password(account, Secret(password))
                assert result.outcome is VerifyOutcome.OK, result

        asyncio.run(go())

    bare = bare_connection(facts)

    def bare_loop() -> None:
        for account, password in accounts:
            assert bare.rebind(account.dn, password, read_server_info=False)

    # Warm-up, not measured: a user's first successful bind makes Samba write (logon time,
    # bad-password count); whichever side went first would pay for those writes.
    bare_loop()

    return through_connector, bare_loop


def bench_set(
    facts: SambaFacts, conn: ActiveDirectoryConnector, accounts: Sequence[tuple[Account, str]]
) -> tuple[Callable[[], None], Callable[[], None]]:
    options = PasswordOptions()

    def through_connector() -> None:
        async def go() -> None:
            for account, _ in accounts:
                secret = Secret(f"Set-{uuid.uuid4().hex[:10]}-1")
                await conn.set_password(account, secret, options)

        asyncio.run(go())

    bare = bare_connection(facts, facts.admin_upn, facts.admin_password)

    def bare_loop() -> None:
        for account, _ in accounts:
            change = {"unicodePwd": [(MODIFY_REPLACE, [quoted(f"Set-{uuid.uuid4().hex[:10]}-1")])]}
            assert bare.modify(account.dn, change), bare.result

    return through_connector, bare_loop


def compare(
    name: str,
    n: int,
    pair: tuple[Callable[[], None], Callable[[], None]],
    rounds: int,
    verdicts: c.Verdicts,
) -> list[object]:
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--sets", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--time-limit", type=int, default=900)
    args = parser.parse_args()
    if args.quick:
        args.accounts, args.sets, args.rounds = 100, 50, 1
    c.header("ad_connector: verify and set password against Samba AD", args.quick)
    c.time_limit(args.time_limit)
    verdicts = c.Verdicts("ad_connector")
    dc = SambaDC()
    facts = dc.acquire()
    world = OuWorld.create(facts, prefix="bench")
    rows = []
    try:
        users = make_users(world, args.accounts)
        passwords = dict(users)
        conn = ActiveDirectoryConnector(world.config())

        async def listed() -> list[Account]:
            return [a async for a in conn.iter_accounts()]

        accounts = [(a, passwords[a.dn or ""]) for a in asyncio.run(listed())]
        assert len(accounts) == args.accounts, len(accounts)
        rows.append(
            compare("verify_password", len(accounts), bench_verify(facts, conn, accounts),
                    args.rounds, verdicts)
        )  # fmt: skip
        some = accounts[: args.sets]
        rows.append(
            compare("set_password", len(some), bench_set(facts, conn, some), args.rounds, verdicts)
        )
        asyncio.run(conn.close())
        print()
        print(
            c.table(
                ["operation", "accounts", "connector /s", "bare ldap3 /s", "ratio"],
                rows,
                title=f"best of {args.rounds} round(s), one call after another",
            )
        )
    except c.Deadline as err:
        verdicts.check(False, str(err))
    finally:
        world.close()
        dc.release()
    return verdicts.report()


if __name__ == "__main__":
    sys.exit(main())
