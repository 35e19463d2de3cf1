"""One-time links sent to people (``person_links``: onboarding invitations and password
resets) and each client's password policy for its people (``self_service_settings``): their
owner. A link's token is never stored: only its SHA-256 (``token_hash``), hidden from reprs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from credsync.storage._rows import columns_for, record, records, repr_without
from credsync.storage.tables import people
from credsync.storage.tables import person_links as links
from credsync.storage.tables import self_service_settings as settings

__all__ = [
    "LinkRow",
    "by_hash",
    "client_policy",
    "forget_person",
    "insert",
    "latest",
    "mark_sent",
    "people_by_email",
    "set_client_policy",
    "use",
    "void_open",
]


class LinkRow(NamedTuple):
    id: str
    person_id: str
    client_id: str
    purpose: str
    token_hash: str
    created_at: dt.datetime
    created_by: str
    expires_at: dt.datetime
    used_at: dt.datetime | None
    voided_at: dt.datetime | None
    sent_at: dt.datetime | None
    send_error: str | None

    def __repr__(self) -> str:
        return repr_without(self, ("token_hash",))


_SELECT = sa.select(*columns_for(LinkRow, links))


def insert(conn: Connection, row: LinkRow) -> None:
    conn.execute(links.insert().values(**row._asdict()))


def void_open(conn: Connection, person_id: str, purpose: str, now: dt.datetime) -> int:
    """Void the person's unused links of ``purpose`` (a new one replaces them)."""
    result = conn.execute(
        links.update()
        .where(
            links.c.person_id == person_id,
            links.c.purpose == purpose,
            links.c.used_at.is_(None),
            links.c.voided_at.is_(None),
        )
        .values(voided_at=now)
    )
    return int(result.rowcount)


def by_hash(conn: Connection, token_hash: str) -> LinkRow | None:
    row = conn.execute(_SELECT.where(links.c.token_hash == token_hash)).first()
    return record(LinkRow, row) if row is not None else None


def use(conn: Connection, link_id: str, now: dt.datetime) -> bool:
    """Mark the link used, if it is still unused and not void (False: somebody used it)."""
    result = conn.execute(
        links.update()
        .where(links.c.id == link_id, links.c.used_at.is_(None), links.c.voided_at.is_(None))
        .values(used_at=now)
    )
    return bool(result.rowcount == 1)


def mark_sent(conn: Connection, link_id: str, *, sent_at: dt.datetime | None, error: str) -> None:
    conn.execute(
        links.update()
        .where(links.c.id == link_id)
        .values(sent_at=sent_at, send_error=error[:2000] or None)
    )


def latest(conn: Connection, person_ids: Sequence[str], purpose: str) -> dict[str, LinkRow]:
    """Each person's newest link of ``purpose``."""
    if not person_ids:
        return {}
    query = _SELECT.where(
        links.c.person_id.in_(list(person_ids)), links.c.purpose == purpose
    ).order_by(links.c.created_at)
    return {r.person_id: r for r in records(LinkRow, conn.execute(query))}


def forget_person(conn: Connection, person_id: str) -> None:
    """The person is purged: their links go with them."""
    conn.execute(links.delete().where(links.c.person_id == person_id))


def client_policy(conn: Connection, client_id: str) -> str | None:
    query = sa.select(settings.c.password_policy).where(settings.c.client_id == client_id)
    value = conn.execute(query).scalar_one_or_none()
    return str(value) if value is not None else None


def set_client_policy(
    conn: Connection, client_id: str, policy: str | None, *, by: str, now: dt.datetime
) -> None:
    """The client's people's policy (None: back to the vault's default)."""
    conn.execute(settings.delete().where(settings.c.client_id == client_id))
    if policy is not None:
        conn.execute(
            settings.insert().values(
                client_id=client_id, password_policy=policy, updated_at=now, updated_by=by
            )
        )


def people_by_email(conn: Connection, client_id: str, email: str) -> list[str]:
    """The ids of the client's people (not in the trash) with this e-mail (any case): a read
    of ``people``, whose owner is :mod:`credsync.storage.people`."""
    query = sa.select(people.c.id).where(
        people.c.client_id == client_id,
        sa.func.lower(people.c.email) == email.strip().lower(),
        people.c.deleted_at.is_(None),
    )
    return [str(r) for r in conn.execute(query.limit(2)).scalars()]
