"""What switching to enforce would overwrite, shown before the operator confirms.

For each credential whose effective mode would become ``enforce``, and for each directory of
its client: the linked account and whether the directory's password will be overwritten at
the next run (anything but a confirmed ``in_sync``), or only when the vault's password next
changes. Unlinked credentials are listed too: the next run links them, binds once, and
overwrites on a mismatch.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Connection
from typing_extensions import TypedDict

from credsync.storage import link_reads
from credsync.types import SyncMode

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
    rows = link_reads.enforce_impact(
        conn,
        client_id,
        credential_id=credential_id,
        follows_default_only=follows_default_only,
        not_in_mode=SyncMode.ENFORCE.value,
    )
    out = []
    for row in rows:
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
