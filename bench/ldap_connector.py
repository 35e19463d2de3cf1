"""The LDAP connector against OpenLDAP (slapd), compared with bare ldap3 loops.

    python bench/ldap_connector.py [--quick] [--accounts N] [--sets N] [--rounds N]

Starts a slapd of its own (``scripts/slapd``: ppolicy, syncprov, its own CA; stopped and
removed at the end) and makes N accounts (default 2,000) in an OU there. Then, one call after
another:

1. ``verify_password`` over the N accounts through the connector (a bind as each user with
   the password policy control, on the connector's own connections in the event loop: see
   ``connectors/ldap/_wire.py``) against a bare ldap3 loop in this process: one LDAPS
   connection with ``get_info=NONE`` rebound as each user. Target: >= 80% of bare.
2. ``set_password`` over M accounts (default 1,000) through the connector (Password Modify,
   then the entry read back for its new pwdChangedTime, which the engine keeps as the password
   stamp) against a bare ldap3 loop doing the same on one connection as the same bind
   identity: the extended operation, then a base read of pwdChangedTime. Target: >= 80% of
   bare. The rate of the extended operation alone is printed too: slapd changes a password in
   well under a millisecond, so reading the stamp back (one more round trip) costs about as
   much as the change; no single LDAP operation both changes a password through Password
   Modify and returns the new pwdChangedTime (slapd ignores the post-read control on extended
   operations).

Connector and bare loops alternate for ``--rounds`` rounds (default 2, who goes first
alternating too); each side's best round counts.
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

from ldap3 import BASE, NONE, Connection, Server, Tls

import _common as c
from credsync.connectors.base import Account, PasswordOptions, VerifyOutcome
from credsync.connectors.ldap import LdapConnector
from credsync.testing.slapd import LdapOu, SlapdFacts, SlapdServer
from credsync.types import Secret

TARGET_RATIO = 0.80


def bare_connection(facts: SlapdFacts, user: str | None = None, pw: str | None = None) -> Any:
    """A plain ldap3 LDAPS connection as one would write it by hand (CA checked; name checked by
    ldap3's own ``valid_names``), ``get_info=NONE``."""
    tls = Tls(
        validate=ssl.CERT_REQUIRED, ca_certs_file=str(facts.ca_file), valid_names=["127.0.0.1"]
    )
    server = Server(facts.host, port=facts.ldaps_port, use_ssl=True, tls=tls, get_info=NONE)
    conn = Connection(server, user, pw, raise_exceptions=False)
    conn.open()
    conn.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as the connector does
    if user:
        assert conn.bind(), conn.result
    return conn


def make_users(world: LdapOu, count: int) -> list[tuple[str, str]]:
    """``count`` accounts with a password: [(dn, password)]."""
    conn = world.admin.conn
    users = []
    started = time.perf_counter()
    for i in range(count):
        name = f"b{i:05d}{uuid.uuid4().hex[:6]}"
        dn = f"uid={name},{world.dn}"
        password = f"Bench-{uuid.uuid4().hex[:10]}-9"
        attrs = {"uid": name, "cn": name, "sn": name, "userPassword": password}
        conn.add(dn, ["inetOrgPerson"], attrs)
        users.append((dn, password))
    took = time.perf_counter() - started
    print(f"made {count} accounts in {took:.1f} s ({count / took:.0f}/s)")
    return users


def rate(n: int, fn: Callable[[], None]) -> float:
    return n / c.timed(fn)


Pair = tuple[Callable[[], None], Callable[[], None]]


def bench_verify(
    facts: SlapdFacts, conn: LdapConnector, accounts: Sequence[tuple[Account, str]]
) -> Pair:
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

    return through_connector, bare_loop


def new_password() -> str:
    return f"Set-{uuid.uuid4().hex[:12]}-1"


def bench_set(
    facts: SlapdFacts, conn: LdapConnector, accounts: Sequence[tuple[Account, str]]
) -> tuple[Pair, Callable[[], None]]:
    options = PasswordOptions()

    def through_connector() -> None:
        async def go() -> None:
            for account, _ in accounts:
                after = await conn.set_password(account, Secret(new_password()), options)
                assert after.password_stamp

        asyncio.run(go())

    bare = bare_connection(facts, facts.bind_dn, facts.bind_password)

    def bare_loop() -> None:
        for account, _ in accounts:
            assert bare.extend.standard.modify_password(account.dn, new_password=new_password())
            assert bare.search(account.dn, "(objectClass=*)", BASE, attributes=["pwdChangedTime"])

    def exop_only() -> None:
        for account, _ in accounts:
            assert bare.extend.standard.modify_password(account.dn, new_password=new_password())

    return (through_connector, bare_loop), exop_only


def compare(name: str, n: int, pair: Pair, rounds: int, verdicts: c.Verdicts) -> list[object]:
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
    c.header("ldap_connector: verify and set password against OpenLDAP", args.quick)
    c.time_limit(args.time_limit)
    verdicts = c.Verdicts("ldap_connector")
    server = SlapdServer()
    facts = server.start()
    world = LdapOu.create(facts, prefix="bench")
    rows = []
    try:
        passwords = dict(make_users(world, args.accounts))
        conn = LdapConnector(world.config(options={"page_size": "1000"}))

        async def listed() -> list[Account]:
            return [a async for a in conn.iter_accounts()]

        accounts = [(a, passwords[a.dn or ""]) for a in asyncio.run(listed())]
        assert len(accounts) == args.accounts, len(accounts)
        rows.append(
            compare("verify_password", len(accounts), bench_verify(facts, conn, accounts),
                    args.rounds, verdicts)
        )  # fmt: skip
        some = accounts[: args.sets]
        pair, exop_only = bench_set(facts, conn, some)
        rows.append(compare("set_password", len(some), pair, args.rounds, verdicts))
        alone = max(rate(len(some), exop_only) for _ in range(args.rounds))
        verdicts.figures["password_modify_alone_per_s"] = round(alone, 1)
        asyncio.run(conn.close())
        print()
        print(
            c.table(
                ["operation", "accounts", "connector /s", "bare ldap3 /s", "ratio"],
                rows,
                title=f"best of {args.rounds} round(s), one call after another",
            )
        )
        connector_sets = verdicts.figures["set_password"]["connector_per_s"]
        print(
            f"(Password Modify alone, without reading the new pwdChangedTime back: {alone:.0f}/s;"
            f" the connector's set_password is {connector_sets / alone:.0%} of that)"
        )
    except c.Deadline as err:
        verdicts.check(False, str(err))
    finally:
        world.close()
        server.stop()
    return verdicts.report()


if __name__ == "__main__":
    sys.exit(main())
