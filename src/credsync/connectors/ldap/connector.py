"""The LDAP connector: OpenLDAP (and other LDAPv3 servers: 389-DS...) with the password policy
overlay where the server has it.

Configuration (:class:`~credsync.connectors.base.DirectoryConfig`): ``url`` ``ldaps://HOST[:PORT]``
or ``ldap://HOST[:PORT]`` (always with StartTLS: no simple bind goes out in clear), the
certificate checked against ``ca_pem``/``ca_file`` (or the system's CAs) under the URL's host or
``tls_server_name``, unless ``insecure_skip_verify``; ``bind_username`` the bind DN and
``bind_password`` its password (a ``directory_admin`` credential); ``base_dn`` the subtree the
accounts live in; ``timeout`` in seconds. ``options``:

=======================  ==========================================================================
``user_filter``          which entries are accounts (default ``(objectClass=inetOrgPerson)``)
``naming_attribute``     the attribute that is the username (default ``uid``)
``password_policy_dn``   the DN of the server's default password policy (OpenLDAP's
                         ``olcPPolicyDefault``), for expiry and lockout times; entries with a
                         ``pwdPolicySubentry`` use theirs (optional)
``page_size``            entries per page of a full read (default 500)
=======================  ==========================================================================

The bind identity needs read access to the accounts (with ppolicy's operational attributes),
the policy entries and the root DSE; write access to ``userPassword``, and to ``pwdReset`` for
"must change". *Write* rather than *manage*: then ppolicy checks quality and history on
credsync's changes as on a user's own (see :mod:`credsync.testing.slapd`), and a refusal comes
back as ``PolicyRejected``. It also needs no size limit below the number of accounts.

Decisions, and why:

* **Transport**: reads and the rarer writes go through ldap3's blocking strategy in
  ``asyncio.to_thread`` on one admin connection (see :mod:`._client`, and :mod:`.._ldap3` for
  the plumbing the AD connector shares); password checks and Password Modify (with the entry
  read back) - what the engine does by the thousand - are a few LDAP messages the connector
  speaks itself on the event loop, without a thread (see :mod:`.._ldap_wire`: a thread hop per call
  cost as much as slapd's answer). TLS alike everywhere.
* **Account** (see :mod:`._mapping`): id = entryUUID, username = the naming attribute, upn =
  ``mail``; state and ``password_stamp`` (pwdChangedTime) from ppolicy's attributes. That
  stamp has a resolution of one second: two changes in the same second look like one.
  ``capabilities`` gains PASSWORD_TIMESTAMP once the root DSE shows the password policy
  control (read on first use): without ppolicy there is no pwdChangedTime.
* **verify_password** is one simple bind as the account's DN with the password policy request
  control, never repeated for a failure. The control is the only way to tell a right password
  that must be changed (the bind *succeeds*, ``changeAfterReset``) or has expired (it fails
  exactly like a wrong one, with ``passwordExpired`` in the control) from a wrong one. Locked
  and disabled accounts fail every bind before the password is looked at, and the control says
  ``accountLocked`` only where ``olcPPolicyUseLockout`` is on (off by default: it tells an
  attacker the account exists), so after a failed bind the account is read again with the bind
  identity: gone (``AccountNotFound``; OpenLDAP answers a bind to a missing DN with
  invalidCredentials), moved (one more bind at its new DN: the first one named no entry),
  disabled, or locked out. Locked out now but not when the caller read it means that this
  bind may have reached the lockout threshold: that is reported as the wrong password it was
  (so the engine does not bind with it again), the detail saying the account is now locked.
* **set_password**: the Password Modify extended operation (RFC 3062) when the root DSE lists
  it, so the server hashes the password with its own scheme; else a ``userPassword`` replace
  (the server then stores what it makes of a cleartext value: OpenLDAP hashes it only with
  ``olcPPolicyHashCleartext``). A refusal is ``PolicyRejected`` with the server's words and
  the ppolicy error name. OpenLDAP refuses the *current* password as "not being changed from
  existing value" when the policy keeps a history: that push had nothing to do, and succeeds.
  ``must_change`` then sets pwdReset (NotSupported without ppolicy); ``never_expires`` is not
  an LDAP notion and is ignored. A password change makes ppolicy unlock the account, even one
  locked for good (disabled): an account that was disabled when the caller read it is locked
  again afterwards. The account is read back for its new pwdChangedTime.
* **changes_since**: content synchronisation (RFC 4533) where the server offers it, else
  modifyTimestamp; see :mod:`._changes` (cursor, boundary, removals).
* **test_connection** steps: tcp, tls, bind, search, password policy (are pwdChangedTime
  stamps kept: a warning when not), password change right: a modify that deletes a
  ``userPassword`` value the account cannot have (a random one): the server checks the bind
  identity's write access before it finds there is no such value, so the answer says whether
  the identity may change that account's password, and nothing changes. (An assertion control
  that cannot match would not do: OpenLDAP's back-mdb tests the assertion before the ACL.)
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from ldap3 import MODIFY_REPLACE

from credsync.connectors._ldap3_connector import Ldap3Connector
from credsync.connectors.base import (
    Account,
    Capability,
    ChangeSet,
    DirectoryConfig,
    PasswordOptions,
    TestStep,
    VerifyOutcome,
    VerifyResult,
    run_test_steps,
)
from credsync.connectors.ldap import _changes, _steps
from credsync.connectors.ldap._changes import Cursor
from credsync.connectors.ldap._client import Entry, LdapClient
from credsync.connectors.ldap._controls import (
    PPOLICY_OID,
    SYNC_REQUEST_OID,
    PolicyError,
    PolicyResponse,
    decode_policy_response,
    sync_request,
)
from credsync.connectors.ldap._errors import ERRORS, translate
from credsync.connectors.ldap._mapping import (
    LOCKED_FOR_GOOD,
    POLICY_ATTRIBUTES,
    Policy,
    account_attributes,
    entry_uuid,
    policy_dn_of,
    to_account,
)
from credsync.connectors.ldap._options import LdapOptions
from credsync.errors import (
    AccountNotFound,
    DirectoryDenied,
    NotSupported,
    PermanentConnectorError,
    PolicyRejected,
)
from credsync.types import Secret

__all__ = ["LdapConnector"]

log = logging.getLogger(__name__)

PASSWORD_MODIFY_OID = "1.3.6.1.4.1.4203.1.11.1"  # noqa: S105 - an OID
UNCHANGED = "Password is not being changed from existing value"  # OpenLDAP's ppolicy
_NO_ENTRY = "(entryUUID=00000000-0000-0000-0000-000000000000)"
_BASE_CAPABILITIES = frozenset(
    {Capability.VERIFY_BIND, Capability.SET_PASSWORD, Capability.CHANGES}
)


class LdapConnector(Ldap3Connector[LdapClient]):
    """An LDAP server behind :class:`~credsync.connectors.base.Connector` (see the module
    docstring). ``client`` is the I/O seam (an :class:`LdapClient` by default); ``clock``
    gives "now" for expiry and lockout times."""

    kind = "ldap"
    _errors = ERRORS

    def __init__(
        self,
        config: DirectoryConfig,
        *,
        client: LdapClient | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        options = LdapOptions.of(config)
        super().__init__(config, client if client is not None else LdapClient(config))
        self._filter = options.user_filter
        self._naming = options.naming_attribute
        self._page_size = options.page_size
        self._default_policy = options.password_policy_dn
        self._clock = clock
        self._attributes = account_attributes(self._naming)
        self._dse: dict[str, list[bytes]] | None = None
        self._sync_ignored = False  # the server took the Sync Request control but ignored it
        self._policies: dict[str, Policy | None] = {}
        self.capabilities: frozenset[Capability] = _BASE_CAPABILITIES

    # --- plumbing (the rest: Ldap3Connector) ------------------------------------------------
    @property
    def _base(self) -> str:
        """The configured base DN, else the server's first naming context (once known)."""
        if self._config.base_dn:
            return self._config.base_dn
        contexts = (self._dse or {}).get("namingContexts") or [b""]
        return bytes(contexts[0]).decode()

    async def _facts(self) -> dict[str, list[bytes]]:
        """The root DSE (read once): what the server offers."""
        if self._dse is None:
            dse = await self._call(
                "read the root DSE", self._client.root_dse, not_found=PermanentConnectorError
            )
            self._dse = dse
            if self._offers("supportedControl", PPOLICY_OID):
                self.capabilities = _BASE_CAPABILITIES | {Capability.PASSWORD_TIMESTAMP}
        return self._dse

    def _offers(self, attribute: str, oid: str) -> bool:
        return oid.encode() in (self._dse or {}).get(attribute, [])

    @property
    def _has_ppolicy(self) -> bool:
        return self._offers("supportedControl", PPOLICY_OID)

    async def _policy(self, dn: str | None) -> Policy | None:
        if dn is None or not self._has_ppolicy:
            return None
        key = dn.lower()
        if key not in self._policies:
            try:
                entry = await self._call(
                    f"read the password policy {dn}", self._client.read, dn, POLICY_ATTRIBUTES
                )
            except (AccountNotFound, DirectoryDenied) as err:
                log.warning("password policy %s unreadable, ignored: %s", dn, err)
                entry = None
            self._policies[key] = Policy.from_entry(dn, entry[1]) if entry else None
        return self._policies[key]

    async def _accounts(self, entries: Sequence[Entry]) -> list[Account]:
        now = self._clock()
        out = []
        for dn, attrs in entries:
            if not entry_uuid(attrs):
                continue  # not an account we can keep track of
            policy = await self._policy(policy_dn_of(attrs, self._default_policy))
            out.append(to_account(dn, attrs, naming_attribute=self._naming, policy=policy, now=now))
        return out

    # --- reading accounts -------------------------------------------------------------------
    async def _pages(
        self, search_filter: str, attributes: Sequence[str]
    ) -> AsyncIterator[list[Entry]]:
        await self._facts()
        cookie: bytes | None = None
        while True:
            entries, cookie = await self._call(
                f"search {search_filter} under {self._base}", self._client.search_page,
                self._base, search_filter, attributes, cookie, self._page_size,
                not_found=PermanentConnectorError,
            )  # fmt: skip
            yield entries
            if not cookie:
                return

    async def iter_accounts(self) -> AsyncIterator[Account]:
        async for page in self._pages(self._filter, self._attributes):
            for account in await self._accounts(page):
                yield account

    async def get_account(self, account_id: str) -> Account:
        try:
            wanted = str(uuid.UUID(account_id))
        except ValueError as exc:
            raise AccountNotFound(f"not an entryUUID: {account_id!r}") from exc
        await self._facts()
        entries = await self._call(
            f"search entryUUID {wanted} under {self._base}", self._client.search, self._base,
            f"(&{self._filter}(entryUUID={wanted}))", self._attributes,
            not_found=PermanentConnectorError,
        )  # fmt: skip
        found = await self._accounts(entries)
        if not found:
            raise AccountNotFound(f"no account with entryUUID {wanted} under {self._base}")
        return found[0]

    async def _reread(self, account: Account, dn: str) -> Account:
        """The account as it is now: read at ``dn``, or by entryUUID if that holds another."""
        entry = await self._call(f"read {dn}", self._client.read, dn, self._attributes)
        found = await self._accounts([entry] if entry else [])
        if found and found[0].id == account.id:
            return found[0]
        return await self.get_account(account.id)

    # --- passwords --------------------------------------------------------------------------
    async def verify_password(self, account: Account, secret: Secret) -> VerifyResult:
        if not secret.reveal():  # a simple bind without a password is an anonymous one
            return VerifyResult(VerifyOutcome.WRONG_PASSWORD, "an empty password is never bound")
        await self._facts()
        dn = account.dn or (await self.get_account(account.id)).dn or ""
        for attempt in (1, 2):
            try:
                answer = await self._client.wire.check(dn, secret.reveal())
            except Exception as exc:
                raise translate(exc, where=f"check the password of {dn}") from exc
            said = ": ".join(p for p in (answer.description, answer.message) if p)
            control = _policy_response(answer.controls.get(PPOLICY_OID))
            if control.error is not None:
                said += f" (ppolicy: {control.error.words})"
            if answer.ok:
                if control.error is PolicyError.CHANGE_AFTER_RESET:
                    return VerifyResult(VerifyOutcome.PASSWORD_EXPIRED, said)
                if control.grace_remaining is not None:
                    detail = f"{said} (expired: {control.grace_remaining} grace binds left)"
                    return VerifyResult(VerifyOutcome.PASSWORD_EXPIRED, detail)
                return VerifyResult(VerifyOutcome.OK)
            if answer.description != "invalidCredentials":
                where = f"check the password of {dn}"
                raise translate(answer.failure(), where=where) from None
            if control.error is PolicyError.PASSWORD_EXPIRED:
                return VerifyResult(VerifyOutcome.PASSWORD_EXPIRED, said)
            current = await self.get_account(account.id)  # AccountNotFound when it is gone
            if attempt == 1 and current.dn and current.dn.lower() != dn.lower():
                dn = current.dn  # moved or renamed: that bind named no entry
                continue
            if not current.enabled:
                return VerifyResult(VerifyOutcome.ACCOUNT_DISABLED, said)
            if current.locked_out:
                if account.locked_out or control.error is PolicyError.ACCOUNT_LOCKED:
                    return VerifyResult(VerifyOutcome.LOCKED_OUT, said)
                said += "; the account is locked out now (this bind may have reached the threshold)"
            return VerifyResult(VerifyOutcome.WRONG_PASSWORD, said)
        raise AssertionError("unreachable")

    async def _change(self, dn: str, password: str, then_read: Sequence[str]) -> Entry | None:
        """Set the password at ``dn``; the entry read back after it when ``then_read`` names
        attributes (None when the server had that password already)."""
        where = f"set password of {dn}"
        try:
            if self._offers("supportedExtension", PASSWORD_MODIFY_OID):
                try:
                    return await self._client.wire.change(dn, password, then_read)
                except Exception as exc:
                    raise translate(exc, where=where, password_change=True) from exc
            changes = {"userPassword": [(MODIFY_REPLACE, [password])]}
            return await self._call(
                where, self._client.modify, dn, changes, then_read, password_change=True
            )
        except PolicyRejected as err:
            if UNCHANGED not in str(err):
                raise
            log.info("%s: the directory has that password already", where)
            return None

    async def set_password(
        self, account: Account, secret: Secret, options: PasswordOptions
    ) -> Account:
        await self._facts()
        if options.must_change and not self._has_ppolicy:
            raise NotSupported(
                f"set password of {account.dn}: the directory has no password policy "
                "(ppolicy), so it cannot make a user change a password"
            )
        follow: dict[str, list[tuple[str, list[Any]]]] = {}
        if options.must_change:
            follow["pwdReset"] = [(MODIFY_REPLACE, ["TRUE"])]
        if not account.enabled and self._has_ppolicy:
            follow["pwdAccountLockedTime"] = [(MODIFY_REPLACE, [LOCKED_FOR_GOOD])]
        read = () if follow else self._attributes  # read back after the last change
        dn = account.dn or (await self.get_account(account.id)).dn or ""
        try:
            entry = await self._change(dn, secret.reveal(), read)
        except AccountNotFound:
            current = await self.get_account(account.id)
            if not current.dn or current.dn.lower() == dn.lower():
                raise
            dn = current.dn
            entry = await self._change(dn, secret.reveal(), read)
        if follow:
            where = f"set {', '.join(follow)} of {dn}"
            entry = await self._call(where, self._client.modify, dn, follow, self._attributes)
        found = await self._accounts([entry] if entry else [])
        if found and found[0].id == account.id:
            return found[0]
        return await self._reread(account, dn)

    # --- incremental reads ------------------------------------------------------------------
    async def _uses_sync(self) -> bool:
        await self._facts()
        return self._offers("supportedControl", SYNC_REQUEST_OID) and not self._sync_ignored

    async def _refresh(
        self, cookie: bytes | None, search_filter: str
    ) -> _changes.SyncAnswer | None:
        """A refresh from ``cookie``; None when the server refused the cookie or ignored the
        request (the latter turns content synchronisation off for this connector)."""
        answer = await self._call(
            "content synchronisation", self._client.refresh, self._base, search_filter,
            self._attributes, sync_request(cookie), not_found=PermanentConnectorError,
        )  # fmt: skip
        if answer.refresh_required:
            log.warning("the server refused the sync cookie: reading everything again")
            return None
        if answer.done is None:
            log.warning("the server ignored the Sync Request control: using modifyTimestamp")
            self._sync_ignored = True
            return None
        try:
            return _changes.read_refresh(answer.entries, answer.infos, answer.done)
        except ValueError as exc:
            raise PermanentConnectorError(f"content synchronisation: {exc}") from exc

    def _cursor(self, mode: str, **fields: Any) -> Cursor:
        return Cursor(mode, self._base, self._filter, **fields)

    async def _full(self) -> ChangeSet:
        if await self._uses_sync():
            # The cookie first: changes made during the full read then come again next time.
            first = await self._refresh(None, f"(&{self._filter}{_NO_ENTRY})")
            if first is not None:
                accounts = tuple([a async for a in self.iter_accounts()])
                cursor = self._cursor("sync", cookie=first.cookie)
                return ChangeSet(accounts, (), cursor.encode(), full=True)
        entries = [e async for page in self._pages(self._filter, self._attributes) for e in page]
        _, since, seen = _changes.window((attrs for _, attrs in entries), None, {})
        accounts = tuple(await self._accounts(entries))
        return ChangeSet(
            accounts, (), self._cursor("timestamp", since=since, seen=seen).encode(), full=True
        )

    async def changes_since(self, cursor: str | None) -> ChangeSet:
        await self._facts()
        found = Cursor.decode(cursor, base=self._base, search_filter=self._filter)
        sync = await self._uses_sync()
        if found is None or found.mode != ("sync" if sync else "timestamp"):
            return await self._full()
        if sync:
            if found.cookie is None:
                return await self._full()
            answer = await self._refresh(found.cookie, self._filter)
            if answer is None or answer.present_phase:
                return await self._full()
            cookie = answer.cookie or found.cookie
            changed = tuple(await self._accounts(answer.changed))
            next_cursor = self._cursor("sync", cookie=cookie).encode()
            return ChangeSet(changed, tuple(answer.removed), next_cursor)
        try:
            search_filter = _changes.since_filter(self._filter, found.since or "")
        except ValueError:  # no timestamp yet (nothing was in scope), or not one of ours
            return await self._full()
        entries = [e async for page in self._pages(search_filter, self._attributes) for e in page]
        fresh, since, seen = _changes.window((a for _, a in entries), found.since, found.seen)
        changed = tuple(await self._accounts([entries[i] for i in fresh]))
        return ChangeSet(changed, (), self._cursor("timestamp", since=since, seen=seen).encode())

    # --- test_connection --------------------------------------------------------------------
    async def test_connection(self) -> list[TestStep]:
        steps = _steps.Steps(self)
        return await run_test_steps(
            [
                ("tcp", steps.tcp),
                ("tls", steps.tls),
                ("bind", steps.bind),
                ("search", steps.search),
                ("password policy", steps.policy),
                ("password change right", steps.change_right),
            ]
        )


def _policy_response(value: bytes | None) -> PolicyResponse:
    if not value:
        return PolicyResponse()
    try:
        return decode_policy_response(value)
    except ValueError:
        return PolicyResponse()
