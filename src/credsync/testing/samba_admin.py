"""Building and inspecting test worlds on the Samba AD DC of :mod:`credsync.testing.samba`,
as its administrator: OUs (one per test), users and groups, password resets and changes,
account states, and lockout through fine-grained password policies (see that module's
docstring for how tests share the DC). TEST-ONLY: nothing here is used by the product.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ldap3 import BASE, MODIFY_ADD, MODIFY_DELETE, MODIFY_REPLACE, NONE, SUBTREE, Connection, Server
from ldap3.core.exceptions import (
    LDAPCommunicationError,
    LDAPSessionTerminatedByServerError,
    LDAPSocketOpenError,
    LDAPSocketReceiveError,
)

from credsync.connectors._tls import ContextTls, make_context

if TYPE_CHECKING:
    from credsync.connectors.base import DirectoryConfig
    from credsync.testing.samba import SambaFacts

__all__ = ["OuWorld", "SambaAdmin", "TestUser"]

TREE_DELETE = "1.2.840.113556.1.4.805"
UF_NORMAL_ACCOUNT = 0x200
UF_ACCOUNTDISABLE = 0x2
# 100-ns intervals, negative as AD stores durations.
_SECOND = -10_000_000


@dataclass(frozen=True)
class TestUser:
    """A user made by :meth:`SambaAdmin.create_user` (test-only password kept in clear)."""

    __test__ = False  # not a pytest test class

    dn: str
    name: str  # sAMAccountName
    upn: str
    guid: str
    password: str = field(repr=False)


def _quoted(password: str) -> bytes:
    return f'"{password}"'.encode("utf-16-le")


class SambaAdmin:
    """Builds and inspects test worlds on the DC as its administrator (LDAPS, CA trusted,
    certificate name checked). Not thread-safe; one per test is cheap (~10 ms)."""

    def __init__(self, facts: SambaFacts) -> None:
        self.facts = facts
        self._psos: list[str] = []
        self.conn = self._connect(facts.admin_upn, facts.admin_password)

    def _server(self) -> Server:
        config = self.facts.directory_config()
        return Server(
            self.facts.host,
            port=636,
            use_ssl=True,
            tls=ContextTls(make_context(config), self.facts.tls_server_name),
            get_info=NONE,
            connect_timeout=10,
        )

    def _connect(self, user: str, password: str) -> Connection:
        conn = Connection(self._server(), user, password, raise_exceptions=True, receive_timeout=30)
        try:
            conn.bind()
        except BaseException:
            conn.unbind()  # closes the socket of a failed bind too
            raise
        finally:
            conn.password = None
        return conn

    def close(self) -> None:
        for dn in self._psos:
            self.delete_tree(dn)
        self._psos.clear()
        self.conn.unbind()

    def __enter__(self) -> SambaAdmin:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- OUs ---------------------------------------------------------------------------------
    def new_ou(self, prefix: str = "t") -> str:
        """A new OU with a unique name directly under the domain; returns its DN."""
        dn = f"OU={prefix}-{uuid.uuid4().hex[:12]},{self.facts.base_dn}"
        self.conn.add(dn, ["organizationalUnit"])
        return dn

    def delete_tree(self, dn: str, *, patience: float = 600.0) -> None:
        """Delete ``dn`` and everything under it (tree delete control); no error if absent.
        A large tree (thousands of users) can outlast the read timeout: Samba goes on
        deleting, so wait (on a new connection) until it is gone."""
        try:
            present = self._exists(dn)
        except LDAPCommunicationError:
            # A connection idle past Samba's limit (MaxConnIdleTime, 15 minutes: a session's
            # fixture cleaned up at its end) has been ended by the DC: go on over a new one.
            self._reconnect()
            present = self._exists(dn)
        if not present:
            return
        try:
            self.conn.delete(dn, controls=[(TREE_DELETE, True, None)])
            return
        except (LDAPSocketReceiveError, LDAPSessionTerminatedByServerError):
            pass  # a read timeout, or the DC ending the session while it deletes (10,000 users)
        deadline = time.monotonic() + patience
        while True:
            try:  # Samba (one process) may not even answer a handshake while it deletes
                self._reconnect()
                if not self._exists(dn):
                    return
            except (LDAPSocketOpenError, LDAPSocketReceiveError):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{dn} was still there {patience:.0f} s after its delete")
            time.sleep(2.0)

    def _reconnect(self) -> None:
        with contextlib.suppress(Exception):  # the old one is gone already; close its socket
            self.conn.unbind()
        self.conn = self._connect(self.facts.admin_upn, self.facts.admin_password)

    def _exists(self, dn: str) -> bool:
        conn = self.conn
        conn.raise_exceptions = False
        try:
            conn.search(dn, "(objectClass=*)", BASE, attributes=["1.1"])
            return conn.result["result"] == 0 and bool(conn.response)
        finally:
            conn.raise_exceptions = True

    # --- users -------------------------------------------------------------------------------
    def create_user(
        self,
        ou: str,
        name: str | None = None,
        password: str | None = None,
        *,
        enabled: bool = True,
        display_name: str | None = None,
    ) -> TestUser:
        """A user in ``ou`` with a password (AD-complex by default) and a UPN, enabled unless
        told otherwise. The name defaults to a unique ``u<hex>`` (sAMAccountName <= 20)."""
        name = name or f"u{uuid.uuid4().hex[:12]}"
        password = password or f"Pw-{uuid.uuid4().hex[:10]}-X9"
        upn = f"{name}@{self.facts.realm.lower()}"
        dn = f"CN={name},{ou}"
        attrs: dict[str, Any] = {"sAMAccountName": name, "userPrincipalName": upn}
        if display_name:
            attrs["displayName"] = display_name
        self.conn.add(dn, ["user"], attrs)
        self.conn.modify(dn, {"unicodePwd": [(MODIFY_REPLACE, [_quoted(password)])]})
        uac = UF_NORMAL_ACCOUNT | (0 if enabled else UF_ACCOUNTDISABLE)
        self.conn.modify(dn, {"userAccountControl": [(MODIFY_REPLACE, [str(uac)])]})
        return TestUser(dn=dn, name=name, upn=upn, guid=self.guid(dn), password=password)

    def create_group(self, ou: str, name: str | None = None) -> str:
        """A global security group in ``ou``; returns its DN. ``name`` is its CN (unique in the
        OU); its sAMAccountName, unique in the whole domain that every test shares, always gets a
        unique suffix, so two tests (or workers) may each make a group "Research"."""
        sam = f"g{uuid.uuid4().hex[:12]}"
        name = name or sam
        dn = f"CN={name},{ou}"
        self.conn.add(
            dn,
            ["group"],
            {"sAMAccountName": sam if name == sam else f"{name[:6].replace(' ', '_')}-{sam}"},
        )
        return dn

    def add_member(self, group_dn: str, member_dn: str) -> None:
        """Put a user or a group (nested membership) into ``group_dn``."""
        self.conn.modify(group_dn, {"member": [(MODIFY_ADD, [member_dn])]})

    def rename(self, dn: str, sam: str) -> None:
        """A new sAMAccountName (the DN and objectGUID stay)."""
        self.conn.modify(dn, {"sAMAccountName": [(MODIFY_REPLACE, [sam])]})

    def guid(self, dn: str) -> str:
        raw = self._read(dn, ["objectGUID"])["objectGUID"][0]
        return str(uuid.UUID(bytes_le=bytes(raw)))

    def reset_password(self, dn: str, password: str) -> None:
        """An administrative reset, out of band (as a helpdesk would do it)."""
        self.conn.modify(dn, {"unicodePwd": [(MODIFY_REPLACE, [_quoted(password)])]})

    def change_password_as_user(self, dn: str, old: str, new: str) -> None:
        """The user changes their own password (delete old value, add new), bound as them."""
        conn = self._connect(dn, old)
        try:
            conn.modify(
                dn,
                {
                    "unicodePwd": [
                        (MODIFY_DELETE, [_quoted(old)]),
                        (MODIFY_ADD, [_quoted(new)]),
                    ]
                },
            )
        finally:
            conn.unbind()

    def _set_uac_bits(self, dn: str, *, set_bits: int = 0, clear_bits: int = 0) -> None:
        uac = int(self._read(dn, ["userAccountControl"])["userAccountControl"][0])
        uac = (uac | set_bits) & ~clear_bits
        self.conn.modify(dn, {"userAccountControl": [(MODIFY_REPLACE, [str(uac)])]})

    def disable(self, dn: str) -> None:
        self._set_uac_bits(dn, set_bits=UF_ACCOUNTDISABLE)

    def enable(self, dn: str) -> None:
        self._set_uac_bits(dn, clear_bits=UF_ACCOUNTDISABLE)

    def delete(self, dn: str) -> None:
        self.conn.delete(dn)

    def move(self, dn: str, new_parent: str) -> str:
        rdn = dn.split(",", 1)[0]
        self.conn.modify_dn(dn, rdn, new_superior=new_parent)
        return f"{rdn},{new_parent}"

    def expire_password(self, dn: str) -> None:
        """ "Must change password at next logon": pwdLastSet = 0 (binds answer data 773)."""
        self.conn.modify(dn, {"pwdLastSet": [(MODIFY_REPLACE, ["0"])]})

    def unexpire_password(self, dn: str) -> None:
        self.conn.modify(dn, {"pwdLastSet": [(MODIFY_REPLACE, ["-1"])]})

    def expire_account(self, dn: str) -> None:
        """accountExpires in the past (binds with the right password answer data 701)."""
        self.conn.modify(dn, {"accountExpires": [(MODIFY_REPLACE, ["116444736010000000"])]})

    # --- lockout -----------------------------------------------------------------------------
    def set_domain_lockout_policy(
        self, threshold: int, duration_s: int = 300, window_s: int = 300
    ) -> None:
        """Domain-wide lockout policy: affects EVERY test session on this DC."""
        self.conn.modify(
            self.facts.base_dn,
            {
                "lockoutThreshold": [(MODIFY_REPLACE, [str(threshold)])],
                "lockoutDuration": [(MODIFY_REPLACE, [str(duration_s * _SECOND)])],
                "lockOutObservationWindow": [(MODIFY_REPLACE, [str(window_s * _SECOND)])],
            },
        )

    def clear_domain_lockout_policy(self) -> None:
        self.conn.modify(self.facts.base_dn, {"lockoutThreshold": [(MODIFY_REPLACE, ["0"])]})

    def apply_lockout_policy(self, dn: str, threshold: int = 3, duration_s: int = 600) -> str:
        """A fine-grained password policy (PSO) with a lockout threshold for this one user
        (removed by :meth:`close`); returns the PSO's DN."""
        pso = (
            f"CN=pso-{uuid.uuid4().hex[:12]},CN=Password Settings Container,CN=System,"
            f"{self.facts.base_dn}"
        )
        self.conn.add(
            pso,
            ["msDS-PasswordSettings"],
            {
                "msDS-PasswordSettingsPrecedence": "1",
                "msDS-PasswordReversibleEncryptionEnabled": "FALSE",
                "msDS-PasswordHistoryLength": "0",
                "msDS-PasswordComplexityEnabled": "TRUE",
                "msDS-MinimumPasswordLength": "7",
                "msDS-MinimumPasswordAge": "0",
                "msDS-MaximumPasswordAge": str(3650 * 86400 * _SECOND),
                "msDS-LockoutThreshold": str(threshold),
                "msDS-LockoutObservationWindow": str(duration_s * _SECOND),
                "msDS-LockoutDuration": str(duration_s * _SECOND),
                "msDS-PSOAppliesTo": dn,
            },
        )
        self._psos.append(pso)
        return pso

    def bad_binds(self, dn: str, count: int) -> None:
        """``count`` binds as ``dn`` with a wrong password (each one raises badPwdCount)."""
        conn = Connection(self._server(), raise_exceptions=False, receive_timeout=30)
        conn.open()
        try:
            for i in range(count):
                conn.rebind(dn, f"wrong-password-{i}")
        except Exception:  # noqa: S110 - ldap3 raises on a failed rebind; that's the point
            pass
        finally:
            conn.password = None
            conn.unbind()

    def lock_out(self, dn: str, threshold: int = 3) -> None:
        """Lock the account out: a PSO for it with ``threshold``, then that many bad binds."""
        self.apply_lockout_policy(dn, threshold)
        for _ in range(threshold):
            self.bad_binds(dn, 1)
        if not self.account_state(dn)["lockoutTime"]:
            raise AssertionError(f"{dn} is not locked out after {threshold} bad binds")

    def unlock(self, dn: str) -> None:
        self.conn.modify(dn, {"lockoutTime": [(MODIFY_REPLACE, ["0"])]})

    # --- reading -----------------------------------------------------------------------------
    def _read(self, dn: str, attributes: Sequence[str]) -> dict[str, list[bytes]]:
        self.conn.search(dn, "(objectClass=*)", BASE, attributes=list(attributes))
        entry = self.conn.response[0]
        return {k: list(v) for k, v in entry["raw_attributes"].items()}

    def account_state(self, dn: str) -> dict[str, int]:
        """pwdLastSet, badPwdCount, lockoutTime, userAccountControl as integers (0 if unset)."""
        names = ["pwdLastSet", "badPwdCount", "lockoutTime", "userAccountControl"]
        raw = self._read(dn, names)
        return {n: int(raw[n][0]) if raw.get(n) else 0 for n in names}

    def users_under(self, dn: str) -> list[str]:
        self.conn.search(dn, "(&(objectClass=user)(!(objectClass=computer)))", SUBTREE)
        return [e["dn"] for e in self.conn.response if e.get("type") == "searchResEntry"]


@dataclass
class OuWorld:
    """One test's corner of the DC: a fresh OU, the admin helper, and the DC's facts."""

    dn: str
    admin: SambaAdmin
    facts: SambaFacts

    @classmethod
    def create(cls, facts: SambaFacts, prefix: str = "t") -> OuWorld:
        admin = SambaAdmin(facts)
        return cls(admin.new_ou(prefix), admin, facts)

    def create_user(
        self, name: str | None = None, password: str | None = None, **kw: Any
    ) -> TestUser:
        return self.admin.create_user(self.dn, name, password, **kw)

    def config(self, **changes: Any) -> DirectoryConfig:
        """A DirectoryConfig scoped to this OU (``changes`` override any field)."""
        return self.facts.directory_config(**{"base_dn": self.dn, **changes})

    def close(self) -> None:
        """Delete the OU and everything in it, and the helper's PSOs."""
        try:
            self.admin.delete_tree(self.dn)
        finally:
            self.admin.close()
