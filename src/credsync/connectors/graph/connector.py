"""The Microsoft Graph connector: Entra ID (Azure AD) and Office 365 users.

How a :class:`~credsync.connectors.base.DirectoryConfig` of kind ``entra`` is read:

* ``url``: the Graph endpoint base (``https://graph.microsoft.com``); requests go to
  ``{url}/v1.0``. ``bind_username``: the application (client) id. ``bind_password``: the
  app's client secret, or PEM text with its private key and certificate (see :mod:`._auth`).
* ``options``: ``tenant_id`` (required); ``authority`` (default
  ``https://login.microsoftonline.com``; the authority is ``{authority}/{tenant_id}``);
  ``credential`` "certificate" | "secret" (empty: a PEM private key plus certificate is a
  certificate, anything else a secret); ``scope`` (default
  ``https://graph.microsoft.com/.default``; national clouds set theirs); ``page_size`` (users
  per page of a listing, 1-999, default 999).
* ``ca_file`` / ``ca_pem``: the CAs trusted for the authority and Graph (none: the system store);
  ``insecure_skip_verify`` turns checking off; ``timeout`` is per request. ``base_dn`` and
  ``tls_server_name`` mean nothing here. People and groups for the import: :mod:`._people`.

Decisions, and why:

* **No verify_password**: a Graph password can only be checked by signing in as the user
  (which counts against smart lockout and trips MFA), so report mode compares
  lastPasswordChangeDateTime with the vault's last push or confirmation (the engine's job).
* **set_password** is ``PATCH /users/{id}`` with passwordProfile (and, for ``never_expires``,
  passwordPolicies with DisablePasswordExpiration added to the user's current policies, read
  first) and a GET that reads the user back, in one $batch (the GET ``dependsOn`` the PATCH).
  Concurrent calls share $batch requests (:mod:`._batch`); :attr:`max_in_flight` tells the
  engine how many to keep under way. Complexity refusals are PolicyRejected in Graph's words;
  an on-premises-synced user's refusal ("on-premises mastered") stays a
  PermanentConnectorError - its password belongs to its Active Directory.
* **changes_since** uses ``/users/delta``. The cursor is opaque text holding the tenant, the
  Graph host and the deltaLink; another tenant's or host's cursor, text that is no cursor, or a
  deltaLink Graph refuses (400/410: sync state gone, resync required) gives a full read.
  Removed users (``@removed``, soft- or hard-deleted) come back in ``removed``; an object that
  delta sends with only its changed properties is read again by id (batched). Given a ``sink``
  (``streamed_reads``), a full read goes to it page by page instead (:mod:`._full_read`).
* **Who changed a password** (:mod:`._audits`): with AuditLog.Read.All and Directory.Read.All,
  each read also lists the directory audit log's password activities since a watermark kept in
  the cursor (minus a 10-minute overlap, de-duplicated by entry id) and sets the accounts'
  ``password_changed_by``; a user named by a new entry but not in the delta is read by id.
  Without the permission (403) the ChangeSet carries a note and the timestamp alone decides.
* **test_connection** steps: connect, tls, token, permissions, directory role, read users."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from typing import Any
from urllib.parse import quote

import httpx

from credsync.connectors.base import (
    Account,
    AccountSink,
    Capability,
    ChangeSet,
    DirectoryConfig,
    PasswordOptions,
    StepOutcome,
    TestStep,
    VerifyResult,
    run_test_steps,
)
from credsync.connectors.graph import _audits, _checks, _identities
from credsync.connectors.graph._auth import decode_claims
from credsync.connectors.graph._batch import Batcher, Inner, reply_error
from credsync.connectors.graph._client import GraphClient, ssl_context
from credsync.connectors.graph._cursor import cursor_fields, delta_link, encode_cursor
from credsync.connectors.graph._deleted import DeletedReads
from credsync.connectors.graph._errors import graph_error, graph_words, scrub
from credsync.connectors.graph._federation import Federation
from credsync.connectors.graph._full_read import delta_states, streamed_full, with_author
from credsync.connectors.graph._mapping import (
    PAGE_SIZE,
    SELECT,
    page_size,
    policies_with,
    to_account,
)
from credsync.connectors.graph._people import PeopleReads
from credsync.connectors.graph._provision import PeopleProvisioning
from credsync.connectors.graph._provision_groups import GroupWrites
from credsync.connectors.identities import Identity, IdentityScope
from credsync.errors import AccountNotFound, ConnectorError, NotSupported, PermanentConnectorError
from credsync.types import Secret

__all__ = ["GraphConnector"]

log = logging.getLogger(__name__)

_NEVER_EXPIRES = "DisablePasswordExpiration"
_READ_HINT = "the app needs User.Read.All, User.ReadWrite.All or Directory.Read.All"
_PUSH_HINT = (
    "the app needs User-PasswordProfile.ReadWrite.All and a directory role that may reset "
    "this user: User Administrator (non-admin users) or Privileged Authentication "
    "Administrator (anyone)"
)
_AUDIT_DENIED = (
    "the app may not read the directory audit log (grant it AuditLog.Read.All and "
    "Directory.Read.All): who changed a password is not known, changes are judged by "
    "lastPasswordChangeDateTime alone"
)


class GraphConnector(PeopleReads, DeletedReads, GroupWrites, PeopleProvisioning, Federation):
    """Entra ID behind :class:`~credsync.connectors.base.Connector`. ``transport`` (an httpx
    transport) and ``session`` (the requests session msal uses) are the I/O seams for tests."""

    kind = "entra"
    capabilities = frozenset(
        {
            Capability.SET_PASSWORD,
            Capability.CHANGES,
            Capability.PASSWORD_TIMESTAMP,
            Capability.CHANGE_AUTHORS,
            Capability.IDENTITIES,
            Capability.PEOPLE,
            Capability.DELETED_OBJECTS,
            Capability.GROUP_EXPORT,
            Capability.PROVISION,
            Capability.FEDERATION,
            Capability.STREAMED_READS,
        }
    )
    #: set_password calls the engine may keep under way at once (they share $batch requests)
    max_in_flight: int = 40

    def __init__(
        self,
        config: DirectoryConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        session: Any = None,
    ) -> None:
        self._config = config
        self._name = config.name
        self._client = GraphClient(config, transport=transport, session=session)
        self._batcher = Batcher(self._client)
        self._tenant = config.options.get("tenant_id", "").strip()
        self._page_size = page_size(config.options.get("page_size", ""))
        self._claims: dict[str, Any] = {}
        #: what the last iter_identities() could not read (said once to the operator)
        self.identity_notes: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return (
            f"GraphConnector(kind={self.kind!r}, name={self._name!r}, "
            f"url={self._config.url!r}, tenant={self._tenant!r}, "
            f"client_id={self._config.bind_username!r})"
        )

    async def __aenter__(self) -> GraphConnector:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._client.close()

    @property
    def token_requests(self) -> int:
        """How many tokens were asked of the identity platform so far (the rest came from
        the cache)."""
        return self._client.auth.token_posts

    @property
    def batches_sent(self) -> int:
        return self._batcher.batches_sent

    # --- reading ----------------------------------------------------------------------------
    def _raise(self, status: int, body: Any, response: httpx.Response, where: str,
               **options: Any) -> ConnectorError:  # fmt: skip
        options.setdefault("denied_hint", _READ_HINT)
        return graph_error(status, body, name=self._name, where=where,
                           headers=response.headers, **options)  # fmt: skip

    async def iter_accounts(self) -> AsyncIterator[Account]:
        where = "list users"
        params = {"$select": SELECT, "$top": str(self._page_size)}
        pages = self._client.pages("/users", where=where, params=params)
        try:
            async for status, body, response in pages:
                if status != 200 or not isinstance(body, dict):
                    raise self._raise(status, body, response, where,
                                      not_found=PermanentConnectorError)  # fmt: skip
                for user in body.get("value") or ():
                    yield to_account(user)
        finally:
            await pages.aclose()

    def iter_identities(
        self, scope: IdentityScope | None = None, ids: Sequence[str] | None = None
    ) -> AsyncIterator[Identity]:
        """A relay's target users (see :mod:`._identities`, as :meth:`set_enabled`)."""
        return _identities.iter_identities(self, scope, ids)

    async def set_enabled(self, account: Account, enabled: bool) -> None:
        await _identities.set_enabled(self, account, enabled)

    def _user_path(self, account_id: str) -> str:
        try:
            uuid.UUID(account_id)
        except ValueError:
            raise AccountNotFound(f"{self._name}: not a Graph object id: {account_id!r}") from None
        return f"/users/{quote(account_id, safe='')}"

    async def get_account(self, account_id: str) -> Account:
        where = f"read user {account_id}"
        path = self._user_path(account_id)
        status, body, response = await self._client.get_json(
            path, where=where, params={"$select": SELECT}
        )
        if status != 200 or not isinstance(body, dict):
            raise self._raise(status, body, response, where)
        return to_account(body)

    async def verify_password(self, account: Account, secret: Secret) -> VerifyResult:
        raise NotSupported(
            f"{self._name}: Entra ID cannot check a password without signing in as "
            f"{account.username} (which counts against lockout and MFA): compare "
            "lastPasswordChangeDateTime instead"
        )

    # --- passwords --------------------------------------------------------------------------
    async def set_password(
        self, account: Account, secret: Secret, options: PasswordOptions
    ) -> Account:
        path = self._user_path(account.id)
        where = f"set the password of {account.username}"
        password = secret.reveal()
        body: dict[str, Any] = {
            "passwordProfile": {
                "password": password,
                "forceChangePasswordNextSignIn": bool(options.must_change),
            }
        }
        if options.never_expires:
            current = await self._read_user(
                path, f"read the password policies of {account.username}"
            )
            policies = current.get("passwordPolicies")
            wanted = policies_with(policies, _NEVER_EXPIRES)
            if wanted != ", ".join(p.strip() for p in (policies or "").split(",") if p.strip()):
                body["passwordPolicies"] = wanted
        read_back = Inner("GET", f"{path}?$select={SELECT}")
        patch, *rest = await self._batcher.submit([Inner("PATCH", path, body), read_back])
        if patch.status >= 400:
            err = reply_error(patch, name=self._name, where=where, denied_hint=_PUSH_HINT,
                              password_sent=True)  # fmt: skip
            raise scrub(err, password)
        if rest and rest[0].status == 200 and isinstance(rest[0].body, dict):
            return to_account(rest[0].body)
        return await self.get_account(account.id)

    async def _read_user(self, path: str, where: str) -> dict[str, Any]:
        [reply] = await self._batcher.submit([Inner("GET", f"{path}?$select={SELECT}")])
        if reply.status != 200 or not isinstance(reply.body, dict):
            raise reply_error(reply, name=self._name, where=where, denied_hint=_READ_HINT)
        return reply.body

    # --- changes ----------------------------------------------------------------------------
    async def _delta_pages(
        self, start: str, params: dict[str, str] | None, where: str, *, refusable: bool
    ) -> AsyncGenerator[tuple[list[dict[str, Any]], str | None], None]:
        """Each page of a delta listing: (its objects, the deltaLink on the last page, else
        None). ``refusable``: a 400/410 page raises :class:`_CursorRefused`."""
        prefer = {"Prefer": f"odata.maxpagesize={PAGE_SIZE}"}  # delta pages default to 100
        pages = self._client.pages(start, where=where, params=params, headers=prefer)
        try:
            async for status, body, response in pages:
                if status != 200 or not isinstance(body, dict):
                    err = self._raise(status, body, response, where,
                                      not_found=PermanentConnectorError)  # fmt: skip
                    if refusable and status in (400, 410):
                        raise _CursorRefused(str(err)) from err
                    raise err
                items = [i for i in body.get("value") or () if isinstance(i, dict)]
                link = body.get("@odata.deltaLink")
                if isinstance(link, str) and link and not body.get("@odata.nextLink"):
                    yield items, self._client.url_for(link)
                    return
                yield items, None
        finally:
            await pages.aclose()
        raise PermanentConnectorError(f"{self._name}: {where}: Graph sent no deltaLink")

    async def _delta(
        self, start: str, params: dict[str, str] | None, where: str, *, refusable: bool
    ) -> tuple[dict[str, Account | dict[str, Any] | None], str]:
        """Follow a delta listing to its deltaLink: (id -> its last state: an Account, the raw
        object when delta sent only some properties, None when removed; the deltaLink)."""
        seen: dict[str, Account | dict[str, Any] | None] = {}
        pages = self._delta_pages(start, params, where, refusable=refusable)
        try:
            async for items, link in pages:
                for key, state in delta_states(items):
                    seen.pop(key, None)  # the last appearance wins (and keeps its place)
                    seen[key] = state
                if link is not None:
                    return seen, link
        finally:
            await pages.aclose()
        raise PermanentConnectorError(f"{self._name}: {where}: Graph sent no deltaLink")

    async def _full(self, mark: _audits.Watermark, sink: AccountSink | None = None) -> ChangeSet:
        if sink is not None:
            return await streamed_full(self, mark, sink)
        where = "read every user (delta)"
        seen, link = await self._delta("/users/delta", {"$select": SELECT}, where, refusable=False)
        current = await self._complete(seen)
        notes = await self._authors(current, mark)
        accounts = tuple(a for a in current.values() if a is not None)
        cursor = encode_cursor(self._tenant, link, mark)
        return ChangeSet(changed=accounts, removed=(), cursor=cursor, full=True, notes=notes)

    async def _read_audits(self, mark: _audits.Watermark) -> dict[str, _audits.Attribution] | None:
        """The new password activities by user id (see :mod:`._audits`); None when the app
        may not read the audit log (403 Authorization_RequestDenied)."""
        # https://learn.microsoft.com/en-us/graph/api/directoryaudit-list
        where = "read the directory audit log"
        params = _audits.query(mark.since())
        entries: list[dict[str, Any]] = []
        pages = self._client.pages("/auditLogs/directoryAudits", where=where, params=params)
        try:
            async for status, body, response in pages:
                if status == 403 and graph_words(body)[0] in (
                    "Authorization_RequestDenied",
                    "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
                ):
                    return None
                if status != 200 or not isinstance(body, dict):
                    raise self._raise(status, body, response, where,
                                      not_found=PermanentConnectorError)  # fmt: skip
                entries += [e for e in body.get("value") or () if isinstance(e, dict)]
        finally:
            await pages.aclose()
        return _audits.attribute(entries, mark, self._config.bind_username)

    async def _named(
        self, mark: _audits.Watermark
    ) -> tuple[dict[str, _audits.Attribution], tuple[str, ...]]:
        """The new audit entries that name who changed a password, by user id; the run's
        notes when the audit log could not be read (then the timestamp alone decides)."""
        try:
            found = await self._read_audits(mark)
        except ConnectorError as err:  # optional: the timestamp decides, the watermark stays
            log.info("%s: reading the audit log failed: %s", self._name, err)
            return {}, (f"who changed a password is not known this run: {err}",)
        if found is None:  # a fallback, not a fault: the run's message says it (at info here)
            log.info("%s: %s", self._name, _AUDIT_DENIED)
            return {}, (_AUDIT_DENIED,)
        return {k: v for k, v in found.items() if v.by is not None}, ()

    async def _authors(
        self, current: dict[str, Account | None], mark: _audits.Watermark
    ) -> tuple[str, ...]:
        """Set ``password_changed_by`` on the accounts of ``current`` an audit entry names
        (reading by id the users it names that the delta did not send); the run's notes."""
        named, notes = await self._named(mark)
        if notes:
            return notes
        missing: dict[str, Account | dict[str, Any] | None] = {
            k: {} for k in named if k not in current
        }
        if missing:
            current.update(await self._complete(missing))
        for key, attribution in named.items():
            account = current.get(key)
            if account is None:
                continue
            authored = with_author(account, attribution)
            if authored is not None:
                current[key] = authored
            elif key in missing and account.password_changed_at is not None:
                del current[key]  # an older entry: nothing new to say about this user
        return ()

    async def _complete(
        self, seen: dict[str, Account | dict[str, Any] | None]
    ) -> dict[str, Account | None]:
        """Every object of a delta listing as an Account (None: removed); objects sent with
        only their changed properties are read again by id (batched; None when gone)."""
        out: dict[str, Account | None] = {}

        async def reread(key: str) -> None:
            try:
                user = await self._read_user(self._user_path(key), f"read user {key}")
            except AccountNotFound:
                out[key] = None
            else:
                out[key] = to_account(user)

        await asyncio.gather(*(reread(k) for k, v in seen.items() if isinstance(v, dict)))
        return {k: out.get(k) if isinstance(v, dict) else v for k, v in seen.items()}

    async def changes_since(
        self, cursor: str | None, *, sink: AccountSink | None = None
    ) -> ChangeSet:
        """See :class:`~credsync.connectors.base.StreamedChanges` for ``sink`` (a full read
        handed over page by page)."""
        link = delta_link(self._tenant, self._client.origin, cursor)
        mark = _audits.Watermark.load(cursor_fields(self._tenant, cursor).get("audit"))
        if link is None:
            if cursor:
                log.info("%s: a cursor of another tenant, host or kind: full read", self._name)
            return await self._full(mark, sink)
        where = "read changed users (delta)"
        try:
            seen, fresh = await self._delta(link, None, where, refusable=True)
        except _CursorRefused as err:
            log.warning("%s: Graph refused the delta cursor, reading everything: %s",
                        self._name, err)  # fmt: skip
            return await self._full(mark, sink)
        current = await self._complete(seen)
        removed = tuple(k for k, a in current.items() if a is None)
        notes = await self._authors(current, mark)
        return ChangeSet(
            changed=tuple(a for a in current.values() if a is not None),
            removed=removed,
            cursor=encode_cursor(self._tenant, fresh, mark),
            notes=notes,
        )

    # --- test_connection --------------------------------------------------------------------
    async def test_connection(self) -> list[TestStep]:
        return await run_test_steps(
            [
                ("connect", self._step_connect),
                ("tls", self._step_tls),
                ("token", self._step_token),
                ("permissions", self._step_permissions),
                ("directory role", self._step_role),
                ("read users", self._step_read),
            ]
        )

    def _endpoints(self) -> list[_checks.Endpoint]:
        return _checks.endpoints(self._client.auth.authority, self._client.base)

    async def _step_connect(self) -> tuple[StepOutcome, str]:
        found: list[str] = []
        for endpoint in self._endpoints():
            problem = await _checks.probe_tcp(endpoint, self._config.timeout)
            if problem is not None:
                return StepOutcome.FAILED, problem
            found.append(str(endpoint))
        return StepOutcome.OK, f"{'; '.join(found)}: accept connections"

    async def _step_tls(self) -> tuple[StepOutcome, str]:
        context = ssl_context(self._config)
        found: list[str] = []
        for endpoint in self._endpoints():
            ok, detail = await _checks.probe_tls(endpoint, context, self._config.timeout)
            if not ok:
                return StepOutcome.FAILED, detail
            found.append(detail)
        if self._config.insecure_skip_verify:
            return StepOutcome.WARNING, "certificates NOT checked: " + "; ".join(found)
        return StepOutcome.OK, "certificates trusted and valid: " + "; ".join(found)

    async def _step_token(self) -> tuple[StepOutcome, str]:
        auth = self._client.auth
        token = await auth.token(self._client.state().token_lock)
        self._claims = decode_claims(token)
        how = "certificate" if auth.credential_kind == "certificate" else "client secret"
        return StepOutcome.OK, (
            f"signed in to {auth.authority} as app {self._config.bind_username} with its {how}"
        )

    async def _step_permissions(self) -> tuple[StepOutcome, str]:
        roles = self._claims.get("roles") or []
        return _checks.permissions_step([str(r) for r in roles])

    async def _step_role(self) -> tuple[StepOutcome, str]:
        wids = self._claims.get("wids") or []
        return _checks.roles_step([str(w) for w in wids])

    async def _step_read(self) -> tuple[StepOutcome, str]:
        where = "read users"
        status, body, response = await self._client.get_json(
            "/users", where=where, params={"$top": "1", "$select": "id"}
        )
        if status != 200 or not isinstance(body, dict):
            raise self._raise(status, body, response, where, not_found=PermanentConnectorError)
        count = len(body.get("value") or [])
        more = " (and more)" if body.get("@odata.nextLink") else ""
        return (
            StepOutcome.OK,
            f"GET /users answered with {count} user{'' if count == 1 else 's'}{more}",
        )


class _CursorRefused(Exception):
    """Graph refused a deltaLink (400/410): the caller reads everything instead."""
