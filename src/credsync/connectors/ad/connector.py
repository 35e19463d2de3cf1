"""The Active Directory (and Samba AD) connector.

Decisions, and why:

* **Transport**: ``ldaps://`` or ``ldap://`` + StartTLS, certificate and host name always
  checked unless the directory says ``insecure_skip_verify`` (see :mod:`.._tls`). Blocking
  ldap3 calls run in ``asyncio.to_thread``; the admin connections do reads and writes; a
  password check is a bind on a connection of the shared wire, rebound as each user, in the
  event loop (see :mod:`._client`; the plumbing the LDAP connector shares: :mod:`.._ldap3`,
  :mod:`.._ldap3_connector` and :mod:`.._ldap_wire`).
* **verify_password** is one simple bind as the account's DN. AD answers a failed bind with
  ``invalidCredentials`` and a ``data NNN`` sub-code, which is the outcome: 52e wrong password,
  533 disabled, 701 account expired (reported as disabled), 775 locked out, 532 password
  expired, 773 must change password. AD (and Samba) check the password first: a disabled,
  expired or locked-out account with a *wrong* password answers 52e (except 775: locked out
  answers 775 either way). When the answer is 52e we re-read the account by objectGUID: if its
  DN changed (a rename or move since the engine read it) the bind is made once more, at the
  current DN - the first attempt named no existing object, so the account still saw one attempt.
* **set_password** is an administrative reset: ``unicodePwd`` replaced by the quoted UTF-16-LE
  password. ``must_change`` then sets pwdLastSet to 0. ``never_expires=True`` sets
  DONT_EXPIRE_PASSWORD (0x10000) in userAccountControl with a delete-old/add-new modify, so a
  concurrent change of the flags fails instead of being overwritten; ``never_expires=False``
  (the default) leaves the flag as it is - it is a property of the account that an operator set,
  not of this password. The account comes back from the last modify's trip, read at its DN:
  only what a reset changes (pwdLastSet, the flags, lockoutTime: ``_mapping.after_reset``), the
  rest as the push found it, so the DC does not work out the computed flags again per push.
* **changes_since** uses the DirSync control (``1.2.840.113556.1.4.841``) from the domain root:
  one pass returns exactly the objects changed since the cookie, including deletions (as
  tombstones, ``isDeleted``) and moves (we ask for ``name`` and ``parentGUID``, whose change a
  move is), so removals need no full pass (the uSNChanged method needs one, or read access to
  Deleted Objects). DirSync returns only the changed attributes, so the changed objects' whole
  state is read back by objectGUID under the base DN; an object changed outside the scope or
  no longer a user there is reported in ``removed`` (callers ignore ids they don't know). The
  cursor is opaque text holding the DC's invocationId, the base DN and the cookie: a cursor of
  another DC, another base or a cookie the DC refuses gives a full read (``full=True``). A bind
  identity without the right to DirSync ("Replicating Directory Changes") gets full reads each
  time, with a cursor that says so.
* **iter_scoped_accounts** (auto-create's scope): one paged search per OU (or the base DN)
  with ``(!(isCriticalSystemObject=TRUE))``, enabled accounts only unless asked
  (``userAccountControl:1.2.840.113556.1.4.803:=2``, the bitwise AND rule) and nested group
  membership by LDAP_MATCHING_RULE_IN_CHAIN (``memberOf:1.2.840.113556.1.4.1941:=<group DN>``,
  which Samba implements too). An OU outside the base DN selects nothing (the directory's
  scope is the base DN); ``ids`` narrows it to those objectGUIDs (a capture's account).
* **people and groups** for the import: :mod:`._people`.
* **test_connection** steps: tcp, tls, bind, search, reset password right (a best-effort but
  real check of the DACL, see :mod:`._acl`). Steps after a failure are skipped.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from typing import Any

from ldap3 import MODIFY_ADD, MODIFY_DELETE, MODIFY_REPLACE

from credsync.connectors._ldap3 import ADMIN_CONNECTIONS
from credsync.connectors._ldap3_connector import Ldap3Connector
from credsync.connectors.ad import _identities, _steps
from credsync.connectors.ad._client import Entry, LdapClient
from credsync.connectors.ad._deleted import DeletedAd
from credsync.connectors.ad._dirsync import (
    DIRSYNC_ATTRIBUTES,
    DIRSYNC_COOKIE_ONLY,
    DIRSYNC_FILTER,
    DIRSYNC_OID,
    decode_cursor,
    dirsync_control,
    encode_cursor,
    refused,
)
from credsync.connectors.ad._errors import AD_BIND_CODES, ERRORS, bind_code
from credsync.connectors.ad._mapping import (
    ACCOUNT_ATTRIBUTES,
    RESET_ATTRIBUTES,
    USER_FILTER,
    after_reset,
    guid_filter_value,
    guid_text,
    scoped_filter,
    to_account,
)
from credsync.connectors.ad._people import PeopleReads
from credsync.connectors.base import (
    Account,
    AccountScope,
    Capability,
    ChangeSet,
    DirectoryConfig,
    PasswordOptions,
    TestStep,
    VerifyOutcome,
    VerifyResult,
    run_test_steps,
)
from credsync.connectors.identities import Identity, IdentityScope
from credsync.errors import (
    AccountNotFound,
    DirectoryDenied,
    PermanentConnectorError,
    TransientConnectorError,
)
from credsync.types import Secret

__all__ = ["ActiveDirectoryConnector"]

log = logging.getLogger(__name__)

UF_DONT_EXPIRE_PASSWORD = 0x10000
_OUTCOMES = {
    "52e": VerifyOutcome.WRONG_PASSWORD,
    "533": VerifyOutcome.ACCOUNT_DISABLED,
    "701": VerifyOutcome.ACCOUNT_DISABLED,
    "775": VerifyOutcome.LOCKED_OUT,
    "532": VerifyOutcome.PASSWORD_EXPIRED,
    "773": VerifyOutcome.PASSWORD_EXPIRED,
}
_GUID_BATCH = 50


def _in_scope(dn: str, base: str) -> bool:
    dn_l, base_l = dn.lower(), base.lower()
    return dn_l == base_l or dn_l.endswith("," + base_l)


class ActiveDirectoryConnector(DeletedAd, PeopleReads, Ldap3Connector[LdapClient]):
    """Active Directory / Samba AD behind :class:`~credsync.connectors.base.Connector`.
    ``client`` is the I/O seam (an :class:`LdapClient` by default)."""

    kind = "active_directory"
    capabilities = frozenset(
        {
            Capability.VERIFY_BIND,
            Capability.SET_PASSWORD,
            Capability.CHANGES,
            Capability.PASSWORD_TIMESTAMP,
            Capability.SCOPED_ACCOUNTS,
            Capability.IDENTITIES,
            Capability.DELETED_OBJECTS,
            Capability.PEOPLE,
        }
    )

    _errors = ERRORS

    def __init__(self, config: DirectoryConfig, *, client: LdapClient | None = None) -> None:
        super().__init__(config, client if client is not None else LdapClient(config))
        self._page_size = int(config.options.get("page_size", "1000"))
        self._domain: str | None = config.options.get("netbios_domain") or None
        self._naming_context: str | None = None
        self._invocation_id: str | None = None

    # --- plumbing (the rest: Ldap3Connector) ------------------------------------------------
    @property
    def _base(self) -> str:
        return self._config.base_dn or self._naming_context or ""

    async def _facts(self) -> None:
        """The domain's naming context, NetBIOS name and the DC's invocationId (read once)."""
        if self._invocation_id is not None:
            return  # read once; two first calls at the same time both read it, harmlessly
        attrs = ["defaultNamingContext", "configurationNamingContext", "dsServiceName"]
        root = await self._call("read rootDSE", self._client.read, "", attrs)
        values = root[1] if root else {}

        def first(name: str) -> str:
            found = values.get(name) or [b""]
            return bytes(found[0]).decode()

        self._naming_context = first("defaultNamingContext")
        where = "read the DC's invocationId"
        ntds = await self._call(where, self._client.read, first("dsServiceName"), ["invocationId"])
        raw_id = (ntds[1].get("invocationId") if ntds else None) or [b""]
        if self._domain is None:
            partitions = "CN=Partitions," + first("configurationNamingContext")
            found = await self._call(
                "read the NetBIOS domain name",
                self._client.search,
                partitions,
                f"(&(objectClass=crossRef)(nCName={self._naming_context}))",
                ["nETBIOSName"],
                not_found=PermanentConnectorError,
            )
            names = found[0][1].get("nETBIOSName") if found else None
            self._domain = bytes(names[0]).decode() if names else None
        self._invocation_id = guid_text(raw_id[0]) if len(raw_id[0]) == 16 else raw_id[0].hex()

    def _account(self, entry: Entry) -> Account:
        return to_account(entry[0], entry[1], domain=self._domain)

    # --- reading accounts -------------------------------------------------------------------
    async def iter_accounts(self) -> AsyncIterator[Account]:
        await self._facts()
        pages = self._paged_search(
            self._base, USER_FILTER, ACCOUNT_ATTRIBUTES, "users", self._page_size
        )
        async for entries in pages:
            for entry in entries:
                if entry[1].get("objectGUID"):
                    yield self._account(entry)

    async def iter_scoped_accounts(
        self, scope: AccountScope, ids: Sequence[str] | None = None
    ) -> AsyncIterator[Account]:
        """The accounts ``scope`` selects under the base DN, each once (see the module
        docstring); ``ids``: only these objectGUIDs."""
        search_filter = scoped_filter(scope, ids)
        found = self._scoped_entries(scope, search_filter, ACCOUNT_ATTRIBUTES, "auto-create's")
        async for account, _ in found:
            yield account

    async def _scoped_entries(
        self, scope: AccountScope, search_filter: str, attributes: Sequence[str], whose: str
    ) -> AsyncIterator[tuple[Account, dict[str, list[bytes]]]]:
        """Each account ``search_filter`` finds under the scope's OUs (or the base DN), paged,
        once, inside the base DN, with the attributes read (``whose`` users, for errors)."""
        await self._facts()
        seen: set[str] = set()
        for base in self._scope_bases(scope):
            async for entries in self._paged_search(
                base, search_filter, attributes, f"{whose} users", self._page_size
            ):
                for entry in entries:
                    if not entry[1].get("objectGUID"):
                        continue
                    account = self._account(entry)
                    if account.id not in seen and _in_scope(account.dn or "", self._base):
                        seen.add(account.id)
                        yield account, entry[1]

    def iter_identities(
        self, scope: IdentityScope, ids: Sequence[str] | None = None
    ) -> AsyncIterator[Identity]:
        """A relay's source users (see :mod:`._identities`)."""
        return _identities.iter_identities(self, scope, ids)

    def _scope_bases(self, scope: AccountScope) -> list[str]:
        """Where to search: the OUs inside the base DN (an OU above it: the base DN itself;
        one elsewhere: nowhere), or the base DN."""
        if not scope.ous:
            return [self._base]
        bases: list[str] = []
        for ou in scope.ous:
            if _in_scope(ou, self._base):
                bases.append(ou)
            elif _in_scope(self._base, ou):
                bases.append(self._base)
        return list(dict.fromkeys(bases))

    async def _by_guids(self, ids: Sequence[str]) -> dict[str, Account]:
        """The users with these objectGUIDs under the base DN: one search per
        :data:`_GUID_BATCH`, up to :data:`~.._ldap3.ADMIN_CONNECTIONS` of them at once (the
        client's pool of admin connections: the DC answers them side by side)."""
        gate = asyncio.Semaphore(ADMIN_CONNECTIONS)

        async def batch(chunk: Sequence[str]) -> list[Entry]:
            terms = "".join(f"(objectGUID={guid_filter_value(i)})" for i in chunk)
            async with gate:
                return await self._call(
                    f"search users by objectGUID under {self._base}",
                    self._client.search,
                    self._base,
                    f"(&{USER_FILTER}(|{terms}))",
                    ACCOUNT_ATTRIBUTES,
                    not_found=PermanentConnectorError,
                )

        batches = [ids[start : start + _GUID_BATCH] for start in range(0, len(ids), _GUID_BATCH)]
        found: dict[str, Account] = {}
        for entries in await asyncio.gather(*(batch(chunk) for chunk in batches)):
            for entry in entries:
                account = self._account(entry)
                found[account.id] = account
        return found

    async def get_account(self, account_id: str) -> Account:
        await self._facts()
        try:
            uuid.UUID(account_id)
        except ValueError as exc:
            raise AccountNotFound(f"not an objectGUID: {account_id!r}") from exc
        found = await self._by_guids([account_id])
        if account_id not in found:
            raise AccountNotFound(f"no user with objectGUID {account_id} under {self._base}")
        return found[account_id]

    # --- passwords --------------------------------------------------------------------------
    async def verify_password(self, account: Account, secret: Secret) -> VerifyResult:
        dn = account.dn or (await self.get_account(account.id)).dn or ""
        ok, message = await self._check(dn, secret)
        code = None if ok else bind_code(message)
        if code == "52e":
            current = await self.get_account(account.id)  # AccountNotFound when it is gone
            if current.dn and current.dn.lower() != dn.lower():
                dn = current.dn
                ok, message = await self._check(dn, secret)
                code = None if ok else bind_code(message)
        if ok:
            return VerifyResult(VerifyOutcome.OK)
        if code in _OUTCOMES:
            return VerifyResult(_OUTCOMES[code], message)
        if code == "525":
            raise AccountNotFound(f"check the password of {dn}: {message}")
        meaning = AD_BIND_CODES.get(code or "", "unexpected answer")
        raise PermanentConnectorError(f"check the password of {dn}: {meaning}: {message}")

    async def _check(self, dn: str, secret: Secret) -> tuple[bool, str]:
        """One simple bind as ``dn`` (the client's wire): (success, the DC's words); an answer
        other than success or invalidCredentials raised as the translation of its result."""
        where = f"check the password of {dn}"
        if not secret.reveal():  # a simple bind without a password is an unauthenticated one
            return False, "an empty password is never bound"
        try:
            answer = await self._client.wire.check(dn, secret.reveal())
        except Exception as exc:
            raise self._errors.translate(exc, where=where) from exc
        if answer.ok or answer.description == "invalidCredentials":
            return answer.ok, answer.message or answer.description
        raise self._errors.translate(answer.failure(), where=where) from None

    async def _modify(
        self, account: Account, what: str, changes: dict[str, Any], then_read: bool = False
    ) -> tuple[Account, Account | None]:
        """Modify the account at its DN (if stale, once more at the current one); ``then_read``:
        the account after the reset, its :data:`RESET_ATTRIBUTES` read back in the same trip
        (None if that DN holds another object now)."""
        dn = account.dn or (await self.get_account(account.id)).dn or ""
        read = RESET_ATTRIBUTES if then_read else ()
        try:
            entry = await self._call(f"{what} of {dn}", self._client.modify, dn, changes, read)
        except AccountNotFound:
            current = await self.get_account(account.id)
            if not current.dn or current.dn.lower() == dn.lower():
                raise
            account = current
            entry = await self._call(
                f"{what} of {current.dn}", self._client.modify, current.dn, changes, read
            )
        guid = (entry[1].get("objectGUID") or [b""])[0] if entry is not None else b""
        if entry is None or len(guid) != 16 or guid_text(guid) != account.id:
            return account, None
        return account, after_reset(replace(account, dn=entry[0]), entry[1])

    async def set_password(
        self, account: Account, secret: Secret, options: PasswordOptions
    ) -> Account:
        """The reset, then what it changed read back (its new pwdLastSet) with the last modify,
        in the same trip (the whole account on its own after the never-expires flag)."""
        encoded = f'"{secret.reveal()}"'.encode("utf-16-le")
        changes = {"unicodePwd": [(MODIFY_REPLACE, [encoded])]}
        account, after = await self._modify(
            account, "set password", changes, then_read=not options.must_change
        )
        if options.must_change:
            must = {"pwdLastSet": [(MODIFY_REPLACE, ["0"])]}
            what = "set must-change-password"
            account, after = await self._modify(account, what, must, then_read=True)
        if options.never_expires:
            await self._set_never_expires(account)
            after = None
        return after if after is not None else await self._reread(account)

    async def _reread(self, account: Account) -> Account:
        """The account as it is now: read at its DN (a base read, ~2x cheaper than the search
        by objectGUID), by objectGUID if that DN holds another object or none."""
        dn = account.dn or ""
        entry = await self._call(f"read {dn}", self._client.read, dn, ACCOUNT_ATTRIBUTES)
        if entry is not None and entry[1].get("objectGUID"):
            current = self._account(entry)
            if current.id == account.id:
                return current
        return await self.get_account(account.id)

    async def _set_never_expires(self, account: Account) -> None:
        for _ in range(3):
            dn = account.dn or ""
            entry = await self._call(f"read {dn}", self._client.read, dn, ["userAccountControl"])
            old = int(bytes((entry[1].get("userAccountControl") or [b"0"])[0]) if entry else 0)
            if old & UF_DONT_EXPIRE_PASSWORD:
                return
            changes = {
                "userAccountControl": [
                    (MODIFY_DELETE, [str(old)]),
                    (MODIFY_ADD, [str(old | UF_DONT_EXPIRE_PASSWORD)]),
                ]
            }
            try:
                await self._call("set password-never-expires", self._client.modify, dn, changes)
                return
            except PermanentConnectorError as err:
                if "noSuchAttribute" not in str(err):  # anything but "the flags just changed"
                    raise
        raise TransientConnectorError(f"userAccountControl of {account.dn} keeps changing")

    # --- incremental reads ------------------------------------------------------------------
    def _encode_cursor(self, cookie: bytes | None) -> str:
        return encode_cursor(self._invocation_id, self._base, cookie)

    def _decode_cursor(self, cursor: str) -> bytes | None:
        return decode_cursor(cursor, self._invocation_id, self._base)

    async def _dirsync(
        self, cookie: bytes | None, search_filter: str = DIRSYNC_FILTER
    ) -> tuple[list[Entry], bytes]:
        """A DirSync pass from the domain root to the end: the entries and the new cookie."""
        root = self._naming_context or self._base
        entries: list[Entry] = []
        while True:
            control = dirsync_control(cookie)
            found, controls = await self._call(
                "DirSync", self._client.search_with_controls, root, search_filter,
                DIRSYNC_ATTRIBUTES, [control], not_found=PermanentConnectorError,
            )  # fmt: skip
            entries.extend(found)
            value = (controls.get(DIRSYNC_OID) or {}).get("value") or {}
            if "cookie" not in value:
                raise PermanentConnectorError("DirSync: the DC returned no DirSync cookie")
            cookie = bytes(value["cookie"])
            if not value.get("more_results"):
                return entries, cookie

    async def _full(self, cookie: bytes | None) -> ChangeSet:
        accounts = tuple([a async for a in self.iter_accounts()])
        return ChangeSet(
            changed=accounts, removed=(), cursor=self._encode_cursor(cookie), full=True
        )

    async def changes_since(self, cursor: str | None) -> ChangeSet:
        await self._facts()
        cookie = self._decode_cursor(cursor) if cursor else None
        if cookie is None:
            try:
                # The cookie first (changes made during the full read then come again next
                # time). A filter that matches nothing: the DC still walks the whole domain to
                # make the cookie, but sends no entry back. (Samba walks it as long from the
                # last cookie: ~50 ms of the DC's CPU either way, measured.)
                _, fresh = await self._dirsync(None, DIRSYNC_COOKIE_ONLY)
            except DirectoryDenied as err:
                log.warning("DirSync not allowed for this bind identity: full reads (%s)", err)
                return await self._full(None)
            return await self._full(fresh)
        try:
            entries, fresh = await self._dirsync(cookie)
        except PermanentConnectorError as err:
            if not refused(err):
                raise
            # The DC said no to this cookie (too old, from a restored DC): start again.
            log.warning("DirSync refused the cursor, reading everything again: %s", err)
            return await self.changes_since(None)
        changed_ids: list[str] = []
        removed: list[str] = []
        for dn, attrs in entries:
            raw_guid = attrs.get("objectGUID")
            if not raw_guid:
                continue
            guid = guid_text(raw_guid[0])
            deleted = bytes((attrs.get("isDeleted") or [b"FALSE"])[0]).upper() == b"TRUE"
            target = removed if deleted or not _in_scope(dn, self._base) else changed_ids
            if guid not in target:
                target.append(guid)
        current = await self._by_guids(changed_ids)
        removed.extend(i for i in changed_ids if i not in current)
        return ChangeSet(
            changed=tuple(current[i] for i in changed_ids if i in current),
            removed=tuple(dict.fromkeys(removed)),
            cursor=self._encode_cursor(fresh),
        )

    # --- test_connection --------------------------------------------------------------------
    async def test_connection(self) -> list[TestStep]:
        steps = _steps.Steps(self)
        return await run_test_steps(
            [
                ("tcp", steps.tcp),
                ("tls", steps.tls),
                ("bind", steps.bind),
                ("search", steps.search),
                ("reset password right", steps.reset_right),
            ]
        )
