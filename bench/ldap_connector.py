"""The LDAP connector against OpenLDAP (slapd), compared with bare ldap3 loops.

    python bench/ldap_connector.py [--quick] [--accounts N] [--sets N] [--rounds N]

Starts a slapd of its own (``scripts/slapd``: ppolicy, syncprov, its own CA; stopped and
removed at the end) and makes N accounts (default 2,000) in an OU there. Then, one call after
another:

1. ``verify_password`` over the N accounts through the connector (a bind as each user with
   the password policy control, on the connector's own connections in the event loop: see
   ``connectors/_ldap_wire.py``) against a bare ldap3 loop in this process: one LDAPS
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
alternating too); each side's best round counts. (What this shares with ``ad_connector.py``:
``_ldap.py``.)
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import Callable
from typing import Any

from ldap3 import BASE

import _common as c
import _ldap
from credsync.connectors.base import PasswordOptions
from credsync.connectors.ldap import LdapConnector
from credsync.testing.slapd import LdapOu, SlapdFacts, SlapdServer
from credsync.types import Secret


def bare_connection(facts: SlapdFacts, user: str | None = None, pw: str | None = None) -> Any:
    return _ldap.bare_connection(facts.host, facts.ldaps_port, facts.ca_file, "127.0.0.1", user, pw)


def make_users(world: LdapOu, count: int) -> dict[str, str]:
    """``count`` accounts with a password: {dn: password}."""

    def entry(name: str, password: str) -> tuple[str, list[str], dict[str, Any]]:
        attributes = {"uid": name, "cn": name, "sn": name, "userPassword": password}
        return f"uid={name},{world.dn}", ["inetOrgPerson"], attributes

    return _ldap.make_users(world.admin.conn, count, entry)


def new_password() -> str:
    return f"Set-{uuid.uuid4().hex[:12]}-1"


def bench_set(
    facts: SlapdFacts, conn: LdapConnector, accounts: _ldap.Accounts
) -> tuple[_ldap.Pair, Callable[[], None]]:
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


def main() -> int:
    args = _ldap.arguments(__doc__)
    c.header("ldap_connector: verify and set password against OpenLDAP", args.quick)
    c.time_limit(args.time_limit)
    verdicts = c.Verdicts("ldap_connector")
    server = SlapdServer()
    facts = server.start()
    world = LdapOu.create(facts, prefix="bench")
    rows = []
    try:
        passwords = make_users(world, args.accounts)
        conn = LdapConnector(world.config(options={"page_size": "1000"}))
        accounts = _ldap.listed(conn, passwords)
        verify = _ldap.bench_verify(conn, accounts, bare_connection(facts))
        rows.append(_ldap.compare("verify_password", len(accounts), verify, args.rounds, verdicts))
        some = accounts[: args.sets]
        pair, exop_only = bench_set(facts, conn, some)
        rows.append(_ldap.compare("set_password", len(some), pair, args.rounds, verdicts))
        alone = max(_ldap.rate(len(some), exop_only) for _ in range(args.rounds))
        verdicts.figures["password_modify_alone_per_s"] = round(alone, 1)
        asyncio.run(conn.close())
        _ldap.print_table(rows, args.rounds)
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
