"""The vault's own row (``vault_meta``, id 1): how the master key is derived and checked, its
generation, and the audit log's head (the newest entry's sequence number and hash)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from credsync.crypto import KdfParams
from credsync.storage.tables import vault_meta

__all__ = [
    "AuditHead",
    "KeyState",
    "audit_head",
    "create",
    "exists",
    "key_generation",
    "key_state",
    "lock_audit_head",
    "mfa_key",
    "mfa_required",
    "set_audit_head",
    "set_key",
    "set_mfa_key_once",
    "set_mfa_required",
]

_ONE = vault_meta.c.id == 1


@dataclass(frozen=True)
class KeyState:
    """How the master key is derived (``params``), the value it must open (``kek_check``) and
    how many times it was rotated (``key_generation``)."""

    params: KdfParams
    kek_check: bytes = field(repr=False)
    key_generation: int


@dataclass(frozen=True)
class AuditHead:
    seq: int
    hash: str


def exists(conn: Connection) -> bool:
    return conn.execute(sa.select(vault_meta.c.id)).first() is not None


def create(
    conn: Connection, *, params: KdfParams, kek_check: bytes, genesis_hash: str, now: dt.datetime
) -> None:
    conn.execute(
        vault_meta.insert().values(
            id=1,
            kdf_salt=params.salt,
            kdf_time_cost=params.time_cost,
            kdf_memory_kib=params.memory_kib,
            kdf_parallelism=params.parallelism,
            kek_check=kek_check,
            key_generation=1,
            audit_head_seq=0,
            audit_head_hash=genesis_hash,
            created_at=now,
        )
    )


def key_state(conn: Connection, *, lock: bool = False) -> KeyState:
    """With ``lock``, the row stays locked until the transaction ends (key rotation)."""
    query = sa.select(vault_meta).where(_ONE)
    if lock:
        query = query.with_for_update()
    row = conn.execute(query).one()
    params = KdfParams(
        salt=row.kdf_salt,
        time_cost=row.kdf_time_cost,
        memory_kib=row.kdf_memory_kib,
        parallelism=row.kdf_parallelism,
    )
    return KeyState(params, row.kek_check, row.key_generation)


def key_generation(conn: Connection) -> int:
    return int(conn.execute(sa.select(vault_meta.c.key_generation)).scalar_one())


def set_key(
    conn: Connection,
    *,
    params: KdfParams,
    kek_check: bytes,
    key_generation: int,
    rotated_at: dt.datetime,
) -> None:
    conn.execute(
        vault_meta.update()
        .where(_ONE)
        .values(
            kdf_salt=params.salt,
            kdf_time_cost=params.time_cost,
            kdf_memory_kib=params.memory_kib,
            kdf_parallelism=params.parallelism,
            kek_check=kek_check,
            key_generation=key_generation,
            rotated_at=rotated_at,
        )
    )


# every audited action reads and sets the head: built once (see storage.federation)
_LOCK_AUDIT_HEAD = (
    sa.select(vault_meta.c.audit_head_seq, vault_meta.c.audit_head_hash)
    .where(_ONE)
    .with_for_update()
)
_SET_AUDIT_HEAD = (
    vault_meta.update()
    .where(_ONE)
    .values(audit_head_seq=sa.bindparam("head_seq"), audit_head_hash=sa.bindparam("head_hash"))
)


def lock_audit_head(conn: Connection) -> AuditHead:
    """The head, locked until the transaction ends: appenders are serialised on it."""
    row = conn.execute(_LOCK_AUDIT_HEAD).one()
    return AuditHead(int(row.audit_head_seq), row.audit_head_hash)


def audit_head(conn: Connection) -> AuditHead:
    row = conn.execute(sa.select(vault_meta.c.audit_head_seq, vault_meta.c.audit_head_hash)).one()
    return AuditHead(int(row.audit_head_seq), row.audit_head_hash)


def set_audit_head(conn: Connection, head: AuditHead) -> None:
    conn.execute(_SET_AUDIT_HEAD, {"head_seq": head.seq, "head_hash": head.hash})


# -- multi-factor sign-in (revision 0018) --------------------------------------------------------
def mfa_required(conn: Connection) -> bool:
    """Whether every operator must use a second factor."""
    return bool(conn.execute(sa.select(vault_meta.c.mfa_required).where(_ONE)).scalar_one())


def set_mfa_required(conn: Connection, required: bool) -> None:
    conn.execute(vault_meta.update().where(_ONE).values(mfa_required=required))


def mfa_key(conn: Connection) -> bytes | None:
    """The raw key sealing the operators' TOTP seeds, None until the first enrolment."""
    value = conn.execute(sa.select(vault_meta.c.mfa_key).where(_ONE)).scalar_one()
    return None if value is None else bytes(value)


def set_mfa_key_once(conn: Connection, raw: bytes) -> None:
    """Store ``raw`` as the MFA key unless one is stored already (a concurrent first
    enrolment's wins: read it back with :func:`mfa_key`)."""
    conn.execute(
        vault_meta.update().where(_ONE, vault_meta.c.mfa_key.is_(None)).values(mfa_key=raw)
    )
