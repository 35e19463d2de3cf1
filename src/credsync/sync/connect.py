"""A connector for a stored directory: the one way credsync reaches a directory.

The directory's kind builds the connector's config from its settings and the bind credential
(decrypted here, with the client's data key); the TLS trust every kind shares (the stored CA,
``insecure_skip_verify``) is added to it. Runs, the agent and ``directory test`` (CLI, API,
dashboard) all come through :func:`connect`. Needs ``directory_admin.use``: the bind
credential is decrypted.

:class:`DirectoryService` is what the services over a client's directory (import, provisioning,
deleted objects, group export, relays, saved selections, runs) share: what they hold, and
:func:`client_directory`, a client and one of its directories as the operator may reach them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import Connection
from typing_extensions import TypedDict

from credsync.connectors.base import Connector, DirectoryConfig, StepJson, StepOutcome, TestStep
from credsync.connectors.kinds import BoundCredential
from credsync.connectors.registry import ConnectorFactory, open_connector
from credsync.errors import InvalidInput, PermissionDenied
from credsync.storage import Database
from credsync.storage import credentials as credential_rows
from credsync.storage.clients import ClientRow
from credsync.vault.auth import SYSTEM, Actor, Permission
from credsync.vault.clients import find_client_row
from credsync.vault.directories import Directory, directory_model, find_directory_row
from credsync.vault.keyring import KeyRing
from credsync.vault.quarantine_defaults import vault_defaults
from credsync.vault.secrets import read_secrets
from credsync.vault.service import Vault

__all__ = [
    "DirectoryService",
    "DirectoryTestJson",
    "client_directory",
    "client_directory_rows",
    "connect",
    "directory_config",
    "directory_test_steps",
    "directory_tested",
    "load_directory",
]


class DirectoryTestJson(TypedDict):
    """``ok`` is false when a step failed (a warning still works, in report mode)."""

    directory: str
    ok: bool
    steps: list[StepJson]


def directory_tested(name: str, steps: Sequence[TestStep]) -> DirectoryTestJson:
    """What testing the directory ``name`` found, step by step."""
    return DirectoryTestJson(
        directory=name,
        ok=all(s.outcome != StepOutcome.FAILED for s in steps),
        steps=[s.to_json() for s in steps],
    )


def load_directory(db: Database, ref: str, actor: Actor = SYSTEM) -> Directory:
    """A directory by name or id (for callers that checked the actor's rights already; one
    outside ``actor``'s client access is NotFound), with the vault-wide quarantine thresholds
    it takes where it sets none of its own."""
    with db.read() as conn:
        return directory_model(find_directory_row(conn, ref, actor), vault_defaults(conn))


def client_directory_rows(
    conn: Connection, actor: Actor, client_ref: str, directory_ref: str
) -> tuple[ClientRow, Any]:
    """The client and its directory (their rows), by name or id: either outside ``actor``'s
    client access is NotFound; a directory of another client is InvalidInput (``directory``)."""
    client = find_client_row(conn, client_ref, actor)
    row = find_directory_row(conn, directory_ref, actor)
    if row.client_id != client.id:
        raise InvalidInput(
            f"directory {row.name!r} is not one of client {client.name!r}", field="directory"
        )
    return client, row


def client_directory(
    db: Database, actor: Actor, client_ref: str, directory_ref: str
) -> tuple[ClientRow, Directory]:
    """The client's row and its directory (see :func:`client_directory_rows`)."""
    with db.read() as conn:
        client, row = client_directory_rows(conn, actor, client_ref, directory_ref)
    return client, load_directory(db, row.id)


def directory_config(db: Database, keys: KeyRing, directory: Directory) -> DirectoryConfig:
    """The connector settings of a directory, its bind credential decrypted."""
    bind_id = directory.bind_credential_id
    if bind_id is None:  # a directory as shown to someone without directory_admin.use
        raise PermissionDenied(f"directory {directory.name!r}: its bind credential is not shown")
    with db.read() as conn:
        bind = credential_rows.get(conn, bind_id)
        secret = read_secrets(conn, keys, directory.client_id, {bind_id: bind.secret_version})[
            bind_id
        ]
    kind = directory.descriptor
    config = kind.config(
        kind.load(directory.settings),
        directory.name,
        BoundCredential(bind.username, secret, directory.bind_kind),
    )
    return dataclasses.replace(
        config, ca_pem=directory.ca_pem, insecure_skip_verify=directory.insecure_skip_verify
    )


def connect(
    db: Database,
    keys: KeyRing,
    actor: Actor,
    ref: str | Directory,
    *,
    factory: ConnectorFactory = open_connector,
) -> Connector:
    """A connector for the directory (it connects on first use; close it when done)."""
    actor.require(Permission.DIRECTORY_ADMIN_USE)
    directory = ref if isinstance(ref, Directory) else load_directory(db, ref, actor)
    return factory(directory_config(db, keys, directory))


class DirectoryService:
    """A service over clients' directories, acting for ``actor``: it opens connectors with
    ``factory`` (tests and benchmarks give theirs)."""

    def __init__(
        self,
        vault: Vault,
        keys: KeyRing,
        actor: Actor,
        *,
        factory: ConnectorFactory = open_connector,
    ) -> None:
        self._vault = vault
        self._db = vault.db
        self._keys = keys
        self._actor = actor
        self._factory = factory

    def _client_directory(self, client_ref: str, directory_ref: str) -> tuple[ClientRow, Directory]:
        return client_directory(self._db, self._actor, client_ref, directory_ref)


async def directory_test_steps(
    db: Database,
    keys: KeyRing,
    actor: Actor,
    ref: str | Directory,
    *,
    factory: ConnectorFactory = open_connector,
) -> list[TestStep]:
    """Each step of reaching the directory, in order (a failed step is a result, not an
    error; see ``Connector.test_connection``)."""
    connector = connect(db, keys, actor, ref, factory=factory)
    try:
        return await connector.test_connection()
    finally:
        await connector.close()
