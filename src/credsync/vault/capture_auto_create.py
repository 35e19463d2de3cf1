"""Auto-create in the capture pipeline (:mod:`credsync.vault.auto_create`'s rules).

Before a batch's write transaction, with its decryption (:mod:`credsync.vault.capture_decrypt`):
:func:`in_scope` asks the directory about each password event of an account with no
credential, when auto-create takes captures, so that the directory search, like the RSA
decryption, is kept out of the database's write lock; only the events it finds in scope are
decrypted. In the transaction (:class:`~credsync.vault.capture_apply.Applier`):
:func:`create_for` makes the credential of such an event with its password, and
:func:`fill_shell` gives a shell made by a ``first_seen`` run its first password (what the
credential's mode would do with a capture does not apply to a placeholder).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.engine import Connection

from credsync.connectors.base import Account
from credsync.types import Secret
from credsync.vault.auth import Actor
from credsync.vault.auto_create import AutoCreate
from credsync.vault.capture_batch import FORMATS, CaptureEvent
from credsync.vault.capture_state import BatchView
from credsync.vault.keyring import KeyRing

__all__ = ["Scoped", "create_for", "fill_shell", "hint", "in_scope"]

Scoped = dict[CaptureEvent, Account]  # an unlinked account's event -> the account, in scope
_UF_ACCOUNTDISABLE = 0x2  # userAccountControl: the account is disabled


def hint(event: CaptureEvent) -> Account | None:
    """What a capture says of its account (its names, enabled), when it names it."""
    name = event.sam or event.upn
    if name is None:
        return None
    enabled = event.uac is None or not event.uac & _UF_ACCOUNTDISABLE
    return Account(event.object_guid, name, upn=event.upn, enabled=enabled)


def in_scope(
    view: BatchView,
    auto_create: AutoCreate | None,
    actor: Actor,
    events: Sequence[CaptureEvent],
) -> Scoped:
    """The batch's password events (in a known format, not received before) of accounts with
    no credential that auto-create would take, with the account as the directory describes
    it (read-only; the directory is asked once per such account)."""
    conn, directory_id = view.conn, view.directory_id
    if auto_create is None or not auto_create.takes_captures(conn, directory_id):
        return {}
    found: Scoped = {}
    asked: dict[str, Account | None] = {}
    for event in events:
        if event.kind != "password" or event.ciphertext is None:
            continue
        if event.ciphertext_format not in FORMATS:
            continue
        if view.has_event(event.event_key):
            continue
        if view.account(event.object_guid).credential_id is not None:
            continue
        guid = event.object_guid
        if guid not in asked:
            asked[guid] = auto_create.scope_of(conn, actor, directory_id, guid, hint=hint(event))
        account = asked[guid]
        if account is not None:
            found[event] = account
    return found


def _stamp(event: CaptureEvent) -> str | None:
    return None if event.pwd_last_set is None else str(event.pwd_last_set)


def create_for(
    conn: Connection,
    auto_create: AutoCreate,
    actor: Actor,
    keys: KeyRing,
    directory_id: str,
    event: CaptureEvent,
    account: Account,
    password: Secret,
    why: str,
) -> str | None:
    """The new credential's id (see :meth:`AutoCreate.for_capture`), or None."""
    return auto_create.for_capture(
        conn, actor, keys, directory_id, account, password, stamp=_stamp(event), why=why
    )


def fill_shell(
    conn: Connection,
    auto_create: AutoCreate | None,
    actor: Actor,
    keys: KeyRing,
    directory_id: str,
    event: CaptureEvent,
    password: Secret,
    why: str,
) -> str | None:
    """The detail of an ``accepted`` outcome when the account's credential was a shell and
    now holds ``password``; None otherwise."""
    if auto_create is None:
        return None
    filled = auto_create.fill_shell(
        conn, actor, keys, directory_id, event.object_guid, password, stamp=_stamp(event), why=why
    )
    if filled is None:
        return None
    return "the auto-created credential's first password (it held none)"
