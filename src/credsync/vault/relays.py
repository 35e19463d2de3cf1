"""Relays: a client's rules that carry passwords from one of its directories to another
(Active Directory to Office 365: DirSync's job, event-driven and with cleartext).

A relay names a **source** directory (a kind whose connector selects users by a relay
scope: ``relay_source``) and a **target** (``relay_target``), both of the relay's client, and
its :class:`~credsync.vault.relay_settings.RelaySettings`: the scope (OUs, nested groups,
enabled only, attribute filters), the UPN suffix map, the match rules in order, the options
(never expires, mirror disable) and the target admins it may match.

Who may do what: listing, showing and planning need ``vault.read``; adding, changing and
removing a relay, and a run that writes (``--apply``), need ``directory.setup`` (a relay
writes passwords into the customer's tenant). Each change is audited (``relay.add``,
``relay.update``, ``relay.remove``) with the whole settings.

The credential model: an AD user and the Entra user a relay pairs it with are one person,
so by default **one credential with two links** (the ``links`` table keys by credential and
directory: the AD account's credential gains a link to the Entra user). When the Entra user
is already linked to another credential (the operator keeps them apart), that credential is
**kept in step**: each new password of the AD side becomes its next version too (source
``relay``), and it is what is pushed to the Entra user. What a run did is in
``relay_pairs`` (:mod:`credsync.storage.relays`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection
from typing_extensions import TypedDict

from credsync.connectors import registry
from credsync.errors import AlreadyExists, Conflict, InvalidInput, NotFound
from credsync.storage import Database
from credsync.storage import relays as rows
from credsync.types import new_id
from credsync.vault._time import Timestamp, as_utc, iso, utcnow
from credsync.vault.audit import AuditLog
from credsync.vault.auth import Actor, Permission
from credsync.vault.clients import find_client_row
from credsync.vault.directories import Directory, directory_model, find_directory_row
from credsync.vault.relay_settings import (
    RelaySettings,
    RelaySettingsJson,
    load_settings,
    parse_settings,
)

__all__ = ["Relay", "RelayJson", "Relays", "find_relay_row", "relay_model"]

MAX_NAME = 100


class RelayJson(TypedDict):
    """A relay (``credsync relay show NAME --json``, ``GET /api/v1/relays/{ref}``)."""

    id: str
    client: str
    name: str
    source: str
    """The source directory's name (where passwords come from)."""
    target: str
    """The target directory's name (where they go)."""
    settings: RelaySettingsJson
    version: int
    created_at: Timestamp
    created_by: str
    updated_at: Timestamp
    updated_by: str


@dataclass(frozen=True)
class Relay:
    id: str
    client_id: str
    client: str
    name: str
    source: Directory
    target: Directory
    settings: RelaySettings
    version: int
    created_at: dt.datetime
    created_by: str
    updated_at: dt.datetime
    updated_by: str

    def to_json(self) -> RelayJson:
        return RelayJson(
            id=self.id,
            client=self.client,
            name=self.name,
            source=self.source.name,
            target=self.target.name,
            settings=self.settings.to_json(),
            version=self.version,
            created_at=iso(self.created_at),
            created_by=self.created_by,
            updated_at=iso(self.updated_at),
            updated_by=self.updated_by,
        )


def relay_model(conn: Connection, row: rows.RelayRow, actor: Actor) -> Relay:
    source = directory_model(find_directory_row(conn, row.source_directory_id, actor))
    target = directory_model(find_directory_row(conn, row.target_directory_id, actor))
    return Relay(
        id=row.id,
        client_id=row.client_id,
        client=source.client_name,
        name=row.name,
        source=source,
        target=target,
        settings=load_settings(row.settings),
        version=row.version,
        created_at=as_utc(row.created_at),
        created_by=row.created_by,
        updated_at=as_utc(row.updated_at),
        updated_by=row.updated_by,
    )


def find_relay_row(conn: Connection, ref: str, actor: Actor) -> rows.RelayRow:
    """A relay by id (or a prefix of at least 8 characters) or by name (case-insensitive)
    among the clients ``actor`` reaches; NotFound otherwise, InvalidInput when the name is
    used in several of them."""
    ref = ref.strip()
    visible = [r for r in rows.of_client(conn, _reach(actor)) if actor.sees(r.client_id)]
    by_name = [r for r in visible if r.name.casefold() == ref.casefold()]
    if len(by_name) == 1:
        return by_name[0]
    if len(by_name) > 1:
        raise InvalidInput(
            f"several clients have a relay named {ref!r}: give its id instead", field="relay"
        )
    by_id = [r for r in visible if len(ref) >= 8 and r.id.startswith(ref.lower())]
    if len(by_id) == 1:
        return by_id[0]
    raise NotFound(f"no relay named {ref!r} (see `credsync relay list`)")


def _reach(actor: Actor) -> list[str] | None:
    return None if actor.clients is None else sorted(actor.clients)


def _name(value: str) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text or len(text) > MAX_NAME or any(ord(c) < 32 for c in text):
        raise InvalidInput(
            f"a relay's name is 1 to {MAX_NAME} printable characters, not {value!r}", field="name"
        )
    return text


def _check_directories(source: Directory, target: Directory, client_id: str) -> None:
    for directory, field, role in ((source, "source", "from"), (target, "target", "to")):
        if directory.client_id != client_id:
            raise InvalidInput(
                f"directory {directory.name!r} is not of this relay's client", field=field
            )
        kind = registry.kind_of(directory.kind)
        able = kind.relay_source if field == "source" else kind.relay_target
        if not able:
            raise InvalidInput(
                f"a relay can't carry passwords {role} directory {directory.name!r} "
                f"({kind.display_name})",
                field=field,
            )
    if source.id == target.id:
        raise InvalidInput("a relay's source and target must differ", field="target")


class Relays:
    """The relay definitions (the runs and the plan are :mod:`credsync.sync.relay`'s)."""

    def __init__(self, db: Database, audit: AuditLog) -> None:
        self._db = db
        self._audit = audit

    def list(self, actor: Actor, client_ref: str | None = None) -> list[Relay]:
        actor.require(Permission.VAULT_READ)
        with self._db.read() as conn:
            ids = _reach(actor)
            if client_ref is not None:
                ids = [find_client_row(conn, client_ref, actor).id]
            found = [r for r in rows.of_client(conn, ids) if actor.sees(r.client_id)]
            return [relay_model(conn, r, actor) for r in found]

    def get(self, actor: Actor, ref: str) -> Relay:
        actor.require(Permission.VAULT_READ)
        with self._db.read() as conn:
            return relay_model(conn, find_relay_row(conn, ref, actor), actor)

    def add(
        self,
        actor: Actor,
        client_ref: str,
        name: str,
        *,
        source: str,
        target: str,
        settings: Mapping[str, Any] | None = None,
    ) -> Relay:
        """A new relay (directory.setup). InvalidInput names the field (``name``,
        ``source``, ``target``, or a setting); AlreadyExists when the client has one of
        that name."""
        actor.require(Permission.VAULT_READ, Permission.DIRECTORY_SETUP)
        name = _name(name)
        parsed = parse_settings(settings or {})
        with self._db.write() as conn:
            client = find_client_row(conn, client_ref, actor)
            source_dir = directory_model(find_directory_row(conn, source, actor))
            target_dir = directory_model(find_directory_row(conn, target, actor))
            _check_directories(source_dir, target_dir, client.id)
            if rows.by_name(conn, client.id, name) is not None:
                raise AlreadyExists(f"client {client.name!r} already has a relay named {name!r}")
            now = utcnow()
            row = rows.RelayRow(
                new_id(),
                client.id,
                name,
                source_dir.id,
                target_dir.id,
                parsed.stored(),
                1,
                now,
                actor.name,
                now,
                actor.name,
            )
            rows.insert(conn, row)
            self._audit.append(
                conn,
                actor,
                "relay.add",
                target_type="relay",
                target_id=row.id,
                client_id=client.id,
                details={
                    "name": name,
                    "source": source_dir.name,
                    "target": target_dir.name,
                    **json.loads(parsed.stored()),
                },
            )
            return relay_model(conn, row, actor)

    def update(
        self,
        actor: Actor,
        ref: str,
        given: Mapping[str, Any],
        *,
        expected_version: int | None = None,
    ) -> Relay:
        """Change the settings given (directory.setup); Conflict when ``expected_version``
        is not the stored one."""
        actor.require(Permission.VAULT_READ, Permission.DIRECTORY_SETUP)
        if not given:
            raise InvalidInput("nothing to change")
        with self._db.write() as conn:
            row = find_relay_row(conn, ref, actor)
            if expected_version is not None and expected_version != row.version:
                raise Conflict(f"relay {row.name!r} changed since you read it: reload")
            after = parse_settings(given, load_settings(row.settings))
            now = utcnow()
            if not rows.update(
                conn, row.id, after.stored(), version=row.version + 1, by=actor.name, now=now
            ):
                raise Conflict(f"relay {row.name!r} just changed: reload")
            self._audit.append(
                conn,
                actor,
                "relay.update",
                target_type="relay",
                target_id=row.id,
                client_id=row.client_id,
                details={"name": row.name, "changed": sorted(given), **json.loads(after.stored())},
            )
            return relay_model(conn, rows.get(conn, row.id) or row, actor)

    def remove(self, actor: Actor, ref: str) -> Relay:
        """Forget the relay and its pairs (directory.setup). The links it made stay (they
        are the credentials' own now); nothing more is relayed."""
        actor.require(Permission.VAULT_READ, Permission.DIRECTORY_SETUP)
        with self._db.write() as conn:
            row = find_relay_row(conn, ref, actor)
            model = relay_model(conn, row, actor)
            rows.delete(conn, row.id)
            self._audit.append(
                conn,
                actor,
                "relay.remove",
                target_type="relay",
                target_id=row.id,
                client_id=row.client_id,
                details={"name": row.name},
            )
            return model
