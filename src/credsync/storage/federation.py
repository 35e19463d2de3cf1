"""Federated domains, their identities and the identity provider's pending sign-in requests
(``federated_domains``, ``federation_identities``, ``idp_requests``): their owner.

A domain (lower case) belongs to one client; its identities are replaced as a set
(:func:`replace_identities`). A sign-in request is taken once (:func:`take_request` deletes
it in the same statement's transaction) and expires.

The identity provider's statements (every federated sign-in runs them) are built once, with
bound parameters: built per call, SQLAlchemy's construction and cache key took about five
times what running the statement on SQLite took (bench/federated_sign_in.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from credsync.storage._rows import columns_for, record, records
from credsync.storage.tables import (
    clients,
    federated_domains,
    federation_identities,
    idp_requests,
)

__all__ = [
    "DomainRow",
    "IdentityRow",
    "RequestRow",
    "delete_domain",
    "domain",
    "domain_and_client_name",
    "domains_of",
    "drop_expired_requests",
    "forget_person",
    "identity",
    "identity_count",
    "insert_domain",
    "peek_request",
    "put_request",
    "replace_identities",
    "spend_request",
    "take_request",
    "update_domain",
]


class DomainRow(NamedTuple):
    domain: str
    client_id: str
    directory_id: str
    base_url: str
    login_url: str
    protocol: str
    mfa_behavior: str
    state: str
    config_id: str | None
    updated_at: dt.datetime
    updated_by: str


class IdentityRow(NamedTuple):
    domain: str
    person_id: str
    immutable_id: str
    upn: str


class RequestRow(NamedTuple):
    id: str
    domain: str
    protocol: str
    request_id: str | None
    relay_state: str | None
    force_authn: bool
    created_at: dt.datetime
    expires_at: dt.datetime


def _domains() -> sa.Select[tuple[object, ...]]:
    return sa.select(*columns_for(DomainRow, federated_domains))


_DOMAIN_AND_CLIENT_NAME = (
    sa.select(*columns_for(DomainRow, federated_domains), clients.c.name)
    .join(clients, clients.c.id == federated_domains.c.client_id)
    .where(federated_domains.c.domain == sa.bindparam("name"))
)
_IDENTITY = sa.select(*columns_for(IdentityRow, federation_identities)).where(
    federation_identities.c.domain == sa.bindparam("name"),
    federation_identities.c.person_id == sa.bindparam("person_id"),
)
_PUT_REQUEST = sa.insert(idp_requests)
_PEEK_REQUEST = sa.select(*columns_for(RequestRow, idp_requests)).where(
    idp_requests.c.id == sa.bindparam("key")
)
_SPEND_REQUEST = sa.delete(idp_requests).where(idp_requests.c.id == sa.bindparam("key"))


def domain(conn: Connection, name: str, *, lock: bool = False) -> DomainRow | None:
    query = _domains().where(federated_domains.c.domain == name)
    if lock:
        query = query.with_for_update()
    row = conn.execute(query).first()
    return None if row is None else record(DomainRow, row)


def domain_and_client_name(conn: Connection, name: str) -> tuple[DomainRow, str] | None:
    """The domain and its client's name in one statement (the identity provider's hot path:
    ``clients`` is read, never written, here)."""
    row = conn.execute(_DOMAIN_AND_CLIENT_NAME, {"name": name}).first()
    if row is None:
        return None
    return DomainRow(*row[:-1]), str(row[-1])


def domains_of(conn: Connection, client_id: str) -> list[DomainRow]:
    query = (
        _domains()
        .where(federated_domains.c.client_id == client_id)
        .order_by(federated_domains.c.domain)
    )
    return records(DomainRow, conn.execute(query))


def insert_domain(conn: Connection, row: DomainRow) -> None:
    conn.execute(sa.insert(federated_domains).values(**row._asdict()))


def update_domain(conn: Connection, row: DomainRow) -> None:
    values = row._asdict()
    name = values.pop("domain")
    conn.execute(
        sa.update(federated_domains).where(federated_domains.c.domain == name).values(**values)
    )


def delete_domain(conn: Connection, name: str) -> None:
    conn.execute(sa.delete(federation_identities).where(federation_identities.c.domain == name))
    conn.execute(sa.delete(federated_domains).where(federated_domains.c.domain == name))


def forget_person(conn: Connection, person_id: str) -> None:
    """Drop the person's identities (purged: :func:`credsync.storage.people.purge`)."""
    conn.execute(
        sa.delete(federation_identities).where(federation_identities.c.person_id == person_id)
    )


def replace_identities(conn: Connection, name: str, rows: Sequence[IdentityRow]) -> None:
    conn.execute(sa.delete(federation_identities).where(federation_identities.c.domain == name))
    if rows:
        conn.execute(sa.insert(federation_identities), [r._asdict() for r in rows])


def identity(conn: Connection, name: str, person_id: str) -> IdentityRow | None:
    row = conn.execute(_IDENTITY, {"name": name, "person_id": person_id}).first()
    return None if row is None else record(IdentityRow, row)


def identity_count(conn: Connection, name: str) -> int:
    return int(
        conn.execute(
            sa.select(sa.func.count()).where(federation_identities.c.domain == name)
        ).scalar_one()
    )


def put_request(conn: Connection, row: RequestRow) -> None:
    conn.execute(_PUT_REQUEST, row._asdict())


def take_request(conn: Connection, request_key: str) -> RequestRow | None:
    """The pending request, deleted as it is read (one-time): None when unknown or taken."""
    row = conn.execute(_PEEK_REQUEST, {"key": request_key}).first()
    if row is None:
        return None
    gone = conn.execute(_SPEND_REQUEST, {"key": request_key})
    return record(RequestRow, row) if gone.rowcount == 1 else None


def spend_request(conn: Connection, request_key: str) -> bool:
    """Delete the pending request (one-time): True when this call deleted it, False when it
    was unknown or already taken (by a concurrent transaction too: the DELETE's row count
    says who won). For a caller that has already read the row (:func:`peek_request`)."""
    gone = conn.execute(_SPEND_REQUEST, {"key": request_key})
    return int(gone.rowcount) == 1


def peek_request(conn: Connection, request_key: str) -> RequestRow | None:
    row = conn.execute(_PEEK_REQUEST, {"key": request_key}).first()
    return None if row is None else record(RequestRow, row)


def drop_expired_requests(conn: Connection, now: dt.datetime) -> int:
    return int(
        conn.execute(sa.delete(idp_requests).where(idp_requests.c.expires_at < now)).rowcount
    )
