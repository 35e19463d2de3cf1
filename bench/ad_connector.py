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
in an OU of their own, deleted at the end. (What this shares with ``ldap_connector.py``:
``_ldap.py``.)
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from typing import Any

from ldap3 import MODIFY_REPLACE

import _common as c
import _ldap
from credsync.connectors.ad import ActiveDirectoryConnector
from credsync.connectors.base import PasswordOptions
from credsync.testing.samba import OuWorld, SambaDC, SambaFacts
from credsync.types import Secret


def quoted(password: str) -> bytes:
    return f'"{password}"'.encode("utf-16-le")


def bare_connection(facts: SambaFacts, user: str | None = None, pw: str | None = None) -> Any:
    return _ldap.bare_connection(facts.host, 636, facts.ca_file, facts.tls_server_name, user, pw)


def make_users(world: OuWorld, count: int) -> dict[str, str]:
    """``count`` enabled users (password and flags set in the add itself): {dn: password}."""

    def entry(name: str, password: str) -> tuple[str, list[str], dict[str, Any]]:
        attributes = {
            "sAMAccountName": name,
            "unicodePwd": quoted(password),
            "userAccountControl": "512",
        }
        return f"CN={name},{world.dn}", ["user"], attributes

    return _ldap.make_users(world.admin.conn, count, entry)


def bench_verify(
    facts: SambaFacts, conn: ActiveDirectoryConnector, accounts: _ldap.Accounts
) -> _ldap.Pair:
    pair = _ldap.bench_verify(conn, accounts, bare_connection(facts))
    # Warm-up, not measured: a user's first successful bind makes Samba write (logon time,
    # bad-password count); whichever side went first would pay for those writes.
    pair[1]()
    return pair


def bench_set(
    facts: SambaFacts, conn: ActiveDirectoryConnector, accounts: _ldap.Accounts
) -> _ldap.Pair:
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


def main() -> int:
    args = _ldap.arguments(__doc__)
    c.header("ad_connector: verify and set password against Samba AD", args.quick)
    c.time_limit(args.time_limit)
    verdicts = c.Verdicts("ad_connector")
    dc = SambaDC()
    facts = dc.acquire()
    world = OuWorld.create(facts, prefix="bench")
    rows = []
    try:
        passwords = make_users(world, args.accounts)
        conn = ActiveDirectoryConnector(world.config())
        accounts = _ldap.listed(conn, passwords)
        rows.append(
            _ldap.compare("verify_password", len(accounts), bench_verify(facts, conn, accounts),
                          args.rounds, verdicts)
        )  # fmt: skip
        some = accounts[: args.sets]
        pair = bench_set(facts, conn, some)
        rows.append(_ldap.compare("set_password", len(some), pair, args.rounds, verdicts))
        asyncio.run(conn.close())
        _ldap.print_table(rows, args.rounds)
    except c.Deadline as err:
        verdicts.check(False, str(err))
    finally:
        world.close()
        dc.release()
    return verdicts.report()


if __name__ == "__main__":
    sys.exit(main())
