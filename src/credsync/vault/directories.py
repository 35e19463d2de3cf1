"""Directories: one connection to one directory service, belonging to exactly one client.

A directory names its kind, the kind's settings (endpoint, scope, tenant...: what they are and
how they are checked is the kind's descriptor's business, see
:mod:`credsync.connectors.kinds`), the ``directory_admin`` credential it binds with and how
(``bind_kind``, for kinds with several ways to sign in), its TLS trust (the CA certificates
themselves are stored, so an agent on another host needs no file) and its options. Names are
unique across the vault, so ``credsync directory test NAME`` needs no client.

Every boundary hands what a user gave as a :class:`DirectoryInput`, made from the same input
names everywhere (:meth:`DirectoryInput.of`): each kind's settings and bind inputs, ``ca_pem``,
``insecure_skip_verify``, ``options``. A refused value raises InvalidInput with the ``field`` it
concerns (the checks are :mod:`credsync.vault.directory_input`'s).
"""

from __future__ import annotations

import builtins
import dataclasses
import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

from sqlalchemy.engine import Connection
from typing_extensions import TypedDict

from credsync.connectors import registry
from credsync.connectors.kinds import Kind
from credsync.errors import AlreadyExists, Conflict, InvalidInput, NotFound
from credsync.storage import Database, push_queue
from credsync.storage import accounts as account_rows
from credsync.storage import auto_create as auto_create_rows
from credsync.storage import capture as capture_rows
from credsync.storage import deleted_keeps as keep_rows
from credsync.storage import directories as rows
from credsync.storage import flags as flag_rows
from credsync.storage import group_export as group_export_rows
from credsync.storage import groups as group_rows
from credsync.storage import import_selections as selection_rows
from credsync.storage import links as link_rows
from credsync.storage import people as people_rows
from credsync.storage import provisioning as provision_rows
from credsync.storage import quarantine as quarantine_rows
from credsync.storage import relays as relay_rows
from credsync.storage import runs as run_rows
from credsync.storage import sync_credentials as credential_rows
from credsync.types import CredentialType, new_id
from credsync.vault._time import as_utc, as_utc_opt, utcnow
from credsync.vault.audit import AuditLog
from credsync.vault.auth import Actor, Permission
from credsync.vault.clients import find_client_row, sees_directory_admin
from credsync.vault.directory_input import (
    COMMON_OPTIONS,
    DirectoryInput,
    clean_ca_pem,
    clean_options,
    options_of,
)
from credsync.vault.models import Timestamp, iso
from credsync.vault.quarantine_defaults import vault_defaults
from credsync.vault.validate import clean_name, name_key

__all__ = [
    "COMMON_OPTIONS",
    "Directories",
    "Directory",
    "DirectoryInput",
    "DirectoryJson",
    "check_not_binding",
    "check_settings_version",
    "find_directory_row",
    "forget_credential",
    "shown_to",
]


class DirectoryJson(TypedDict):
    """What every directory shows; its JSON also has every kind's settings by name, after
    ``kind`` (its own kind's, the others null)."""

    id: str
    client_id: str
    client: str
    name: str
    kind: str
    url: str
    """Where the directory is reached (its kind's endpoint)."""
    bind_credential_id: str | None
    """The directory_admin credential it binds or signs in with (null: not shown to a caller
    without directory_admin.use; every directory has one)."""
    bind_kind: str | None
    """Which of its kind's ways to sign in the credential is for (null: the kind's only one)."""
    ca: Literal["configured"] | None
    """"configured" when a CA is stored."""
    insecure_skip_verify: bool
    options: dict[str, int]
    options_from: dict[str, str]
    """Where each option's value comes from: directory, vault (vault-wide) or built-in."""
    incremental: bool
    """An incremental cursor is stored."""
    full_pass_at: Timestamp | None
    account_count: int | None
    next_run_at: Timestamp | None
    failures: int
    version: int
    created_at: Timestamp
    updated_at: Timestamp


@dataclass(frozen=True)
class Directory:
    id: str
    client_id: str
    client_name: str
    name: str
    kind: str
    settings: Mapping[str, str]
    bind_credential_id: str | None  # None: not shown (the reader lacks directory_admin.use)
    bind_kind: str | None
    ca_pem: str | None
    insecure_skip_verify: bool
    options: dict[str, int]
    cursor: str | None
    full_pass_at: dt.datetime | None
    account_count: int | None
    next_run_at: dt.datetime | None
    failures: int
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime
    # the vault-wide quarantine thresholds (credsync.vault.quarantine_defaults), when loaded
    defaults: Mapping[str, int] = dataclasses.field(default_factory=dict)

    @property
    def descriptor(self) -> Kind[Any]:
        return registry.kind_of(self.kind)

    @property
    def url(self) -> str:
        """Where the directory is reached (its kind's endpoint)."""
        kind = self.descriptor
        return kind.endpoint(kind.load(self.settings))

    @property
    def scope(self) -> str:
        """What of the directory is in scope, in a few words (a base DN, a tenant)."""
        kind = self.descriptor
        return kind.scope(kind.load(self.settings))

    def setting(self, name: str) -> str | None:
        return self.settings.get(name)

    def option(self, name: str) -> int:
        """The option's value: the directory's own, else the vault-wide one (the quarantine
        thresholds), else its built-in default (0 for an option the kind lacks)."""
        if name in self.options:
            return self.options[name]
        if name in self.defaults:
            return self.defaults[name]
        spec = next((o for o in options_of(self.descriptor) if o.name == name), None)
        return spec.default if spec is not None else 0

    def option_source(self, name: str) -> Literal["directory", "vault", "built-in"]:
        """Where :meth:`option`'s value comes from."""
        own, vault = name in self.options, name in self.defaults
        return "directory" if own else "vault" if vault else "built-in"

    def to_json(self) -> DirectoryJson:
        data = DirectoryJson(
            id=self.id,
            client_id=self.client_id,
            client=self.client_name,
            name=self.name,
            kind=self.kind,
            url=self.url,
            bind_credential_id=self.bind_credential_id,
            bind_kind=self.bind_kind,
            ca="configured" if self.ca_pem else None,
            insecure_skip_verify=self.insecure_skip_verify,
            options={o.name: self.option(o.name) for o in options_of(self.descriptor)},
            options_from={o.name: self.option_source(o.name) for o in options_of(self.descriptor)},
            incremental=self.cursor is not None,
            full_pass_at=iso(self.full_pass_at),
            account_count=self.account_count,
            next_run_at=iso(self.next_run_at),
            failures=self.failures,
            version=self.version,
            created_at=iso(self.created_at),
            updated_at=iso(self.updated_at),
        )
        # The kinds' settings after ``kind`` (``url`` among them, the endpoint its value).
        head = dict(list(data.items())[:5])
        settings = {name: self.settings.get(name) for name in registry.settings()}
        return cast(DirectoryJson, head | settings | data)


def directory_model(row: Any, defaults: Mapping[str, int] | None = None) -> Directory:
    """The directory of a stored row; ``defaults``: the vault-wide thresholds (vault_defaults)."""
    return Directory(
        id=row.id,
        client_id=row.client_id,
        client_name=row.client_name,
        name=row.name,
        kind=row.kind,
        settings=json.loads(row.settings),
        bind_credential_id=row.bind_credential_id,
        bind_kind=row.bind_kind,
        ca_pem=row.ca_pem,
        insecure_skip_verify=bool(row.insecure_skip_verify),
        options=json.loads(row.options),
        cursor=row.cursor,
        full_pass_at=as_utc_opt(row.full_pass_at),
        account_count=row.account_count,
        next_run_at=as_utc_opt(row.next_run_at),
        failures=row.failures,
        version=row.version,
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
        defaults=dict(defaults or {}),
    )


def shown_to(actor: Actor, directory: Directory) -> Directory:
    """The directory as ``actor`` may see it: the id of its bind credential (a directory_admin
    credential) only with directory_admin.use."""
    if sees_directory_admin(actor):
        return directory
    return dataclasses.replace(directory, bind_credential_id=None)


def find_directory_row(conn: Connection, ref: str, actor: Actor) -> Any:
    """A directory by id or name (case-insensitive); one of a client outside ``actor``'s
    client access is NotFound as one that does not exist is."""
    ref = ref.strip()
    row = rows.find(conn, ref, name_key(ref))
    if row is None or not actor.sees(row.client_id):
        raise NotFound(f"no directory named {ref!r} (see `credsync directory list`)")
    return row


def check_settings_version(what: str, directory: str, current: int, expected: int | None) -> None:
    """Conflict when the caller read the directory's ``what`` (e.g. "provisioning settings")
    at another version than ``current`` (``expected`` None: it did not say)."""
    if expected is not None and expected != current:
        raise Conflict(f"the {what} of {directory!r} changed since you read them: reload")


def check_not_binding(conn: Connection, credential_id: str) -> None:
    """A credential a directory binds with can't go to the trash."""
    name = rows.binding(conn, credential_id)
    if name is not None:
        raise InvalidInput(
            f"credential {credential_id} is the bind credential of directory {name!r}: give "
            "the directory another one first (`credsync directory set --bind-credential`)"
        )


def forget_credential(conn: Connection, credential_id: str) -> None:
    """Remove a purged credential's links, flags and queued pushes (run reports keep it)."""
    link_rows.forget_credential(conn, credential_id)
    flag_rows.forget_credential(conn, credential_id)
    push_queue.forget_credential(conn, credential_id)
    relay_rows.forget_credential(conn, credential_id)
    capture_rows.drop_pending(conn, credential_id)
    people_rows.forget_credential(conn, credential_id)


class Directories:
    def __init__(self, db: Database, audit: AuditLog) -> None:
        self._db = db
        self._audit = audit

    def add(
        self, actor: Actor, client_ref: str, name: str, kind: str, given: DirectoryInput
    ) -> Directory:
        """Add a directory of ``kind`` (a name or alias) to a client."""
        actor.require(Permission.DIRECTORY_SETUP, Permission.DIRECTORY_ADMIN_USE)
        try:
            name = clean_name(name, "directory name", 100)
        except InvalidInput as exc:
            raise InvalidInput(str(exc), field="name") from None
        descriptor = registry.kind_of(kind)
        bind_ref, bind_kind = descriptor.choose_bind(given.binds, None, adding=True)
        settings = descriptor.parse(given.settings)
        ca = clean_ca_pem(given.ca_pem or None)
        skip = bool(given.insecure_skip_verify)
        opts = clean_options(descriptor, given.options)
        stored = descriptor.dump(settings)
        directory_id = new_id()
        with self._db.write() as conn:
            client = find_client_row(conn, client_ref, actor)
            if client.archived_at is not None:
                raise InvalidInput(f"client {client.name!r} is archived: unarchive it first")
            if rows.name_taken(conn, name_key(name)):
                raise AlreadyExists(f"a directory named {name!r} already exists")
            bind_id = self._bind_credential(conn, actor, bind_ref or "", client.id)
            now = utcnow()
            rows.insert(
                conn,
                {
                    "id": directory_id,
                    "client_id": client.id,
                    "name": name,
                    "name_key": name_key(name),
                    "kind": descriptor.name,
                    "settings": json.dumps(stored, sort_keys=True),
                    "bind_credential_id": bind_id,
                    "bind_kind": bind_kind,
                    "ca_pem": ca,
                    "insecure_skip_verify": skip,
                    "options": json.dumps(opts, sort_keys=True),
                    "failures": 0,
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                },
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
                    "kind": descriptor.name,
                    **stored,
                    "bind_credential_id": bind_id,
                    **({"bind_kind": bind_kind} if bind_kind else {}),
                    "ca": ca is not None,
                    "insecure_skip_verify": skip,
                    "options": opts,
                },
            )
            return directory_model(
                find_directory_row(conn, directory_id, actor), vault_defaults(conn)
            )

    @staticmethod
    def _bind_credential(conn: Connection, actor: Actor, ref: str, client_id: str) -> str:
        ref = ref.strip().lower()
        # one of a client outside the actor's client access is not there for them
        found = [r for r in credential_rows.bind_candidates(conn, ref) if actor.sees(r.client_id)]
        if len(ref) < 8 or not found:
            raise NotFound(f"no credential with id {ref} to bind with")
        if len(found) > 1:
            raise InvalidInput(
                f"credential id {ref} is ambiguous: give more characters", field="bind_credential"
            )
        row = found[0]
        if row.client_id != client_id:
            raise InvalidInput(
                f"the bind credential {row.id} belongs to another client", field="bind_credential"
            )
        if row.type != CredentialType.DIRECTORY_ADMIN.value:
            raise InvalidInput(
                f"the bind credential {row.id} must have type directory_admin "
                f"(it is {row.type}): `credsync cred edit {row.id[:8]} --type directory_admin`",
                field="bind_credential",
            )
        return str(row.id)

    def bind_choices(
        self, actor: Actor, client_id: str
    ) -> builtins.list[credential_rows.BindChoice]:
        """The client's directory_admin credentials outside the trash, by title (at most
        500): what its directories may bind with."""
        actor.require(Permission.VAULT_READ, Permission.DIRECTORY_ADMIN_USE)
        if not actor.sees(client_id):
            raise NotFound(f"no client named {client_id!r}")
        with self._db.read() as conn:
            see = sees_directory_admin(actor)
            return credential_rows.bind_choices(conn, client_id, include_directory_admin=see)

    def list(self, actor: Actor, client_ref: str | None = None) -> builtins.list[Directory]:
        """Directories by name (of one client, or all), as the actor may see them
        (:func:`shown_to`)."""
        actor.require(Permission.VAULT_READ)
        with self._db.read() as conn:
            client_id = find_client_row(conn, client_ref, actor).id if client_ref else None
            defaults = vault_defaults(conn)
            return [
                shown_to(actor, directory_model(r, defaults))
                for r in rows.list_rows(conn, client_id, actor.clients)
            ]

    def get(self, actor: Actor, ref: str) -> Directory:
        """A directory by name or id, as the actor may see it (:func:`shown_to`)."""
        actor.require(Permission.VAULT_READ)
        with self._db.read() as conn:
            row = find_directory_row(conn, ref, actor)
            return shown_to(actor, directory_model(row, vault_defaults(conn)))

    def update(
        self,
        actor: Actor,
        ref: str,
        given: DirectoryInput,
        *,
        expected_version: int | None = None,
    ) -> Directory:
        """Change what is given; ``ca_pem=""`` removes the directory's own CA, so that its
        certificate is checked against the system's CAs again. A change of scope (another
        base DN, another tenant) makes the next run a full pass."""
        actor.require(Permission.DIRECTORY_SETUP, Permission.DIRECTORY_ADMIN_USE)
        with self._db.write() as conn:
            row = find_directory_row(conn, ref, actor)
            if expected_version is not None and expected_version != row.version:
                raise Conflict(f"directory {row.name!r} changed since you read it: reload")
            current = directory_model(row)
            descriptor = current.descriptor
            values: dict[str, Any] = {}
            shown: dict[str, Any] = {}
            if any(v is not None for v in given.settings.values()):
                before = descriptor.load(current.settings)
                after = descriptor.parse(given.settings, before)
                values["settings"] = json.dumps(descriptor.dump(after), sort_keys=True)
                shown.update(
                    {k: getattr(after, k) for k, v in given.settings.items() if v is not None}
                )
                if descriptor.rescans(before, after):
                    values["cursor"] = None  # other accounts: a full pass first
            bind_ref, bind_kind = descriptor.choose_bind(
                given.binds, current.bind_kind, adding=False
            )
            if bind_ref is not None:
                values["bind_credential_id"] = self._bind_credential(
                    conn, actor, bind_ref, row.client_id
                )
                if bind_kind != current.bind_kind:
                    values["bind_kind"] = bind_kind
            if given.ca_pem == "":
                values["ca_pem"] = None  # no CA of its own: the system's CAs again
            elif given.ca_pem is not None:
                values["ca_pem"] = clean_ca_pem(given.ca_pem)
            if given.insecure_skip_verify is not None:
                values["insecure_skip_verify"] = given.insecure_skip_verify
            if given.options:
                values["options"] = json.dumps(
                    clean_options(descriptor, given.options, current.options), sort_keys=True
                )
            if not values:
                raise InvalidInput("nothing to change")
            rows.update(
                conn, row.id, {"version": row.version + 1, "updated_at": utcnow(), **values}
            )
            shown.update(
                {k: v for k, v in values.items() if k not in ("ca_pem", "cursor", "settings")}
            )
            if "options" in shown:
                shown["options"] = json.loads(shown["options"])
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
            return directory_model(find_directory_row(conn, row.id, actor), vault_defaults(conn))

    def remove(self, actor: Actor, ref: str) -> Directory:
        """Forget a directory with its links, account cache, runs and flags (the credentials
        stay; the audit log keeps what happened)."""
        actor.require(Permission.DIRECTORY_SETUP)
        with self._db.write() as conn:
            row = find_directory_row(conn, ref, actor)
            model = directory_model(row)
            run_rows.forget_directory(conn, row.id)
            flag_rows.forget_directory(conn, row.id)
            push_queue.forget_directory(conn, row.id)
            link_rows.forget_directory(conn, row.id)
            account_rows.forget_directory(conn, row.id)
            auto_create_rows.forget_directory(conn, row.id)
            people_rows.forget_directory(conn, row.id)
            group_rows.forget_directory(conn, row.id)
            keep_rows.forget_directory(conn, row.id)
            group_export_rows.forget_directory(conn, row.id)
            relay_rows.forget_directory(conn, row.id)
            selection_rows.forget_directory(conn, row.id)
            capture_rows.forget_directory(conn, row.id)
            provision_rows.forget_directory(conn, row.id)
            quarantine_rows.forget_directory(conn, row.id)
            rows.remove(conn, row.id)
            self._audit.append(
                conn,
                actor,
                "directory.remove",
                target_type="directory",
                target_id=row.id,
                client_id=row.client_id,
                details={"name": row.name},
            )
            return shown_to(actor, model)
