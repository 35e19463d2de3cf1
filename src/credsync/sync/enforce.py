"""Switching to enforce or two-way mode: the one rule behind ``cred sync-mode``, ``client
set``, their API routes and the dashboard's sync mode form.

A change that makes a credential enforced (its own mode ``enforce``, or following a client
default of enforce) or that switches a client's default to enforce hands the vault's password
to the next run, which overwrites the directory's. So it needs directory.setup (asked before
anything else), and it goes ahead only when confirmed: unconfirmed, it is refused with
:class:`EnforceUnconfirmed`, whose ``preview`` names what it would overwrite. The CLI then
asks (or wants ``--yes``), the API answers 409 ``confirm_enforce``, the dashboard shows a page;
each sends the change again confirmed. The accounts the preview named (the credentials'
links then) are confirmed for pushes with it (see :mod:`credsync.sync.confirm`): confirming
the switch confirmed them; links made later wait for a confirmation of their own.

A switch to ``two_way`` goes the same way (the vault's changes are pushed; only a change made
in the directory is left alone, for its capture): its preview names what it overwrites and
the accounts it leaves alone. A switch from enforce to two-way overwrites nothing more: not
asked (it still needs directory.setup, as naming any mode that pushes does).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection
from typing_extensions import TypedDict

from credsync.errors import InvalidInput
from credsync.storage import flags as flag_rows
from credsync.storage import link_reads
from credsync.storage import links as link_rows
from credsync.sync.model import Status
from credsync.sync.preview import (
    EnforceImpact,
    EnforceImpactJson,
    enforce_preview,
    enforce_summary,
)
from credsync.types import SyncMode, SyncModeName
from credsync.vault._time import utcnow
from credsync.vault.audit import AuditLog
from credsync.vault.auth import Actor, Permission
from credsync.vault.clients import configuration
from credsync.vault.lifecycle import overwrites_more

if TYPE_CHECKING:
    from credsync.vault import Vault
    from credsync.vault.models import Client, Credential

__all__ = [
    "EnforcePreview",
    "EnforcePreviewJson",
    "EnforceSwitches",
    "EnforceUnconfirmed",
    "record_confirmations",
]


class EnforcePreviewJson(TypedDict):
    what: str
    """What would switch to enforce (or two_way)."""
    mode: SyncModeName
    """The mode switched to: enforce or two_way."""
    impact: list[EnforceImpactJson]
    """Each credential and directory account it concerns."""


@dataclass(frozen=True)
class EnforcePreview:
    """What a switch of ``what`` to enforce (or ``mode``) overwrites, for the operator to
    confirm."""

    what: str
    impact: tuple[EnforceImpact, ...]
    mode: SyncMode = SyncMode.ENFORCE

    @property
    def summary(self) -> str:
        return enforce_summary(list(self.impact), self.what, self.mode)

    @property
    def overwritten(self) -> list[EnforceImpact]:
        """The accounts whose directory password the next run overwrites."""
        return [i for i in self.impact if i.overwrite_now]

    def to_json(self) -> EnforcePreviewJson:
        return EnforcePreviewJson(
            what=self.what, mode=self.mode.value, impact=[i.to_json() for i in self.impact]
        )

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EnforcePreview:
        return cls(
            str(data["what"]),
            tuple(EnforceImpact(**i) for i in data["impact"]),
            SyncMode.parse(str(data.get("mode") or SyncMode.ENFORCE.value)),
        )


class EnforceUnconfirmed(InvalidInput):
    """A switch to enforce not confirmed yet: nothing changed; ``preview`` says what it would
    overwrite, the message sums it up."""

    def __init__(self, preview: EnforcePreview) -> None:
        super().__init__(preview.summary)
        self.preview = preview


def record_confirmations(
    conn: Connection,
    audit: AuditLog,
    actor: Actor,
    rows: Sequence[link_reads.PendingRow],
    *,
    how: str,
    now: dt.datetime,
) -> list[link_reads.PendingRow]:
    """Confirm these links for pushes (those still to the same account and unconfirmed), in
    the caller's transaction: each closes its ``awaiting_confirmation`` flag and is audited
    (``link.confirmed``, saying ``how``). Returns those confirmed."""
    by_pair = {(r.credential_id, r.directory_id): r for r in rows}
    done = link_rows.confirm_links(
        conn,
        [(r.credential_id, r.directory_id, r.account_id) for r in rows],
        by=actor.name,
        now=now,
    )
    confirmed = [by_pair[(cid, did)] for cid, did, _ in done]
    for row in confirmed:
        flag_rows.close_of(
            conn,
            row.credential_id,
            row.directory_id,
            status=Status.AWAITING_CONFIRMATION.value,
            by=actor.name,
            resolution="confirmed",
            now=now,
        )
        audit.append(
            conn,
            actor,
            "link.confirmed",
            target_type="credential",
            target_id=row.credential_id,
            client_id=row.client_id,
            details={
                "directory": row.directory,
                "directory_id": row.directory_id,
                "account": row.account,
                "account_id": row.account_id,
                "how": how,
            },
        )
    return confirmed


def credential_what(cred: Credential) -> str:
    return f"{cred.title!r} ({cred.username or 'no username'})"


def client_what(client: Client) -> str:
    return f"every credential of {client.name!r} that follows the client default"


class EnforceSwitches:
    """Sync modes set with the rule of this module's doc."""

    def __init__(self, vault: Vault) -> None:
        self._vault = vault

    def _preview(self, client_id: str, what: str, mode: SyncMode, **scope: Any) -> EnforcePreview:
        with self._vault.db.read() as conn:
            impact = enforce_preview(conn, client_id, mode=mode, **scope)
        return EnforcePreview(what, tuple(impact), mode)

    def _confirm_named(self, actor: Actor, client_id: str, how: str, **scope: Any) -> None:
        """The links a confirmed switch's preview named (linked to a known account) are
        confirmed for pushes (see the module docstring)."""
        with self._vault.db.write() as conn:
            rows = link_reads.unconfirmed_of(conn, client_id, **scope)
            named = [r for r in rows if r.account is not None]
            record_confirmations(conn, self._vault.audit, actor, named, how=how, now=utcnow())

    def set_credential_mode(
        self,
        actor: Actor,
        ref: str,
        mode: SyncMode | None,
        *,
        confirmed: bool = False,
        expected_version: int | None = None,
    ) -> Credential:
        """Set a credential's sync mode (None: the client's default); one that makes it push
        more (enforce, two-way) only when ``confirmed``. Needs vault.write (and
        directory.setup for a mode that pushes)."""
        credentials = self._vault.credentials
        actor.require(Permission.VAULT_WRITE)
        if mode is not None and mode.pushes:
            actor.require(Permission.DIRECTORY_SETUP)
        current = credentials.get(actor, ref)
        enforced = credentials.becomes_enforced(current, mode)
        if enforced is not None:
            actor.require(Permission.DIRECTORY_SETUP)
            if not confirmed:
                raise EnforceUnconfirmed(
                    self._preview(
                        current.client_id,
                        credential_what(current),
                        enforced,
                        credential_id=current.id,
                    )
                )
        changed = credentials.set_sync_mode(
            actor, current.id, mode, expected_version=expected_version
        )
        if enforced is not None:
            how = f"switched to {enforced.spelled}"
            self._confirm_named(actor, current.client_id, how, credential_id=current.id)
        return changed

    def check_client_default(
        self, actor: Actor, client: Client, mode: SyncMode | None, *, confirmed: bool
    ) -> None:
        """Refuse a switch of ``client``'s default to enforce or two-way (one that pushes
        more) that is not ``confirmed`` (before any change of a request that makes several)."""
        if mode is not None and mode.pushes:
            actor.require(Permission.DIRECTORY_SETUP)
        if mode is not None and overwrites_more(client.default_sync_mode, mode) and not confirmed:
            raise EnforceUnconfirmed(
                self._preview(client.id, client_what(client), mode, follows_default_only=True)
            )

    def configure_client(
        self,
        actor: Actor,
        ref: str,
        *,
        directory_sync: bool | None = None,
        default_sync_mode: SyncMode | None = None,
        confirmed: bool = False,
        expected_version: int | None = None,
    ) -> Client:
        """Set a client's directory-sync switch and default sync mode; a switch of the
        default to enforce or two-way only when ``confirmed``. Needs vault.write and
        directory.setup."""
        configuration(directory_sync, default_sync_mode)  # something to change
        actor.require(Permission.VAULT_WRITE, Permission.DIRECTORY_SETUP)
        clients = self._vault.clients
        current = clients.get(actor, ref)
        self.check_client_default(actor, current, default_sync_mode, confirmed=confirmed)
        changed = clients.configure(
            actor,
            current.id,
            directory_sync=directory_sync,
            default_sync_mode=default_sync_mode,
            expected_version=expected_version,
        )
        self.default_switched(actor, current, default_sync_mode)
        return changed

    def default_switched(self, actor: Actor, before: Client, mode: SyncMode | None) -> None:
        """After a confirmed switch of ``before``'s default to enforce or two-way (a caller
        that changes the client itself calls this too): the links it named are confirmed."""
        if mode is not None and overwrites_more(before.default_sync_mode, mode):
            how = f"client default switched to {mode.spelled}"
            self._confirm_named(actor, before.id, how, follows_default_only=True)
