"""Building and inspecting test worlds on a slapd of :mod:`credsync.testing.slapd`, as its
rootdn: OUs, users, passwords reset as an administrator or changed as the user, locked,
disabled, expired, their own password policies. Test-only passwords, public in this
repository; nothing here is used by the product at run time."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ldap3 import BASE, LEVEL, MODIFY_REPLACE, NONE, SUBTREE, Connection, Server

from credsync.connectors._tls import ContextTls, make_context

if TYPE_CHECKING:
    from credsync.testing.slapd import SlapdFacts

__all__ = ["LOCKED_FOR_GOOD", "LdapUser", "SlapdAdmin"]

LOCKED_FOR_GOOD = "000001010000Z"  # pwdAccountLockedTime: locked until an administrator unlocks
RELAX = ("1.3.6.1.4.1.4203.666.5.12", True, None)  # lets the rootdn set pwdChangedTime & co.
PPOLICY = ("1.3.6.1.4.1.42.2.27.8.5.1", False, None)


@dataclass(frozen=True)
class LdapUser:
    """A user made by :meth:`SlapdAdmin.create_user` (test-only password kept in clear)."""

    dn: str
    name: str  # uid
    mail: str
    uuid: str  # entryUUID
    password: str = field(repr=False)


class SlapdAdmin:
    """Builds and inspects test worlds as the rootdn (LDAPS, the server's CA trusted, its
    name checked). Not thread-safe; one per test is cheap."""

    def __init__(self, facts: SlapdFacts) -> None:
        self.facts = facts
        self.conn = self._connect(facts.root_dn, facts.root_password)

    def _server(self) -> Server:
        context = make_context(self.facts.directory_config())
        return Server(
            self.facts.host,
            port=self.facts.ldaps_port,
            use_ssl=True,
            tls=ContextTls(context, self.facts.host),
            get_info=NONE,
            connect_timeout=10,
        )

    def _connect(self, user: str | None, password: str | None) -> Connection:
        conn = Connection(self._server(), user, password, raise_exceptions=True, receive_timeout=30)
        try:
            conn.open()
            if user is not None:
                conn.bind()
        except BaseException:
            conn.unbind()
            raise
        finally:
            conn.password = None
        return conn

    def close(self) -> None:
        self.conn.unbind()

    def __enter__(self) -> SlapdAdmin:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- OUs ---------------------------------------------------------------------------------
    def new_ou(self, prefix: str = "t", parent: str | None = None) -> str:
        """A new OU with a unique name (under the suffix, or ``parent``); returns its DN."""
        name = f"{prefix}-{uuid.uuid4().hex[:12]}"
        dn = f"ou={name},{parent or self.facts.base_dn}"
        self.conn.add(dn, ["organizationalUnit"], {"ou": name})
        return dn

    def delete_tree(self, dn: str) -> None:
        """Delete ``dn`` and everything under it, deepest first; no error if it is gone."""
        self.conn.raise_exceptions = False
        try:
            self.conn.search(dn, "(objectClass=*)", SUBTREE, attributes=["1.1"])
            if self.conn.result["result"] == 32:  # noSuchObject
                return
            found = [e["dn"] for e in self.conn.response if e.get("type") == "searchResEntry"]
        finally:
            self.conn.raise_exceptions = True
        for entry in sorted(found, key=lambda d: d.count(","), reverse=True):
            self.conn.delete(entry)

    # --- users -------------------------------------------------------------------------------
    def create_user(
        self,
        ou: str,
        name: str | None = None,
        password: str | None = None,
        *,
        display_name: str | None = None,
        mail: str | None = None,
        policy_dn: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> LdapUser:
        """An inetOrgPerson ``uid=NAME`` in ``ou`` with a password (long enough for the test
        policy by default), ``cn``, ``sn`` and ``mail``, its password set a minute ago (by
        pwdChangedTime). The name defaults to a unique ``u<hex>``; ``policy_dn`` points the
        user at a policy of its own."""
        name = name or f"u{uuid.uuid4().hex[:12]}"
        password = password or f"Pw-{uuid.uuid4().hex[:10]}-X9"
        mail = mail or f"{name}@example.org"
        dn = f"uid={name},{ou}"
        attrs: dict[str, Any] = {
            "uid": name,
            "cn": display_name or name,
            "sn": name,
            "mail": mail,
            "userPassword": password,
        }
        if display_name:
            attrs["displayName"] = display_name
        if policy_dn:
            attrs["pwdPolicySubentry"] = policy_dn
        attrs.update(extra or {})
        self.conn.add(dn, ["inetOrgPerson"], attrs)
        if not self.facts.plain:
            # As if set a minute ago: pwdChangedTime has a resolution of one second, and a
            # test that changes the password at once expects to see the stamp move.
            earlier = datetime.now(UTC) - timedelta(minutes=1)
            self.set(dn, pwdChangedTime=earlier.strftime("%Y%m%d%H%M%SZ"))
        return LdapUser(dn=dn, name=name, mail=mail, uuid=self.entry_uuid(dn), password=password)

    def entry_uuid(self, dn: str) -> str:
        return self.read(dn, ["entryUUID"])["entryUUID"][0]

    def reset_password(self, dn: str, password: str, *, must_change: bool = False) -> None:
        """An administrator's reset, out of band (as a helpdesk would do it): no policy checks
        (the rootdn is password administrator); "must change" only when asked."""
        changes: dict[str, Any] = {"userPassword": [(MODIFY_REPLACE, [password])]}
        if not self.facts.plain:
            # An explicit pwdReset keeps ppolicy from setting its own (pwdMustChange).
            changes["pwdReset"] = [(MODIFY_REPLACE, ["TRUE"] if must_change else [])]
        self.conn.modify(dn, changes)

    def change_password_as_user(self, dn: str, old: str, new: str) -> None:
        """The user changes their own password (Password Modify with the old one), bound as
        them: checked by the policy like any user's change."""
        conn = self._connect(dn, old)
        try:
            conn.extend.standard.modify_password(dn, old, new)
        finally:
            conn.unbind()

    def delete(self, dn: str) -> None:
        self.conn.delete(dn)

    def move(self, dn: str, new_parent: str) -> str:
        rdn = dn.split(",", 1)[0]
        self.conn.modify_dn(dn, rdn, new_superior=new_parent)
        return f"{rdn},{new_parent}"

    def rename(self, dn: str, new_rdn: str) -> str:
        self.conn.modify_dn(dn, new_rdn)
        return f"{new_rdn},{dn.split(',', 1)[1]}"

    def set(self, dn: str, **values: Sequence[str] | str | None) -> None:
        """Replace attributes (None or [] removes one); with the Relax control, so that the
        rootdn may also set ppolicy's operational attributes (pwdChangedTime, ...)."""
        changes: dict[str, Any] = {}
        for name, value in values.items():
            listed = [] if value is None else [value] if isinstance(value, str) else list(value)
            changes[name] = [(MODIFY_REPLACE, listed)]
        self.conn.modify(dn, changes, controls=[RELAX])

    # --- account states ----------------------------------------------------------------------
    def disable(self, dn: str) -> None:
        """Locked by an administrator for good (``pwdAccountLockedTime: 000001010000Z``)."""
        self.set(dn, pwdAccountLockedTime=LOCKED_FOR_GOOD)

    def enable(self, dn: str) -> None:
        self.set(dn, pwdAccountLockedTime=None)

    def unlock(self, dn: str) -> None:
        self.set(dn, pwdAccountLockedTime=None, pwdFailureTime=None)

    def expire_password(self, dn: str) -> None:
        """ "Must change password" (``pwdReset: TRUE``; the policy has pwdMustChange): a bind
        with the right password succeeds, restricted to changing it, and says so."""
        self.set(dn, pwdReset="TRUE")

    def age_password(self, dn: str, changed: str = "20000101000000Z") -> None:
        """pwdChangedTime set far in the past: expired by the policy's pwdMaxAge."""
        self.set(dn, pwdChangedTime=changed)

    def apply_policy(self, dn: str, **settings: str) -> str:
        """A password policy for this one user, in the user's own OU (deleted with it): the
        test default policy's settings, overridden by ``settings`` (``pwdMaxFailure="2"``...).
        Returns the policy's DN."""
        base = {
            "pwdAttribute": "userPassword",
            "pwdLockout": "TRUE",
            "pwdMaxFailure": "5",
            "pwdLockoutDuration": "300",
            "pwdFailureCountInterval": "300",
            "pwdCheckQuality": "2",
            "pwdMinLength": "8",
            "pwdInHistory": "3",
            "pwdMustChange": "TRUE",
            "pwdAllowUserChange": "TRUE",
            "pwdSafeModify": "FALSE",
            "pwdMaxAge": "315360000",
        }
        base.update(settings)
        name = f"policy-{uuid.uuid4().hex[:12]}"
        policy = f"cn={name},{dn.split(',', 1)[1]}"
        self.conn.add(policy, ["organizationalRole", "pwdPolicy"], {"cn": name, **base})
        self.set(dn, pwdPolicySubentry=policy)
        return policy

    def bad_binds(self, dn: str, count: int) -> None:
        """``count`` binds as ``dn`` with a wrong password (each one is a failure ppolicy
        counts, unless the account is locked already)."""
        for i in range(count):
            conn = Connection(self._server(), dn, f"wrong-password-{i}", raise_exceptions=False)
            try:
                conn.open()
                conn.bind()
            finally:
                conn.password = None
                conn.unbind()

    def lock_out(self, dn: str, threshold: int = 5) -> None:
        """Lock the account out (temporarily, for the policy's pwdLockoutDuration) with
        ``threshold`` bad binds (the default policy's pwdMaxFailure)."""
        self.bad_binds(dn, threshold)
        if not self.state(dn).get("pwdAccountLockedTime"):
            raise AssertionError(f"{dn} is not locked out after {threshold} bad binds")

    def bind_answer(self, dn: str, password: str) -> tuple[int, bytes | None]:
        """One bind with the password policy control: (result code, the control's value)."""
        conn = Connection(self._server(), dn, password, raise_exceptions=False)
        try:
            conn.open()
            conn.bind(controls=[PPOLICY])
            control = (conn.result.get("controls") or {}).get(PPOLICY[0]) or {}
            return int(conn.result["result"]), control.get("value")
        finally:
            conn.password = None
            conn.unbind()

    # --- reading -----------------------------------------------------------------------------
    def read(self, dn: str, attributes: Sequence[str]) -> dict[str, list[str]]:
        self.conn.search(dn, "(objectClass=*)", BASE, attributes=list(attributes))
        raw = self.conn.response[0]["raw_attributes"]
        return {k: [bytes(v).decode() for v in values] for k, values in raw.items()}

    def state(self, dn: str) -> dict[str, list[str]]:
        """The entry's ppolicy state: pwdChangedTime, pwdAccountLockedTime, pwdFailureTime,
        pwdReset, pwdHistory (present ones only)."""
        names = [
            "pwdChangedTime",
            "pwdAccountLockedTime",
            "pwdFailureTime",
            "pwdReset",
            "pwdHistory",
            "pwdPolicySubentry",
        ]
        return {k: v for k, v in self.read(dn, names).items() if v}

    def children(self, dn: str) -> list[str]:
        self.conn.search(dn, "(objectClass=*)", LEVEL, attributes=["1.1"])
        return [e["dn"] for e in self.conn.response if e.get("type") == "searchResEntry"]
