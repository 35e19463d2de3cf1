"""Secret history (``secret_versions``): every sealed password a credential has had, who set
it, when and why. The credential points at its current version (``credentials.secret_version``,
kept by :mod:`credsync.storage.credentials`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from credsync.storage._rows import columns_for, record, records, repr_without
from credsync.storage.bulk import bulk_insert, db_value
from credsync.storage.tables import credentials, secret_versions

__all__ = [
    "SealedSecret",
    "SecretVersionRow",
    "add",
    "add_first",
    "ciphertext",
    "forget",
    "history",
    "made_by",
    "sealed_secrets",
]


class SecretVersionRow(NamedTuple):
    version: int
    ciphertext: bytes
    source: str
    reason: str
    created_at: dt.datetime
    created_by: str

    def __repr__(self) -> str:
        return repr_without(self, ("ciphertext",))


class SealedSecret(NamedTuple):
    credential_id: str
    version: int
    ciphertext: bytes
    client_id: str

    def __repr__(self) -> str:
        return repr_without(self, ("ciphertext",))


def ciphertext(conn: Connection, credential_id: str, version: int) -> bytes:
    query = sa.select(secret_versions.c.ciphertext).where(
        secret_versions.c.credential_id == credential_id, secret_versions.c.version == version
    )
    return bytes(conn.execute(query).scalar_one())


def made_by(conn: Connection, credential_id: str, version: int) -> str | None:
    """Who made the credential's secret version ``version`` (None: no such version)."""
    query = sa.select(secret_versions.c.created_by).where(
        secret_versions.c.credential_id == credential_id, secret_versions.c.version == version
    )
    found = conn.execute(query).scalar()
    return None if found is None else str(found)


def history(conn: Connection, credential_id: str) -> list[SecretVersionRow]:
    """Every secret version of the credential, newest first."""
    query = (
        sa.select(*columns_for(SecretVersionRow, secret_versions))
        .where(secret_versions.c.credential_id == credential_id)
        .order_by(secret_versions.c.version.desc())
    )
    return records(SecretVersionRow, conn.execute(query))


def sealed_secrets(conn: Connection, wanted: Mapping[str, int]) -> Iterator[SealedSecret]:
    """The sealed secret of each credential id of ``wanted`` at the version given (500 ids per
    query), with the client the credential belongs to."""
    ids = list(wanted)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = conn.execute(
            sa.select(*columns_for(SealedSecret, secret_versions, credentials))
            .join(credentials, credentials.c.id == secret_versions.c.credential_id)
            .where(
                secret_versions.c.credential_id.in_(chunk),
                sa.tuple_(secret_versions.c.credential_id, secret_versions.c.version).in_(
                    [(cid, wanted[cid]) for cid in chunk]
                ),
            )
        )
        for row in rows:
            yield record(SealedSecret, row)


def add(
    conn: Connection,
    credential_id: str,
    version: int,
    ciphertext: bytes,
    *,
    source: str,
    reason: str,
    at: dt.datetime,
    by: str,
) -> None:
    conn.execute(
        secret_versions.insert(),
        {
            "credential_id": credential_id,
            "version": version,
            "ciphertext": ciphertext,
            "source": source,
            "reason": reason,
            "created_at": at,
            "created_by": by,
        },
    )


_COLUMNS = (
    "credential_id",
    "version",
    "ciphertext",
    "source",
    "reason",
    "created_at",
    "created_by",
)


def add_first(
    conn: Connection,
    items: Sequence[tuple[str, bytes]],
    *,
    source: str,
    reason: str,
    now: dt.datetime,
    by: str,
) -> None:
    """Version 1 of each (credential id, ciphertext), in one executemany."""
    stamp = db_value(conn, secret_versions, "created_at", now)
    rows = [(cid, 1, ct, source, reason, stamp, by) for cid, ct in items]
    bulk_insert(conn, secret_versions, _COLUMNS, rows)


def forget(conn: Connection, credential_id: str) -> None:
    """Delete every version of a credential being purged."""
    conn.execute(secret_versions.delete().where(secret_versions.c.credential_id == credential_id))
