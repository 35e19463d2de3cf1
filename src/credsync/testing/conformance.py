"""The conformance suite every connector kind passes (as meltano's SDK test factory does).

A kind's tests subclass :class:`ConnectorConformance` and provide a ``conn_world`` fixture
yielding a :class:`ConnectorWorld` for that kind's real (or simulated) directory: the AD
connector runs it against the Samba DC (``tests/connectors/ad/test_conformance.py``), the Graph
connector against the Graph simulator. Each world creates its objects in a place of its own
and removes them afterwards. Operations a kind's world cannot do are left out of
``ConnectorWorld.supports``; the tests that need them are skipped *for that kind only*, and
say so. A kind that cannot verify passwords (no ``VERIFY_BIND``) is held to saying so instead:
each verify test checks its NotSupported answer.

A new connector package runs it from its own tests, with pytest (this module imports pytest:
only tests import it, never the product)::

    # tests/test_conformance.py of the new kind's package
    import pytest
    from credsync.testing.conformance import ConnectorConformance, WorldUser

    class LdapWorld:  # a ConnectorWorld: supports, auth_step, create_user, connector, ...
        ...

    class TestLdapConformance(ConnectorConformance):
        @pytest.fixture
        def conn_world(self, slapd_ou):  # the kind's real directory, one place per test
            return LdapWorld(slapd_ou)

        def policy_words(self) -> str:
            return "Password fails quality checking policy"  # the directory's own words

For pytest's detailed assertion messages in these tests, register the module before it is
imported (in the package's ``conftest.py``):
``pytest.register_assert_rewrite("credsync.testing.conformance")``.

Tests call the async connector through ``asyncio.run`` (one event loop per call), so the
suite needs no pytest plugin.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import pytest

from credsync.connectors.base import (
    Account,
    Capability,
    ChangeSet,
    Connector,
    PasswordOptions,
    StepOutcome,
    TestStep,
    VerifyOutcome,
)
from credsync.errors import (
    AccountNotFound,
    DirectoryTlsError,
    DirectoryUnreachable,
    NotSupported,
    PolicyRejected,
)
from credsync.types import Secret

__all__ = [
    "WEAK_PASSWORD",
    "ConnectorConformance",
    "ConnectorWorld",
    "WorldUser",
    "run",
    "strong_password",
]

T = TypeVar("T")


def run(awaitable: Awaitable[T]) -> T:
    """The awaitable's result, in an event loop of its own."""

    async def go() -> T:
        return await awaitable

    return asyncio.run(go())


@dataclass(frozen=True)
class WorldUser:
    id: str  # the stable id the connector reports (objectGUID, Graph id)
    username: str
    password: str


class ConnectorWorld(Protocol):
    """What a kind's test world must offer the suite."""

    #: operations this world can do: "disable", "delete", "expire", "lock_out", "reset"
    supports: frozenset[str]
    #: the name of test_connection()'s step that authenticates ("bind" for LDAP)
    auth_step: str

    def create_user(self, password: str | None = None) -> WorldUser: ...
    def reset_password(self, user: WorldUser, password: str) -> None: ...
    def disable(self, user: WorldUser) -> None: ...
    def delete(self, user: WorldUser) -> None: ...
    def expire(self, user: WorldUser) -> None: ...
    def lock_out(self, user: WorldUser) -> None: ...
    def connector(self, **config_changes: Any) -> Connector:
        """A connector on this world's directory and scope; ``config_changes`` replace
        DirectoryConfig fields (``bind_password``, ``ca_file``, ``url``...)."""
        ...

    def wrong_ca_file(self) -> Any: ...
    def unreachable_url(self) -> str: ...


def strong_password() -> str:
    """A password any directory's policy takes, new each time."""
    return f"Cs-{uuid.uuid4().hex[:12]}-Q7!"


WEAK_PASSWORD = "abc"  # too short for any directory's policy


class ConnectorConformance:
    """Subclass and provide a ``conn_world`` fixture (see the module docstring)."""

    @pytest.fixture
    def conn(self, conn_world: ConnectorWorld) -> Iterator[Connector]:
        connector = conn_world.connector()
        try:
            yield connector
        finally:
            run(connector.close())

    @staticmethod
    def needs(world: ConnectorWorld, operation: str) -> None:
        if operation not in world.supports:
            pytest.skip(f"this kind's world cannot {operation}")

    @staticmethod
    @contextmanager
    def closing(connector: Connector) -> Iterator[Connector]:
        try:
            yield connector
        finally:
            run(connector.close())

    # --- reading ----------------------------------------------------------------------------
    def test_declares_itself(self, conn: Connector) -> None:
        assert isinstance(conn, Connector)
        assert conn.kind
        assert Capability.PASSWORD_TIMESTAMP in conn.capabilities or conn.capabilities

    def test_iter_accounts_finds_created_users(
        self, conn_world: ConnectorWorld, conn: Connector
    ) -> None:
        users = [conn_world.create_user() for _ in range(3)]

        async def collect() -> list[Account]:
            return [a async for a in conn.iter_accounts()]

        accounts = {a.id: a for a in run(collect())}
        for user in users:
            account = accounts[user.id]
            assert account.username.casefold() == user.username.casefold()
            assert user.username.casefold() in account.names()
            assert account.enabled
            assert not account.locked_out
            assert not account.password_expired
            assert account.password_stamp
            assert account.password_changed_at is not None
            assert account.password_changed_at.tzinfo is not None

    def test_get_account_and_not_found_after_delete(
        self, conn_world: ConnectorWorld, conn: Connector
    ) -> None:
        user = conn_world.create_user()
        account = run(conn.get_account(user.id))
        assert account.id == user.id
        assert account.username.casefold() == user.username.casefold()
        self.needs(conn_world, "delete")
        conn_world.delete(user)
        with pytest.raises(AccountNotFound):
            run(conn.get_account(user.id))

    def test_get_account_of_unknown_id(self, conn: Connector) -> None:
        with pytest.raises(AccountNotFound):
            run(conn.get_account(str(uuid.uuid4())))

    # --- verify -----------------------------------------------------------------------------
    def _verify(self, conn: Connector, user: WorldUser, password: str) -> Any:
        account = run(conn.get_account(user.id))
        return run(conn.verify_password(account, Secret(password)))

    @staticmethod
    def refuses_verify(conn: Connector, user: WorldUser) -> bool:
        """A kind that cannot verify passwords (no VERIFY_BIND) says so, naming why, for any
        account (NotSupported, never a guess): True then, and a verify test ends there."""
        if Capability.VERIFY_BIND in conn.capabilities:
            return False
        account = run(conn.get_account(user.id))
        with pytest.raises(NotSupported) as refused:
            run(conn.verify_password(account, Secret(user.password)))
        assert str(refused.value)
        return True

    def test_verify_right_and_wrong(self, conn_world: ConnectorWorld, conn: Connector) -> None:
        user = conn_world.create_user()
        if self.refuses_verify(conn, user):
            return
        assert self._verify(conn, user, user.password).outcome is VerifyOutcome.OK
        wrong = self._verify(conn, user, user.password + "x")
        assert wrong.outcome is VerifyOutcome.WRONG_PASSWORD
        assert wrong.detail  # the directory's own words

    def test_verify_disabled(self, conn_world: ConnectorWorld, conn: Connector) -> None:
        self.needs(conn_world, "disable")
        user = conn_world.create_user()
        conn_world.disable(user)
        if self.refuses_verify(conn, user):
            return
        assert not run(conn.get_account(user.id)).enabled
        result = self._verify(conn, user, user.password)
        assert result.outcome is VerifyOutcome.ACCOUNT_DISABLED
        assert result.detail

    def test_verify_expired(self, conn_world: ConnectorWorld, conn: Connector) -> None:
        self.needs(conn_world, "expire")
        user = conn_world.create_user()
        conn_world.expire(user)
        account = run(conn.get_account(user.id))
        assert account.password_expired
        assert account.must_change_password
        if self.refuses_verify(conn, user):
            return
        result = self._verify(conn, user, user.password)
        assert result.outcome is VerifyOutcome.PASSWORD_EXPIRED

    def test_verify_locked_out(self, conn_world: ConnectorWorld, conn: Connector) -> None:
        user = conn_world.create_user()
        if self.refuses_verify(conn, user):
            return  # nothing of a lockout to check where no password is verified
        self.needs(conn_world, "lock_out")
        conn_world.lock_out(user)
        assert run(conn.get_account(user.id)).locked_out
        result = self._verify(conn, user, user.password)
        assert result.outcome is VerifyOutcome.LOCKED_OUT

    # --- set --------------------------------------------------------------------------------
    def test_set_password_then_verify(self, conn_world: ConnectorWorld, conn: Connector) -> None:
        if Capability.SET_PASSWORD not in conn.capabilities:
            pytest.skip("this kind cannot set passwords")
        user = conn_world.create_user()
        before = run(conn.get_account(user.id))
        new = strong_password()
        after = run(conn.set_password(before, Secret(new), PasswordOptions()))
        assert after.id == user.id
        assert after.password_stamp != before.password_stamp
        assert not after.must_change_password
        if Capability.VERIFY_BIND in conn.capabilities:
            assert run(conn.verify_password(after, Secret(new))).outcome is VerifyOutcome.OK
            old = run(conn.verify_password(after, Secret(user.password)))
            assert old.outcome is VerifyOutcome.WRONG_PASSWORD

    def test_set_password_must_change(self, conn_world: ConnectorWorld, conn: Connector) -> None:
        if Capability.SET_PASSWORD not in conn.capabilities:
            pytest.skip("this kind cannot set passwords")
        user = conn_world.create_user()
        account = run(conn.get_account(user.id))
        after = run(conn.set_password(account, Secret(strong_password()), PasswordOptions(True)))
        assert after.must_change_password
        assert after.password_expired

    def test_policy_rejection_is_verbatim(
        self, conn_world: ConnectorWorld, conn: Connector
    ) -> None:
        if Capability.SET_PASSWORD not in conn.capabilities:
            pytest.skip("this kind cannot set passwords")
        user = conn_world.create_user()
        account = run(conn.get_account(user.id))
        with pytest.raises(PolicyRejected) as caught:
            run(conn.set_password(account, Secret(WEAK_PASSWORD), PasswordOptions()))
        message = str(caught.value)
        assert WEAK_PASSWORD not in message.split(":")[-1].split()  # never the secret
        assert self.policy_words() in message

    def policy_words(self) -> str:
        """A phrase of the directory's own rejection message (kinds override)."""
        return ""

    # --- changes ----------------------------------------------------------------------------
    def test_changes_full_then_incremental(
        self, conn_world: ConnectorWorld, conn: Connector
    ) -> None:
        if Capability.CHANGES not in conn.capabilities:
            pytest.skip("this kind has no incremental reads")
        quiet, changing, leaving = (conn_world.create_user() for _ in range(3))
        first: ChangeSet = run(conn.changes_since(None))
        assert first.full
        ids = {a.id for a in first.changed}
        assert {quiet.id, changing.id, leaving.id} <= ids
        stamp = {a.id: a.password_stamp for a in first.changed}

        nothing = run(conn.changes_since(first.cursor))
        assert not nothing.full
        assert quiet.id not in {a.id for a in nothing.changed}

        self.needs(conn_world, "reset")
        conn_world.reset_password(changing, strong_password())
        second = run(conn.changes_since(nothing.cursor))
        assert not second.full
        changed = {a.id: a for a in second.changed}
        assert changing.id in changed
        assert quiet.id not in changed
        assert changed[changing.id].password_stamp != stamp[changing.id]

        self.needs(conn_world, "delete")
        conn_world.delete(leaving)
        third = run(conn.changes_since(second.cursor))
        assert leaving.id in third.removed
        assert quiet.id not in {a.id for a in third.changed}

    def test_foreign_cursor_gives_full_read(self, conn: Connector) -> None:
        if Capability.CHANGES not in conn.capabilities:
            pytest.skip("this kind has no incremental reads")
        result = run(conn.changes_since("not-a-cursor-of-ours"))
        assert result.full
        assert result.cursor

    # --- test_connection --------------------------------------------------------------------
    def test_connection_all_ok(self, conn: Connector) -> None:
        steps = run(conn.test_connection())
        assert steps
        assert all(s.outcome is StepOutcome.OK for s in steps), steps

    def _step(self, steps: list[TestStep], name: str) -> TestStep:
        return next(s for s in steps if s.name == name)

    def _after_failure_skipped(self, steps: list[TestStep], name: str) -> None:
        names = [s.name for s in steps]
        for later in steps[names.index(name) + 1 :]:
            assert later.outcome is StepOutcome.SKIPPED

    def test_wrong_bind_secret(self, conn_world: ConnectorWorld) -> None:
        secret = "Wrong-" + uuid.uuid4().hex
        with self.closing(conn_world.connector(bind_password=Secret(secret))) as conn:
            steps = run(conn.test_connection())
            step = self._step(steps, conn_world.auth_step)
            assert step.outcome is StepOutcome.FAILED
            assert step.detail
            self._after_failure_skipped(steps, conn_world.auth_step)
            assert secret not in repr(steps)

    def test_wrong_ca(self, conn_world: ConnectorWorld) -> None:
        with self.closing(conn_world.connector(ca_file=conn_world.wrong_ca_file())) as conn:
            steps = run(conn.test_connection())
            tls = self._step(steps, "tls")
            assert tls.outcome is StepOutcome.FAILED
            assert tls.detail
            self._after_failure_skipped(steps, "tls")
            with pytest.raises(DirectoryTlsError):
                run(conn.get_account(str(uuid.uuid4())))

    def test_unreachable(self, conn_world: ConnectorWorld) -> None:
        with self.closing(conn_world.connector(url=conn_world.unreachable_url())) as conn:
            steps = run(conn.test_connection())
            assert steps[0].outcome is StepOutcome.FAILED
            self._after_failure_skipped(steps, steps[0].name)
            with pytest.raises(DirectoryUnreachable):
                run(conn.get_account(str(uuid.uuid4())))

    def test_no_secret_in_repr_or_errors(self, conn_world: ConnectorWorld) -> None:
        secret = "Sekrit-" + uuid.uuid4().hex
        with self.closing(conn_world.connector(bind_password=Secret(secret))) as conn:
            assert secret not in repr(conn)
            with pytest.raises(Exception) as caught:  # noqa: PT011 - any error, checked below
                run(conn.get_account(str(uuid.uuid4())))
            seen = [caught.value, caught.value.__cause__, caught.value.__context__]
            for exc in seen:
                assert secret not in repr(exc)
                assert secret not in str(exc)
