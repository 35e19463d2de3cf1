"""What switching to enforce would overwrite, shown before the operator confirms.

For each credential whose effective mode would become ``enforce``, and for each directory of
its client: the linked account and whether the directory's password will be overwritten at
the next run (anything but a confirmed ``in_sync``), or only when the vault's password next
changes. Unlinked credentials are listed too: the next run links them, binds once, and
overwrites on a mismatch.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from typing_extensions import TypedDict

from credsync.storage.tables import clients, credentials, directories, directory_accounts, links
from credsync.types import SyncMode
from credsync.vault.secrets import effective_mode

__all__ = ["EnforceImpact", "EnforceImpactJson", "enforce_preview", "enforce_summary"]


class EnforceImpactJson(TypedDict):
    credential_id: str
    title: str
    username: str
    directory: str
    account: str | None
    """The linked account (null: not linked yet)."""
    last_status: str | None
    overwrite_now: bool
    """The next run overwrites the directory's password."""


@dataclass(frozen=True)
class EnforceImpact:
    credential_id: str
    title: str
    username: str
    directory: str
    account: str | None
    last_status: str | None
    overwrite_now: bool

    def to_json(self) -> EnforceImpactJson:
        return EnforceImpactJson(
            credential_id=self.credential_id,
            title=self.title,
            username=self.username,
            directory=self.directory,
            account=self.account,
            last_status=self.last_status,
            overwrite_now=self.overwrite_now,
        )


def enforce_preview(
    conn: Connection,
    client_id: str,
    *,
    credential_id: str | None = None,
    follows_default_only: bool = False,
) -> list[EnforceImpact]:
    """Credentials of the client not yet in enforce (just ``credential_id`` when given; only
    those following the client default when ``follows_default_only``)."""
    mode = effective_mode()
    query = (
        sa.select(
            credentials.c.id,
            credentials.c.title,
            credentials.c.username,
            directories.c.name.label("directory"),
            directory_accounts.c.username.label("account"),
            links.c.status,
            links.c.confirmed_stamp,
            directory_accounts.c.password_stamp,
        )
        .join(clients, clients.c.id == credentials.c.client_id)
        .join(directories, directories.c.client_id == clients.c.id)
        .outerjoin(
            links,
            sa.and_(
                links.c.credential_id == credentials.c.id,
                links.c.directory_id == directories.c.id,
            ),
        )
        .outerjoin(
            directory_accounts,
            sa.and_(
                directory_accounts.c.directory_id == directories.c.id,
                directory_accounts.c.account_id == links.c.account_id,
            ),
        )
        .where(
            credentials.c.client_id == client_id,
            credentials.c.deleted_at.is_(None),
            mode != SyncMode.ENFORCE.value,
        )
        .order_by(credentials.c.title_key, directories.c.name_key)
    )
    if credential_id is not None:
        query = query.where(credentials.c.id == credential_id)
    if follows_default_only:
        query = query.where(credentials.c.sync_mode.is_(None))
    out = []
    for row in conn.execute(query):
        confirmed = (
            row.status == "in_sync"
            and row.confirmed_stamp is not None
            and row.confirmed_stamp == row.password_stamp
        )
        out.append(
            EnforceImpact(
                row.id,
                row.title,
                row.username,
                row.directory,
                row.account,
                row.status,
                not confirmed,
            )
        )
    return out


SHOWN = 5


def enforce_summary(impact: list[EnforceImpact], what: str) -> str:
    """One paragraph naming what switching ``what`` to enforce overwrites (the CLI's question
    and the API's refusal without ``confirm``)."""
    now = [i for i in impact if i.overwrite_now]
    names = [f"{i.directory}:{i.account or i.username}" for i in now]
    summary = f"In enforce mode the vault's password wins for {what}: "
    if now:
        listed = ", ".join(names[:SHOWN]) + (
            f" and {len(names) - SHOWN} more" if len(names) > SHOWN else ""
        )
        return summary + (
            f"the next run overwrites the directory's password of {listed} (unless a bind "
            "shows it is already the vault's, where the directory can check one; where it "
            "can't, the password is pushed)."
        )
    if impact:
        return summary + (
            "no password is overwritten now (every linked account is in sync); later vault "
            "changes are pushed."
        )
    return summary + "the run that links an account will overwrite its password if it differs."
