"""Operators who sign in with Microsoft: the vault's connection to the MSP's own tenant (an
app registration, as for directories) and the operators linked to identities there.

- **The connection** (:meth:`OperatorSignIn.setup`, admin, audited ``sign_in.setup``): the
  tenant id, the app's client id and client secret (sealed under the master key: only a
  process holding the vault unlocked, the server, can use it; rotating the master key re-wraps
  it), the authority (default ``https://login.microsoftonline.com``), extra CA certificates to
  trust for it (PEM), and the dashboard's redirect URI (``https://<dashboard>/sign-in/
  microsoft/callback``: registered on the app as a Web redirect URI). Shown without the secret
  (:meth:`show`); what a client needs to start a sign-in is public (:meth:`public`).
- **Links** (:meth:`link` / :meth:`unlink`, admin, audited ``operator.identity_link`` /
  ``operator.identity_unlink``): an operator signs in with Microsoft only when linked to a
  (tenant id, object id). One identity per operator, one operator per identity. The object id
  is the key (names change; ``oid`` does not).
- **Signing in** (:meth:`operator_for`): the identity that the provider's id token proved (see
  :mod:`credsync.connectors.operator_sign_in`) must be of the configured tenant and linked to
  an enabled operator; anything else is refused (AuthenticationFailed) and audited as
  ``auth.failed`` with the reason. Local passwords stay: an admin keeps one for when the
  tenant can't be reached (break-glass).
"""

from __future__ import annotations

import builtins
import datetime as dt
import re
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from typing_extensions import TypedDict

from credsync.connectors.operator_sign_in import ProviderConfig, VerifiedIdentity
from credsync.errors import AuthenticationFailed, Conflict, InvalidInput, NotFound
from credsync.storage import Database
from credsync.storage import operator_sign_in as rows
from credsync.storage.operators import OperatorRow
from credsync.types import Secret
from credsync.vault._time import as_utc, utcnow
from credsync.vault.access import Access
from credsync.vault.audit import AuditLog
from credsync.vault.auth import SYSTEM, Actor, Permission
from credsync.vault.directory_input import clean_ca_pem
from credsync.vault.keyring import KeyRing
from credsync.vault.models import ApiToken, iso
from credsync.vault.operators import Operators

__all__ = [
    "CALLBACK_PATH",
    "DEFAULT_AUTHORITY",
    "PROVIDER",
    "TOKEN_LIFETIME",
    "LinkedIdentity",
    "LinkedIdentityJson",
    "OperatorSignIn",
    "SignInPublicJson",
    "SignInSettings",
    "SignInSettingsJson",
]

PROVIDER = "microsoft"
DEFAULT_AUTHORITY = "https://login.microsoftonline.com"
CALLBACK_PATH = "/sign-in/microsoft/callback"
TOKEN_LIFETIME = dt.timedelta(hours=12)  # of an API token from a device code sign-in
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})


class SignInSettingsJson(TypedDict):
    provider: str
    tenant_id: str
    client_id: str
    authority: str
    redirect_uri: str
    has_ca: bool
    has_secret: bool
    updated_at: str | None
    updated_by: str


class LinkedIdentityJson(TypedDict):
    operator: str
    tenant_id: str
    object_id: str
    username: str
    linked_at: str | None
    linked_by: str
    source: str
    review: str | None


class SignInPublicJson(TypedDict):
    provider: str
    tenant_id: str
    client_id: str
    authority: str
    ca_pem: str | None


@dataclass(frozen=True)
class SignInSettings:
    """The connection as an admin sees it: no secret, only whether one is set."""

    tenant_id: str
    client_id: str
    authority: str
    redirect_uri: str
    has_ca: bool
    updated_at: dt.datetime
    updated_by: str

    def to_json(self) -> SignInSettingsJson:
        return {
            "provider": PROVIDER,
            "tenant_id": self.tenant_id,
            "client_id": self.client_id,
            "authority": self.authority,
            "redirect_uri": self.redirect_uri,
            "has_ca": self.has_ca,
            "has_secret": True,
            "updated_at": iso(self.updated_at),
            "updated_by": self.updated_by,
        }


@dataclass(frozen=True)
class LinkedIdentity:
    operator: str
    tenant_id: str
    object_id: str
    username: str
    linked_at: dt.datetime
    linked_by: str
    source: str = "link"
    review: str | None = None  # why a sync disabled the operator: to review

    def to_json(self) -> LinkedIdentityJson:
        return {
            "operator": self.operator,
            "tenant_id": self.tenant_id,
            "object_id": self.object_id,
            "username": self.username,
            "linked_at": iso(self.linked_at),
            "linked_by": self.linked_by,
            "source": self.source,
            "review": self.review,
        }


def clean_guid(value: str, field: str, label: str) -> str:
    text = (value or "").strip().lower()
    if not _GUID.match(text):
        raise InvalidInput(
            f"the {label} must be a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)", field=field
        )
    return text


def clean_url(value: str, field: str, label: str) -> str:
    """An https URL (http only to this machine), at most 500 characters, no fragment."""
    text = (value or "").strip()
    parts = urlsplit(text)
    secure = parts.scheme == "https" or (
        parts.scheme == "http" and (parts.hostname or "") in _LOOPBACK
    )
    if not text or len(text) > 500 or not parts.netloc or not secure or parts.fragment:
        raise InvalidInput(
            f"the {label} must be an https:// URL (http:// only on this machine), without a "
            "#fragment, at most 500 characters",
            field=field,
        )
    return text.rstrip("/") if field == "authority" else text


class OperatorSignIn:
    def __init__(self, db: Database, audit: AuditLog, operators: Operators, access: Access) -> None:
        self._db = db
        self._audit = audit
        self._operators = operators
        self._access = access

    # --- the connection ----------------------------------------------------------------------
    def setup(
        self,
        actor: Actor,
        keys: KeyRing,
        *,
        tenant_id: str,
        client_id: str,
        redirect_uri: str,
        client_secret: Secret | None = None,
        authority: str | None = None,
        ca_pem: str | None = None,
    ) -> SignInSettings:
        """Connect (or reconnect) the MSP's tenant. The secret is needed the first time; left
        out later, the stored one stays."""
        actor.require(Permission.ADMIN)
        tenant = clean_guid(tenant_id, "tenant_id", "tenant id")
        client = clean_guid(client_id, "client_id", "client id (application id)")
        redirect = clean_url(redirect_uri, "redirect_uri", "redirect URI")
        base = clean_url(authority or DEFAULT_AUTHORITY, "authority", "authority")
        ca = clean_ca_pem(ca_pem.strip() or None) if ca_pem is not None else None
        if client_secret is not None:
            text = client_secret.reveal().strip()
            if not text or len(text) > 1024:
                raise InvalidInput(
                    "the client secret must be 1 to 1024 characters", field="client_secret"
                )
        with self._db.write() as conn:
            old = rows.provider(conn, PROVIDER)
            if client_secret is not None:
                sealed = keys.kek().wrap_sign_in_secret(PROVIDER, client_secret.reveal().strip())
            elif old is not None:
                sealed = old.secret_ct
            else:
                raise InvalidInput(
                    "give the app's client secret (its value, not its id)", field="client_secret"
                )
            row = rows.ProviderRow(
                PROVIDER, tenant, client, sealed, base, ca, redirect, utcnow(), actor.name
            )
            rows.put_provider(conn, row)
            self._audit.append(
                conn,
                actor,
                "sign_in.setup",
                target_type="sign_in",
                target_id=PROVIDER,
                details={
                    "tenant_id": tenant,
                    "client_id": client,
                    "authority": base,
                    "redirect_uri": redirect,
                    "secret_changed": client_secret is not None,
                    "ca": ca is not None,
                },
            )
        return _settings(row)

    def show(self, actor: Actor) -> SignInSettings | None:
        actor.require(Permission.ADMIN)
        with self._db.read() as conn:
            row = rows.provider(conn, PROVIDER)
        return None if row is None else _settings(row)

    def public(self) -> SignInPublicJson | None:
        """What a client needs to start a sign-in (no secret): the tenant, the app, the
        authority and its extra CAs (certificates are public). None: not connected."""
        with self._db.read() as conn:
            row = rows.provider(conn, PROVIDER)
        if row is None:
            return None
        return {
            "provider": PROVIDER,
            "tenant_id": row.tenant_id,
            "client_id": row.client_id,
            "authority": row.authority,
            "ca_pem": row.ca_pem,
        }

    def configured(self) -> bool:
        with self._db.read() as conn:
            return rows.provider(conn, PROVIDER) is not None

    def provider_config(self, keys: KeyRing) -> ProviderConfig:
        """The connection with its secret opened (the server's, to redeem codes);
        NotFound when none is set up."""
        with self._db.read() as conn:
            row = rows.provider(conn, PROVIDER)
        if row is None:
            raise NotFound("sign-in with Microsoft is not set up")
        secret = keys.kek().unwrap_sign_in_secret(PROVIDER, row.secret_ct)
        return ProviderConfig(
            tenant_id=row.tenant_id,
            client_id=row.client_id,
            authority=row.authority,
            client_secret=secret,
            ca_pem=row.ca_pem,
            redirect_uri=row.redirect_uri,
        )

    # --- links -------------------------------------------------------------------------------
    def link(
        self,
        actor: Actor,
        operator: str,
        object_id: str,
        *,
        tenant_id: str | None = None,
        username: str = "",
        source: str = "link",
    ) -> LinkedIdentity:
        """Link ``operator`` to the user ``object_id`` of the connected tenant (or
        ``tenant_id``); Conflict when another operator has that identity. ``source``:
        ``import`` when the import of operators made the operator."""
        actor.require(Permission.ADMIN)
        oid = clean_guid(object_id, "object_id", "object id")
        name = (username or "").strip()
        if len(name) > 256:
            raise InvalidInput("the user name is too long (at most 256)", field="username")
        with self._db.write() as conn:
            configured = rows.provider(conn, PROVIDER)
            if tenant_id:
                tenant = clean_guid(tenant_id, "tenant_id", "tenant id")
            elif configured is not None:
                tenant = configured.tenant_id
            else:
                raise InvalidInput(
                    "sign-in with Microsoft is not set up: give the tenant id", field="tenant_id"
                )
            row = self._operators.find_row(conn, operator, lock=True)
            holder = rows.operator_of(conn, PROVIDER, tenant, oid)
            if holder is not None and holder != row.id:
                other = self._operators.find_row(conn, holder)
                raise Conflict(f"that Microsoft identity is linked to operator {other.name!r}")
            linked = rows.IdentityRow(
                row.id, PROVIDER, tenant, oid, name, utcnow(), actor.name, source
            )
            rows.link(conn, linked)
            self._audit.append(
                conn,
                actor,
                "operator.identity_link",
                target_type="operator",
                target_id=row.id,
                details={
                    "provider": PROVIDER,
                    "tenant_id": tenant,
                    "object_id": oid,
                    "source": source,
                },
            )
        return LinkedIdentity(row.name, tenant, oid, name, linked.linked_at, actor.name, source)

    def unlink(self, actor: Actor, operator: str) -> None:
        actor.require(Permission.ADMIN)
        with self._db.write() as conn:
            row = self._operators.find_row(conn, operator, lock=True)
            if not rows.unlink(conn, row.id):
                raise NotFound(f"operator {row.name!r} is not linked to a Microsoft identity")
            self._audit.append(
                conn,
                actor,
                "operator.identity_unlink",
                target_type="operator",
                target_id=row.id,
                details={"provider": PROVIDER},
            )

    def links(self, actor: Actor) -> builtins.list[LinkedIdentity]:
        actor.require(Permission.ADMIN)
        with self._db.read() as conn:
            found = rows.identities(conn, PROVIDER)
            names = {
                r.operator_id: self._operators.find_row(conn, r.operator_id).name for r in found
            }
        return [
            LinkedIdentity(
                names[r.operator_id],
                r.tenant_id,
                r.object_id,
                r.username,
                as_utc(r.linked_at),
                r.linked_by,
                r.source,
                r.review,
            )
            for r in found
        ]

    # --- signing in --------------------------------------------------------------------------
    def operator_for(self, identity: VerifiedIdentity) -> OperatorRow:
        """The enabled operator linked to ``identity`` (already verified); else
        AuthenticationFailed, audited as ``auth.failed``."""
        with self._db.read() as conn:
            configured = rows.provider(conn, PROVIDER)
            if configured is None:
                raise AuthenticationFailed("sign-in with Microsoft is not set up")
            operator_id = None
            if identity.tenant_id.lower() == configured.tenant_id:
                operator_id = rows.operator_of(
                    conn, PROVIDER, identity.tenant_id, identity.object_id
                )
            row = None if operator_id is None else self._operators.find_row(conn, operator_id)
        if row is None:
            self._refused(identity.username or identity.object_id, "no operator is linked to it")
            raise AuthenticationFailed(
                f"no operator is linked to the Microsoft account {identity.username!r}: ask an "
                "admin to link it"
            )
        if row.disabled_at is not None:
            self._refused(row.name, "operator is disabled")
            raise AuthenticationFailed(f"operator {row.name!r} is disabled")
        return row

    def api_token(self, identity: VerifiedIdentity) -> tuple[ApiToken, Secret]:
        """An API token for the operator linked to ``identity`` (verified: a command line's
        device code sign-in), living :data:`TOKEN_LIFETIME`; audited ``token.create``. An
        operator with a second factor of the vault's is refused (MfaRequired), as for a
        token asked by a session that did not pass it."""
        row = self.operator_for(identity)
        with self._db.write() as conn:
            actor = self._access.signed_in_with(conn, row.id, PROVIDER)
        name = f"{PROVIDER} sign-in {utcnow():%Y-%m-%d %H:%M:%S} {secrets.token_hex(3)}"
        return self._access.create_token(actor, name, expires_in=TOKEN_LIFETIME)

    def _refused(self, who: str, why: str) -> None:
        with self._db.write() as conn:
            self._audit.append(
                conn,
                SYSTEM,
                "auth.failed",
                target_type="operator",
                target_id=who[:64],
                details={"reason": why, "via": PROVIDER},
            )


def _settings(row: rows.ProviderRow) -> SignInSettings:
    return SignInSettings(
        row.tenant_id,
        row.client_id,
        row.authority,
        row.redirect_uri,
        row.ca_pem is not None,
        as_utc(row.updated_at),
        row.updated_by,
    )
