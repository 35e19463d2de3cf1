"""Directories: one connection to one directory service, belonging to exactly one client.

A directory names its kind, endpoint, TLS trust (the CA certificates themselves are stored, so
an agent on another host needs no file), the ``directory_admin`` credential it binds with, its
scope (base DN) and its options. Names are unique across the vault, so ``credsync directory
test NAME`` needs no client.

Kinds:

- ``active_directory``: ``url`` is ``ldaps://`` or ``ldap://`` (StartTLS), ``base_dn`` the
  scope; the bind credential's username and password bind.
- ``entra`` (Entra ID / Azure AD / Office 365): ``url`` is the Microsoft Graph endpoint
  (default ``https://graph.microsoft.com``), ``authority`` the identity platform (default
  ``https://login.microsoftonline.com``), ``tenant_id`` and ``app_id`` the tenant and the
  application (client) id; the bind credential holds the app's certificate and private key in
  PEM (``bind_kind`` "certificate", preferred) or its client secret ("secret"). The whole
  tenant's users are in scope: there is no base DN.
"""

from __future__ import annotations

import builtins
import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from credsync.errors import AlreadyExists, Conflict, InvalidInput, NotFound
from credsync.storage import Database
from credsync.storage.tables import (
    clients,
    credentials,
    directories,
    directory_accounts,
    flags,
    links,
    run_items,
    runs,
    sync_queue,
)
from credsync.types import CredentialType, new_id
from credsync.vault._time import as_utc, as_utc_opt, utcnow
from credsync.vault.audit import AuditLog
from credsync.vault.auth import Actor, Permission
from credsync.vault.clients import find_client_row
from credsync.vault.models import iso
from credsync.vault.validate import clean_name, clean_text, name_key

__all__ = [
    "DEFAULT_OPTIONS",
    "KINDS",
    "Directories",
    "Directory",
    "check_not_binding",
    "find_directory_row",
    "forget_credential",
]

KINDS = ("active_directory", "entra")
KIND_ALIASES = {
    "active-directory": "active_directory",
    "ad": "active_directory",
    "entra-id": "entra",
    "entra_id": "entra",
    "azure-ad": "entra",
    "azure_ad": "entra",
}
BIND_KINDS = ("certificate", "secret")
DEFAULT_GRAPH_URL = "https://graph.microsoft.com"
DEFAULT_AUTHORITY = "https://login.microsoftonline.com"
_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-zA-Z0-9-]{1,63}\.)+[a-zA-Z]{2,63}$")

# Options every directory has, with their defaults and bounds (seconds, counts, percent).
DEFAULT_OPTIONS: dict[str, int] = {
    "interval": 60,  # seconds between periodic runs of the agent
    "jitter": 10,  # up to this many seconds added at random to each interval
    "full_pass_hours": 24,  # an incremental run becomes a full pass after this long
    "push_cap": 500,  # pushes one run may make before it stops
    "min_account_ratio": 50,  # a pass reading under this % of the last full one acts on nothing
    "force_change": 0,  # 1: a pushed password must be changed at the user's next sign-in
    "never_expires": 0,  # 1 (Entra only): pushes set passwordPolicies DisablePasswordExpiration
}
_ENTRA_ONLY_OPTIONS = frozenset({"never_expires"})
_BOUNDS = {
    "interval": (5, 86_400),
    "jitter": (0, 3_600),
    "full_pass_hours": (1, 24 * 7),
    "push_cap": (1, 1_000_000),
    "min_account_ratio": (0, 100),
    "force_change": (0, 1),
    "never_expires": (0, 1),
}
MAX_CA_BYTES = 256 * 1024


@dataclass(frozen=True)
class Directory:
    id: str
    client_id: str
    client_name: str
    name: str
    kind: str
    url: str
    base_dn: str
    bind_credential_id: str
    ca_pem: str | None
    tls_server_name: str | None
    insecure_skip_verify: bool
    tenant_id: str | None
    app_id: str | None
    authority: str | None
    bind_kind: str | None
    options: dict[str, int]
    cursor: str | None
    full_pass_at: dt.datetime | None
    account_count: int | None
    next_run_at: dt.datetime | None
    failures: int
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime

    def option(self, name: str) -> int:
        return self.options.get(name, DEFAULT_OPTIONS[name])

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "client_id": self.client_id,
            "client": self.client_name,
            "name": self.name,
            "kind": self.kind,
            "url": self.url,
            "base_dn": self.base_dn,
            "bind_credential_id": self.bind_credential_id,
            "ca": "configured" if self.ca_pem else None,
            "tls_server_name": self.tls_server_name,
            "insecure_skip_verify": self.insecure_skip_verify,
            "tenant_id": self.tenant_id,
            "app_id": self.app_id,
            "authority": self.authority,
            "bind_kind": self.bind_kind,
            "options": {**DEFAULT_OPTIONS, **self.options},
            "incremental": self.cursor is not None,
            "full_pass_at": iso(self.full_pass_at),
            "account_count": self.account_count,
            "next_run_at": iso(self.next_run_at),
            "failures": self.failures,
            "version": self.version,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
        }


_SELECT = sa.select(directories, clients.c.name.label("client_name")).join(
    clients, clients.c.id == directories.c.client_id
)


def directory_model(row: Any) -> Directory:
    return Directory(
        id=row.id,
        client_id=row.client_id,
        client_name=row.client_name,
        name=row.name,
        kind=row.kind,
        url=row.url,
        base_dn=row.base_dn,
        bind_credential_id=row.bind_credential_id,
        ca_pem=row.ca_pem,
        tls_server_name=row.tls_server_name,
        insecure_skip_verify=bool(row.insecure_skip_verify),
        tenant_id=row.tenant_id,
        app_id=row.app_id,
        authority=row.authority,
        bind_kind=row.bind_kind,
        options=json.loads(row.options),
        cursor=row.cursor,
        full_pass_at=as_utc_opt(row.full_pass_at),
        account_count=row.account_count,
        next_run_at=as_utc_opt(row.next_run_at),
        failures=row.failures,
        version=row.version,
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
    )


def find_directory_row(conn: Connection, ref: str) -> Any:
    """A directory by id or name (case-insensitive)."""
    ref = ref.strip()
    row = conn.execute(
        _SELECT.where(
            sa.or_(directories.c.id == ref, directories.c.name_key == name_key(ref))
        ).limit(1)
    ).first()
    if row is None:
        raise NotFound(f"no directory named {ref!r} (see `credsync directory list`)")
    return row


def check_not_binding(conn: Connection, credential_id: str) -> None:
    """A credential a directory binds with can't go to the trash."""
    name = conn.execute(
        sa.select(directories.c.name).where(directories.c.bind_credential_id == credential_id)
    ).scalar()
    if name is not None:
        raise InvalidInput(
            f"credential {credential_id} is the bind credential of directory {name!r}: give "
            "the directory another one first (`credsync directory set --bind-credential`)"
        )


def forget_credential(conn: Connection, credential_id: str) -> None:
    """Remove a purged credential's links, flags and queued pushes (run reports keep it)."""
    for table in (links, flags, sync_queue):
        conn.execute(table.delete().where(table.c.credential_id == credential_id))


def clean_kind(kind: str) -> str:
    value = KIND_ALIASES.get(kind.strip().lower(), kind.strip().lower())
    if value not in KINDS:
        raise InvalidInput(
            f"directory kind {kind!r} is not supported (one of: active-directory, entra)"
        )
    return value


def clean_url(kind: str, url: str) -> str:
    url = clean_name(url, "directory url", 2048)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidInput(f"directory url {url!r} is not valid: {exc}") from None
    if kind == "active_directory":
        if parts.scheme not in ("ldaps", "ldap") or not parts.hostname:
            raise InvalidInput(
                f"directory url {url!r} must be ldaps://HOST[:PORT] or ldap://HOST[:PORT] "
                "(ldap:// always uses StartTLS)"
            )
        if parts.path not in ("", "/") or parts.query or parts.username:
            raise InvalidInput(f"directory url {url!r} must be only scheme, host and port")
        default = 636 if parts.scheme == "ldaps" else 389
        return f"{parts.scheme}://{parts.hostname}:{port or default}"
    return clean_https_url(url, "directory url", strip_path=("/v1.0",))


def clean_https_url(url: str, what: str, *, strip_path: tuple[str, ...] = ()) -> str:
    """An https:// endpoint (Graph, the identity platform): scheme, host, port and at most a
    path prefix; no query, no credentials."""
    url = clean_name(url, what, 2048)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidInput(f"{what} {url!r} is not valid: {exc}") from None
    if parts.scheme != "https" or not parts.hostname:
        raise InvalidInput(f"{what} {url!r} must be https://HOST[:PORT] (plain http is refused)")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise InvalidInput(f"{what} {url!r} must be only scheme, host, port and path")
    path = parts.path.rstrip("/")
    for suffix in strip_path:
        path = path.removesuffix(suffix)
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"https://{host}{f':{port}' if port else ''}{path}"


def clean_tenant_id(tenant_id: str) -> str:
    value = tenant_id.strip()
    if _GUID.match(value):
        return value.lower()
    if _DOMAIN.match(value):
        return value.lower()
    raise InvalidInput(
        f"tenant id {tenant_id!r} must be the tenant's id (a GUID) or one of its domain names "
        "(contoso.onmicrosoft.com)"
    )


def clean_app_id(app_id: str) -> str:
    value = app_id.strip()
    if not _GUID.match(value):
        raise InvalidInput(
            f"client id {app_id!r} must be the application (client) id of the app "
            "registration: a GUID such as 00000000-0000-0000-0000-000000000000"
        )
    return value.lower()


def _entra_values(
    kind: str,
    tenant_id: str | None,
    app_id: str | None,
    authority: str | None,
    bind_kind: str | None,
) -> dict[str, str | None]:
    """The Entra-only columns, checked (all None for other kinds, which must not give them)."""
    if kind != "entra":
        if any(v is not None for v in (tenant_id, app_id, authority, bind_kind)):
            raise InvalidInput(
                "--tenant-id, --client-id, --authority and --certificate-credential / "
                "--secret-credential are for Entra directories only"
            )
        return {"tenant_id": None, "app_id": None, "authority": None, "bind_kind": None}
    if not tenant_id or not app_id:
        raise InvalidInput(
            "an Entra directory needs its tenant id and its app's client id (--tenant-id, "
            "--client-id; API: tenant_id, app_id)"
        )
    if bind_kind not in BIND_KINDS:
        raise InvalidInput(
            "an Entra directory signs in with an app credential: give "
            "--certificate-credential (preferred) or --secret-credential"
        )
    return {
        "tenant_id": clean_tenant_id(tenant_id),
        "app_id": clean_app_id(app_id),
        "authority": clean_https_url(authority or DEFAULT_AUTHORITY, "authority"),
        "bind_kind": bind_kind,
    }


def clean_ca_pem(pem: str | None) -> str | None:
    if pem is None:
        return None
    if len(pem) > MAX_CA_BYTES:
        raise InvalidInput(f"the CA file is too large (at most {MAX_CA_BYTES} bytes)")
    if "-----BEGIN CERTIFICATE-----" not in pem:
        raise InvalidInput("the CA file holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
    from credsync.crypto.certs import check_ca_pem

    check_ca_pem(pem)
    return pem


def clean_options(
    kind: str, given: dict[str, int], current: dict[str, int] | None = None
) -> dict[str, int]:
    out = dict(current or {})
    for key, value in given.items():
        if key not in DEFAULT_OPTIONS:
            raise InvalidInput(
                f"unknown directory option {key!r} (one of: {', '.join(DEFAULT_OPTIONS)})"
            )
        if key in _ENTRA_ONLY_OPTIONS and kind != "entra" and value:
            raise InvalidInput(
                f"directory option {key} is for Entra directories only (in Active Directory, "
                "set 'password never expires' on the account itself)"
            )
        low, high = _BOUNDS[key]
        if not low <= value <= high:
            raise InvalidInput(f"directory option {key} must be between {low} and {high}")
        out[key] = value
    return out


class Directories:
    def __init__(self, db: Database, audit: AuditLog) -> None:
        self._db = db
        self._audit = audit

    def add(
        self,
        actor: Actor,
        client_ref: str,
        name: str,
        *,
        kind: str,
        url: str | None,
        base_dn: str | None,
        bind_credential: str,
        ca_pem: str | None = None,
        tls_server_name: str | None = None,
        insecure_skip_verify: bool = False,
        options: dict[str, int] | None = None,
        tenant_id: str | None = None,
        app_id: str | None = None,
        authority: str | None = None,
        bind_kind: str | None = None,
    ) -> Directory:
        """Add a directory. Active Directory needs ``url`` and ``base_dn``; Entra needs
        ``tenant_id``, ``app_id`` and ``bind_kind`` ("certificate" or "secret"), and takes
        ``url`` (Graph) and ``authority`` when they are not Microsoft's global cloud."""
        actor.require(Permission.DIRECTORY_SETUP, Permission.DIRECTORY_ADMIN_USE)
        name = clean_name(name, "directory name", 100)
        kind = clean_kind(kind)
        tls_name = clean_text(tls_server_name, "TLS server name", 255) or None
        entra = _entra_values(kind, tenant_id, app_id, authority, bind_kind)
        if kind == "entra":
            if base_dn:
                raise InvalidInput(
                    "an Entra directory has no base DN: leave it out (--base-dn, base_dn)"
                )
            if tls_name:
                raise InvalidInput(
                    "a TLS server name (--tls-server-name, tls_server_name) is for Active "
                    "Directory only"
                )
            url, base_dn = clean_url(kind, url or DEFAULT_GRAPH_URL), ""
        else:
            if not url or not base_dn:
                raise InvalidInput(
                    "an Active Directory directory needs a URL and a base DN (--url, --base-dn; "
                    "API: url, base_dn)"
                )
            url, base_dn = clean_url(kind, url), clean_name(base_dn, "base DN", 2048)
        ca = clean_ca_pem(ca_pem)
        opts = clean_options(kind, options or {})
        directory_id = new_id()
        with self._db.write() as conn:
            client = find_client_row(conn, client_ref)
            if client.archived_at is not None:
                raise InvalidInput(f"client {client.name!r} is archived: unarchive it first")
            if conn.execute(
                sa.select(directories.c.id).where(directories.c.name_key == name_key(name))
            ).first():
                raise AlreadyExists(f"a directory named {name!r} already exists")
            bind_id = self._bind_credential(conn, bind_credential, client.id)
            now = utcnow()
            conn.execute(
                directories.insert().values(
                    id=directory_id,
                    client_id=client.id,
                    name=name,
                    name_key=name_key(name),
                    kind=kind,
                    url=url,
                    base_dn=base_dn,
                    bind_credential_id=bind_id,
                    ca_pem=ca,
                    tls_server_name=tls_name,
                    insecure_skip_verify=insecure_skip_verify,
                    **entra,
                    options=json.dumps(opts, sort_keys=True),
                    failures=0,
                    version=1,
                    created_at=now,
                    updated_at=now,
                )
            )
            self._audit.append(
                conn,
                actor,
                "directory.add",
                target_type="directory",
                target_id=directory_id,
                client_id=client.id,
                details={
                    "name": name,
                    "kind": kind,
                    "url": url,
                    "base_dn": base_dn,
                    "bind_credential_id": bind_id,
                    "ca": ca is not None,
                    "tls_server_name": tls_name,
                    "insecure_skip_verify": insecure_skip_verify,
                    **{k: v for k, v in entra.items() if v is not None},
                    "options": opts,
                },
            )
            return directory_model(find_directory_row(conn, directory_id))

    @staticmethod
    def _bind_credential(conn: Connection, ref: str, client_id: str) -> str:
        ref = ref.strip().lower()
        rows = conn.execute(
            sa.select(credentials.c.id, credentials.c.client_id, credentials.c.type)
            .where(credentials.c.id.startswith(ref, autoescape=True))
            .where(credentials.c.deleted_at.is_(None))
            .limit(2)
        ).all()
        if len(ref) < 8 or not rows:
            raise NotFound(f"no credential with id {ref} to bind with")
        if len(rows) > 1:
            raise InvalidInput(f"credential id {ref} is ambiguous: give more characters")
        row = rows[0]
        if row.client_id != client_id:
            raise InvalidInput(f"the bind credential {row.id} belongs to another client")
        if row.type != CredentialType.DIRECTORY_ADMIN.value:
            raise InvalidInput(
                f"the bind credential {row.id} must have type directory_admin "
                f"(it is {row.type}): `credsync cred edit {row.id[:8]} --type directory_admin`"
            )
        return str(row.id)

    def list(self, actor: Actor, client_ref: str | None = None) -> builtins.list[Directory]:
        actor.require(Permission.VAULT_READ)
        with self._db.read() as conn:
            query = _SELECT.order_by(directories.c.name_key)
            if client_ref:
                query = query.where(directories.c.client_id == find_client_row(conn, client_ref).id)
            return [directory_model(r) for r in conn.execute(query)]

    def get(self, actor: Actor, ref: str) -> Directory:
        actor.require(Permission.VAULT_READ)
        with self._db.read() as conn:
            return directory_model(find_directory_row(conn, ref))

    def update(
        self,
        actor: Actor,
        ref: str,
        *,
        url: str | None = None,
        base_dn: str | None = None,
        bind_credential: str | None = None,
        ca_pem: str | None = None,
        tls_server_name: str | None = None,
        insecure_skip_verify: bool | None = None,
        options: dict[str, int] | None = None,
        expected_version: int | None = None,
        tenant_id: str | None = None,
        app_id: str | None = None,
        authority: str | None = None,
        bind_kind: str | None = None,
    ) -> Directory:
        """Change what is given (None: no change); ``ca_pem=""`` removes the directory's own
        CA, so that its certificate is checked against the system's CAs again."""
        actor.require(Permission.DIRECTORY_SETUP, Permission.DIRECTORY_ADMIN_USE)
        with self._db.write() as conn:
            row = find_directory_row(conn, ref)
            if expected_version is not None and expected_version != row.version:
                raise Conflict(f"directory {row.name!r} changed since you read it: reload")
            values: dict[str, Any] = {}
            if url is not None:
                values["url"] = clean_url(row.kind, url)
            if base_dn is not None:
                if row.kind == "entra":
                    raise InvalidInput("an Entra directory has no base DN")
                values["base_dn"] = clean_name(base_dn, "base DN", 2048)
                values["cursor"] = None  # a new scope starts with a full pass
            entra_given = (tenant_id, app_id, authority, bind_kind)
            if any(v is not None for v in entra_given):
                if row.kind != "entra":
                    raise InvalidInput(
                        "--tenant-id, --client-id, --authority and the certificate or secret "
                        "credential are for Entra directories only"
                    )
                current = _entra_values(
                    row.kind,
                    tenant_id or row.tenant_id,
                    app_id or row.app_id,
                    authority or row.authority,
                    bind_kind or row.bind_kind,
                )
                values.update({k: v for k, v in current.items() if v != getattr(row, k)})
                if "tenant_id" in values:
                    values["cursor"] = None  # another tenant starts with a full pass
            if bind_credential is not None:
                values["bind_credential_id"] = self._bind_credential(
                    conn, bind_credential, row.client_id
                )
            if ca_pem == "":
                values["ca_pem"] = None  # no CA of its own: the system's CAs again
            elif ca_pem is not None:
                values["ca_pem"] = clean_ca_pem(ca_pem)
            if tls_server_name is not None:
                values["tls_server_name"] = clean_text(tls_server_name, "TLS server name", 255)
            if insecure_skip_verify is not None:
                values["insecure_skip_verify"] = insecure_skip_verify
            if options:
                values["options"] = json.dumps(
                    clean_options(row.kind, options, json.loads(row.options)), sort_keys=True
                )
            if not values:
                raise InvalidInput("nothing to change")
            conn.execute(
                directories.update()
                .where(directories.c.id == row.id)
                .values(version=row.version + 1, updated_at=utcnow(), **values)
            )
            shown = {k: v for k, v in values.items() if k not in ("ca_pem", "cursor")}
            if "ca_pem" in values:
                shown["ca"] = values["ca_pem"] is not None  # False: removed
            self._audit.append(
                conn,
                actor,
                "directory.update",
                target_type="directory",
                target_id=row.id,
                client_id=row.client_id,
                details=shown,
            )
            return directory_model(find_directory_row(conn, row.id))

    def remove(self, actor: Actor, ref: str) -> Directory:
        """Forget a directory with its links, account cache, runs and flags (the credentials
        stay; the audit log keeps what happened)."""
        actor.require(Permission.DIRECTORY_SETUP)
        with self._db.write() as conn:
            row = find_directory_row(conn, ref)
            model = directory_model(row)
            run_ids = sa.select(runs.c.id).where(runs.c.directory_id == row.id)
            conn.execute(run_items.delete().where(run_items.c.run_id.in_(run_ids)))
            for table in (runs, flags, sync_queue, links, directory_accounts):
                conn.execute(table.delete().where(table.c.directory_id == row.id))
            conn.execute(directories.delete().where(directories.c.id == row.id))
            self._audit.append(
                conn,
                actor,
                "directory.remove",
                target_type="directory",
                target_id=row.id,
                client_id=row.client_id,
                details={"name": row.name},
            )
            return model
