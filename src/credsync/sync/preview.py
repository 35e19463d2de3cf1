"""What switching to enforce or two-way would overwrite, shown before the operator confirms.

For each credential whose effective mode would become ``enforce`` (or ``two_way``), and for
each directory of its client: the linked account and whether the directory's password will
be overwritten at the next run (anything but a confirmed ``in_sync``), or only when the
vault's password next changes. Unlinked credentials are listed too: the next run links them,
binds once, and overwrites on a mismatch. Two-way never overwrites a password changed in the
directory since the last check (it waits for its capture): those accounts are listed, not
counted as overwritten.
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
    waits_for_capture: bool
    """Two-way: the directory's password changed since the last check; not overwritten."""


@dataclass(frozen=True)
class EnforceImpact:
    credential_id: str
    title: str
    username: str
    directory: str
    account: str | None
    last_status: str | None
    overwrite_now: bool
    waits_for_capture: bool = False

    def to_json(self) -> EnforceImpactJson:
        return EnforceImpactJson(
            credential_id=self.credential_id,
            title=self.title,
            username=self.username,
            directory=self.directory,
            account=self.account,
            last_status=self.last_status,
            overwrite_now=self.overwrite_now,
            waits_for_capture=self.waits_for_capture,
        )


def enforce_preview(
    conn: Connection,
    client_id: str,
    *,
    credential_id: str | None = None,
    follows_default_only: bool = False,
    mode: SyncMode = SyncMode.ENFORCE,
) -> list[EnforceImpact]:
    """Credentials of the client that switching to ``mode`` makes push more (not yet in
    enforce; for two-way, in neither enforce nor two-way): just ``credential_id`` when given;
    only those following the client default when ``follows_default_only``."""
    skipped = (SyncMode.ENFORCE, SyncMode.TWO_WAY) if mode is SyncMode.TWO_WAY else (mode,)
    rows = link_reads.enforce_impact(
        conn,
        client_id,
        credential_id=credential_id,
        follows_default_only=follows_default_only,
        not_in_modes=[m.value for m in skipped],
    )
    out = []
    for row in rows:
        confirmed = (
            row.status == "in_sync"
            and row.confirmed_stamp is not None
            and row.confirmed_stamp == row.password_stamp
        )
        waits = mode is SyncMode.TWO_WAY and _moved_in_directory(row)
        out.append(
            EnforceImpact(
                row.id,
                row.title,
                row.username,
                row.directory,
                row.account,
                row.status,
                not confirmed and not waits,
                waits,
            )
        )
    return out


def _moved_in_directory(row: link_reads.ImpactRow) -> bool:
    """The directory's password changed since the vault last set or confirmed it."""
    return row.confirmed_stamp is not None and row.confirmed_stamp != row.password_stamp


SHOWN = 5


def enforce_summary(
    impact: list[EnforceImpact], what: str, mode: SyncMode = SyncMode.ENFORCE
) -> str:
    """One paragraph naming what switching ``what`` to ``mode`` (enforce, two-way) overwrites
    (the CLI's question and the API's refusal without ``confirm``)."""
    if mode is not SyncMode.TWO_WAY:
        return _summary(impact, f"In enforce mode the vault's password wins for {what}: ")
    kept = [f"{i.directory}:{i.account or i.username}" for i in impact if i.waits_for_capture]
    rest = [i for i in impact if not i.waits_for_capture]
    said = f"In two-way mode the vault's changes are pushed for {what}: "
    if kept and not rest:
        said += "no password is overwritten now; later vault changes are pushed."
    else:
        said = _summary(rest, said)
    if kept:
        return said + (
            " Not overwritten: " + _listed(kept) + " (changed in the directory since the last "
            "check: each waits for its capture)."
        )
    return (
        said
        + " A password changed in the directory is never pushed over: it waits for its capture."
    )


def _listed(names: list[str]) -> str:
    return ", ".join(names[:SHOWN]) + (
        f" and {len(names) - SHOWN} more" if len(names) > SHOWN else ""
    )


def _summary(impact: list[EnforceImpact], summary: str) -> str:
    now = [i for i in impact if i.overwrite_now]
    names = [f"{i.directory}:{i.account or i.username}" for i in now]
    if now:
        listed = _listed(names)
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
