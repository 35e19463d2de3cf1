"""Operators' second factor (``operator_mfa``, ``mfa_recovery_codes``): the sealed TOTP seed,
its enrolment state and last accepted time step, and the recovery codes' digests.

A time step is accepted by :func:`accept_step` alone, a conditional update (the new step must
be above the last one), so two sign-ins with the same code at the same moment can't both pass;
a recovery code is spent by :func:`spend_recovery` the same way."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from credsync.storage._factor_sql import SeedSql
from credsync.storage._rows import columns_for, record, repr_without
from credsync.storage.tables import mfa_recovery_codes, operator_mfa

__all__ = [
    "MfaRow",
    "accept_step",
    "add_recovery_codes",
    "enrolled_ids",
    "get",
    "recovery_left",
    "remove",
    "set_confirmed",
    "set_pending",
    "spend_recovery",
]


class MfaRow(NamedTuple):
    operator_id: str
    seed_ct: bytes
    created_at: dt.datetime
    confirmed_at: dt.datetime | None
    last_step: int | None

    def __repr__(self) -> str:
        return repr_without(self, ("seed_ct",))


_ROW = sa.select(*columns_for(MfaRow, operator_mfa))
_SEEDS = SeedSql(operator_mfa, "operator_id")

set_confirmed = _SEEDS.set_confirmed
"""Confirm a pending enrolment with the step of its first good code; whether it was
pending."""
accept_step = _SEEDS.accept_step
"""Record a step as the last accepted, only if it is newer than the last one; whether it was
(False: a replayed or older code)."""


def get(conn: Connection, operator_id: str) -> MfaRow | None:
    row = conn.execute(_ROW.where(operator_mfa.c.operator_id == operator_id)).first()
    return None if row is None else record(MfaRow, row)


def enrolled_ids(conn: Connection) -> set[str]:
    """The ids of the operators whose enrolment is confirmed."""
    query = sa.select(operator_mfa.c.operator_id).where(operator_mfa.c.confirmed_at.is_not(None))
    return set(conn.execute(query).scalars())


def set_pending(conn: Connection, operator_id: str, seed_ct: bytes, now: dt.datetime) -> None:
    """A new, unconfirmed seed for ``operator_id`` (in place of a pending one)."""
    remove(conn, operator_id)
    conn.execute(
        operator_mfa.insert().values(operator_id=operator_id, seed_ct=seed_ct, created_at=now)
    )


def remove(conn: Connection, operator_id: str) -> bool:
    """Remove the operator's seed and recovery codes; whether there was a seed."""
    conn.execute(mfa_recovery_codes.delete().where(mfa_recovery_codes.c.operator_id == operator_id))
    gone = conn.execute(operator_mfa.delete().where(operator_mfa.c.operator_id == operator_id))
    return bool(gone.rowcount)


def add_recovery_codes(
    conn: Connection, operator_id: str, rows: Sequence[tuple[str, str]], now: dt.datetime
) -> None:
    """Replace the operator's recovery codes with ``rows`` of (id, digest)."""
    conn.execute(mfa_recovery_codes.delete().where(mfa_recovery_codes.c.operator_id == operator_id))
    conn.execute(
        mfa_recovery_codes.insert(),
        [
            {"id": code_id, "operator_id": operator_id, "code_hash": digest, "created_at": now}
            for code_id, digest in rows
        ],
    )


def spend_recovery(conn: Connection, operator_id: str, digest: str, now: dt.datetime) -> bool:
    """Mark the unused code of ``digest`` used; whether there was one."""
    done = conn.execute(
        mfa_recovery_codes.update()
        .where(
            mfa_recovery_codes.c.operator_id == operator_id,
            mfa_recovery_codes.c.code_hash == digest,
            mfa_recovery_codes.c.used_at.is_(None),
        )
        .values(used_at=now)
    )
    return bool(done.rowcount)


def recovery_left(conn: Connection, operator_id: str) -> int:
    query = (
        sa.select(sa.func.count())
        .select_from(mfa_recovery_codes)
        .where(
            mfa_recovery_codes.c.operator_id == operator_id,
            mfa_recovery_codes.c.used_at.is_(None),
        )
    )
    return int(conn.execute(query).scalar_one())
