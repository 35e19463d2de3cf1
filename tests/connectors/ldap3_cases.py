"""Tests both LDAP-speaking connectors pass against their real servers (AD on the Samba DC, LDAP
on the session's slapd), beyond the conformance suite: the ``ldap://`` URL with StartTLS, and
calls made all at once. A kind's test module runs them by subclassing :class:`Ldap3Cases` with
a ``world`` fixture (its :class:`~.ldap3_world.Ldap3World`)."""

from __future__ import annotations

import asyncio
from typing import Any

from credsync.connectors.base import (
    Connector,
    PasswordOptions,
    StepOutcome,
    TestStep,
    VerifyOutcome,
)
from credsync.testing.conformance import run, strong_password
from credsync.types import Secret

from .ldap3_world import Ldap3World


def named_steps(conn: Connector) -> dict[str, TestStep]:
    """The test_connection steps of ``conn`` by name (``conn`` closed afterwards)."""
    try:
        return {s.name: s for s in run(conn.test_connection())}
    finally:
        run(conn.close())


def all_ok(found: dict[str, TestStep]) -> bool:
    return all(s.outcome is StepOutcome.OK for s in found.values())


class Ldap3Cases:
    """Subclass and provide a ``world`` fixture (see the module docstring)."""

    def test_starttls_on_ldap_url(self, world: Ldap3World) -> None:
        url = world.ou.facts.ldap_url
        found = named_steps(world.connector(url=url))
        assert all_ok(found), found
        assert found["tls"].detail.startswith("StartTLS")
        user = world.create_user()
        conn = world.connector(url=url)
        try:
            account = run(conn.get_account(user.id))
            result = run(conn.verify_password(account, Secret(user.password)))
            assert result.outcome is VerifyOutcome.OK
        finally:
            run(conn.close())

    def test_concurrent_calls_are_serialised_per_connection(self, world: Ldap3World) -> None:
        users = [world.create_user() for _ in range(4)]
        conn = world.connector()

        async def many() -> list[Any]:
            accounts = await asyncio.gather(*(conn.get_account(u.id) for u in users))
            checks = [
                conn.verify_password(a, Secret(u.password))
                for a, u in zip(accounts, users, strict=True)
                for _ in range(5)
            ]
            sets = [
                conn.set_password(a, Secret(strong_password()), PasswordOptions())
                for a in accounts[:2]
            ]
            reads = [conn.get_account(u.id) for u in users]
            return list(await asyncio.gather(*checks, *sets, *reads))

        try:
            results = run(many())
            verdicts = [r.outcome for r in results[:20]]
            # The two accounts whose password was reset meanwhile may answer either way.
            assert verdicts[10:] == [VerifyOutcome.OK] * 10
            assert all(v in (VerifyOutcome.OK, VerifyOutcome.WRONG_PASSWORD) for v in verdicts[:10])
            assert [a.id for a in results[22:]] == [u.id for u in users]
        finally:
            run(conn.close())
