"""Onboarding records (``person_onboarding``): their owner. A person imported into a group
with a provisioning policy has one: the group, the folder and sync mode of their primary
credential, whether they are to be invited, and whether they are still awaiting onboarding
(no password yet)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from credsync.storage._rows import columns_for, records
from credsync.storage.tables import person_onboarding as onboarding

__all__ = ["OnboardingRow", "forget_person", "of_people", "put"]


class OnboardingRow(NamedTuple):
    person_id: str
    client_id: str
    group_id: str | None
    folder: str
    sync_mode: str
    invite: bool
    awaiting: bool
    created_at: dt.datetime
    created_by: str


def of_people(conn: Connection, person_ids: Sequence[str]) -> dict[str, OnboardingRow]:
    if not person_ids:
        return {}
    query = sa.select(*columns_for(OnboardingRow, onboarding)).where(
        onboarding.c.person_id.in_(list(person_ids))
    )
    return {r.person_id: r for r in records(OnboardingRow, conn.execute(query))}


def put(conn: Connection, row: OnboardingRow) -> None:
    """Record a person's onboarding (replacing an earlier record of theirs)."""
    conn.execute(onboarding.delete().where(onboarding.c.person_id == row.person_id))
    conn.execute(onboarding.insert().values(**row._asdict()))


def forget_person(conn: Connection, person_id: str) -> None:
    """The person is purged: their record goes with them."""
    conn.execute(onboarding.delete().where(onboarding.c.person_id == person_id))
