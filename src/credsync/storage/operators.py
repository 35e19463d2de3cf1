"""Operators, the roles that grant them permissions, their API tokens and the clients an
operator limited to some may reach (``operators``, ``roles``, ``api_tokens``,
``operator_clients``). Names are looked up by their case-folded key (``name_key``), which
the caller computes; a role's permissions are stored as a JSON list."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from credsync.storage._rows import AnyRow, columns_for, record, records, repr_without
from credsync.storage.tables import api_tokens, clients, operator_clients, operators, roles

__all__ = [
    "OperatorRow",
    "RoleRow",
    "TokenRow",
    "add",
    "add_role",
    "add_token",
    "all_tokens",
    "by_key",
    "client_access",
    "client_ids_of",
    "delete_role",
    "enabled_with_role",
    "find",
    "find_token",
    "get",
    "get_token",
    "holders_of",
    "key_taken",
    "list_all",
    "live_tokens_of",
    "mfa_roles",
    "permissions_of",
    "revoke_token",
    "revoke_tokens_of",
    "role",
    "role_names",
    "roles_all",
    "set_client_access",
    "set_disabled",
    "set_last_login",
    "set_password_hash",
    "set_role",
    "set_role_mfa",
    "token_by_hash",
    "tokens_of",
    "touch_token",
]


class OperatorRow(NamedTuple):
    id: str
    name: str
    password_hash: str
    role: str
    created_at: dt.datetime
    updated_at: dt.datetime
    disabled_at: dt.datetime | None
    last_login_at: dt.datetime | None
    all_clients: bool

    def __repr__(self) -> str:
        return repr_without(self, ("password_hash",))


class RoleRow(NamedTuple):
    name: str
    description: str
    permissions: tuple[str, ...]
    builtin: bool


class TokenRow(NamedTuple):
    id: str
    operator_id: str
    operator_name: str
    name: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


_OPERATOR = sa.select(*columns_for(OperatorRow, operators))


# -- operators ---------------------------------------------------------------------------------
def find(conn: Connection, ident: str, key: str, *, lock: bool = False) -> OperatorRow | None:
    """The operator whose name key is ``key`` or whose id is ``ident``."""
    query = _OPERATOR.where(sa.or_(operators.c.name_key == key, operators.c.id == ident))
    if lock:
        query = query.with_for_update()
    row = conn.execute(query).first()
    return None if row is None else record(OperatorRow, row)


def by_key(conn: Connection, key: str) -> OperatorRow | None:
    row = conn.execute(_OPERATOR.where(operators.c.name_key == key)).first()
    return None if row is None else record(OperatorRow, row)


def get(conn: Connection, operator_id: str) -> OperatorRow:
    return record(OperatorRow, conn.execute(_OPERATOR.where(operators.c.id == operator_id)).one())


def key_taken(conn: Connection, key: str) -> bool:
    return (
        conn.execute(sa.select(operators.c.id).where(operators.c.name_key == key)).first()
        is not None
    )


def list_all(conn: Connection) -> list[OperatorRow]:
    return records(OperatorRow, conn.execute(_OPERATOR.order_by(operators.c.name_key)))


def add(
    conn: Connection,
    *,
    operator_id: str,
    name: str,
    key: str,
    password_hash: str,
    role: str,
    now: dt.datetime,
) -> None:
    conn.execute(
        operators.insert().values(
            id=operator_id,
            name=name,
            name_key=key,
            password_hash=password_hash,
            role=role,
            created_at=now,
            updated_at=now,
        )
    )


def set_role(conn: Connection, operator_id: str, role: str, now: dt.datetime) -> None:
    conn.execute(
        operators.update().where(operators.c.id == operator_id).values(role=role, updated_at=now)
    )


def set_disabled(
    conn: Connection, operator_id: str, disabled_at: dt.datetime | None, now: dt.datetime
) -> None:
    conn.execute(
        operators.update()
        .where(operators.c.id == operator_id)
        .values(disabled_at=disabled_at, updated_at=now)
    )


def set_password_hash(
    conn: Connection, operator_id: str, password_hash: str, now: dt.datetime
) -> None:
    conn.execute(
        operators.update()
        .where(operators.c.id == operator_id)
        .values(password_hash=password_hash, updated_at=now)
    )


def set_last_login(conn: Connection, operator_id: str, now: dt.datetime) -> None:
    conn.execute(operators.update().where(operators.c.id == operator_id).values(last_login_at=now))


# -- client access -----------------------------------------------------------------------------
def client_ids_of(conn: Connection, operator_id: str) -> frozenset[str]:
    """The ids of the clients listed for ``operator_id`` (meaningful when not all_clients)."""
    query = sa.select(operator_clients.c.client_id).where(
        operator_clients.c.operator_id == operator_id
    )
    return frozenset(conn.execute(query).scalars())


def client_access(
    conn: Connection, operator_id: str | None = None
) -> dict[str, list[tuple[str, str]]]:
    """Per operator id (of one operator when given), the (id, name) of the clients listed
    for them, by name."""
    query = (
        sa.select(operator_clients.c.operator_id, clients.c.id, clients.c.name)
        .join(clients, clients.c.id == operator_clients.c.client_id)
        .order_by(clients.c.name_key)
    )
    if operator_id is not None:
        query = query.where(operator_clients.c.operator_id == operator_id)
    out: dict[str, list[tuple[str, str]]] = {}
    for operator_id, client_id, name in conn.execute(query):
        out.setdefault(operator_id, []).append((client_id, name))
    return out


def set_client_access(
    conn: Connection,
    operator_id: str,
    client_ids: Sequence[str] | None,
    now: dt.datetime,
) -> None:
    """Every client (``client_ids`` None) or only those listed."""
    conn.execute(
        operators.update()
        .where(operators.c.id == operator_id)
        .values(all_clients=client_ids is None, updated_at=now)
    )
    conn.execute(operator_clients.delete().where(operator_clients.c.operator_id == operator_id))
    if client_ids:
        conn.execute(
            operator_clients.insert(),
            [
                {"operator_id": operator_id, "client_id": c, "created_at": now}
                for c in sorted(set(client_ids))
            ],
        )


def enabled_with_role(conn: Connection, role_name: str, *, besides: str) -> int:
    """How many enabled operators other than ``besides`` (an id) hold ``role_name``."""
    return int(
        conn.execute(
            sa.select(sa.func.count())
            .select_from(operators)
            .where(
                operators.c.role == role_name,
                operators.c.disabled_at.is_(None),
                operators.c.id != besides,
            )
        ).scalar_one()
    )


def holders_of(conn: Connection, role_name: str) -> list[str]:
    """The names of the operators who hold ``role_name``."""
    return list(
        conn.execute(sa.select(operators.c.name).where(operators.c.role == role_name)).scalars()
    )


# -- roles -------------------------------------------------------------------------------------
def _role(row: AnyRow) -> RoleRow:
    return RoleRow(row.name, row.description, tuple(json.loads(row.permissions)), bool(row.builtin))


_ROLE = sa.select(roles.c.name, roles.c.description, roles.c.permissions, roles.c.builtin)


def permissions_of(conn: Connection, role_name: str) -> tuple[str, ...]:
    """The permissions ``role_name`` grants (none for a role that does not exist)."""
    text = conn.execute(sa.select(roles.c.permissions).where(roles.c.name == role_name)).scalar()
    return tuple(json.loads(text or "[]"))


def role(conn: Connection, name: str) -> RoleRow | None:
    row = conn.execute(_ROLE.where(roles.c.name == name)).first()
    return None if row is None else _role(row)


def role_names(conn: Connection) -> list[str]:
    return list(conn.execute(sa.select(roles.c.name).order_by(roles.c.name)).scalars())


def roles_all(conn: Connection) -> list[RoleRow]:
    return [_role(r) for r in conn.execute(_ROLE.order_by(roles.c.name))]


def add_role(
    conn: Connection,
    *,
    name: str,
    description: str,
    permissions: Sequence[str],
    builtin: bool,
    now: dt.datetime,
) -> None:
    conn.execute(
        roles.insert().values(
            name=name,
            description=description,
            permissions=json.dumps(list(permissions)),
            builtin=builtin,
            created_at=now,
        )
    )


def change_role(
    conn: Connection, name: str, *, description: str, permissions: Sequence[str]
) -> None:
    conn.execute(
        roles.update()
        .where(roles.c.name == name)
        .values(description=description, permissions=json.dumps(list(permissions)))
    )


def delete_role(conn: Connection, name: str) -> None:
    conn.execute(roles.delete().where(roles.c.name == name))


# -- roles' MFA requirement (revision 0018) -------------------------------------------------------
def mfa_roles(conn: Connection) -> set[str]:
    """The names of the roles whose holders must use a second factor."""
    return set(conn.execute(sa.select(roles.c.name).where(roles.c.mfa_required)).scalars())


def set_role_mfa(conn: Connection, name: str, required: bool) -> bool:
    """Whether role ``name`` exists (its requirement then set)."""
    done = conn.execute(roles.update().where(roles.c.name == name).values(mfa_required=required))
    return bool(done.rowcount)


# -- API tokens --------------------------------------------------------------------------------
_TOKEN = sa.select(*columns_for(TokenRow, api_tokens, operator_name=operators.c.name)).join(
    operators, operators.c.id == api_tokens.c.operator_id
)


def find_token(conn: Connection, token_id: str) -> TokenRow | None:
    row = conn.execute(_TOKEN.where(api_tokens.c.id == token_id)).first()
    return None if row is None else record(TokenRow, row)


def get_token(conn: Connection, token_id: str) -> TokenRow:
    return record(TokenRow, conn.execute(_TOKEN.where(api_tokens.c.id == token_id)).one())


def token_by_hash(conn: Connection, token_hash: str) -> TokenRow | None:
    row = conn.execute(_TOKEN.where(api_tokens.c.token_hash == token_hash)).first()
    return None if row is None else record(TokenRow, row)


def all_tokens(conn: Connection) -> list[TokenRow]:
    """Every operator's tokens, oldest first."""
    return records(TokenRow, conn.execute(_TOKEN.order_by(api_tokens.c.created_at)))


def tokens_of(conn: Connection, operator_id: str | None) -> list[TokenRow]:
    """The tokens of ``operator_id`` (None, the system's: none), oldest first."""
    query = _TOKEN.where(api_tokens.c.operator_id == operator_id)
    return records(TokenRow, conn.execute(query.order_by(api_tokens.c.created_at)))


def add_token(
    conn: Connection,
    *,
    token_id: str,
    operator_id: str,
    name: str,
    token_hash: str,
    now: dt.datetime,
    expires_at: dt.datetime | None,
) -> None:
    conn.execute(
        api_tokens.insert().values(
            id=token_id,
            operator_id=operator_id,
            name=name,
            token_hash=token_hash,
            created_at=now,
            expires_at=expires_at,
        )
    )


def touch_token(conn: Connection, token_id: str, now: dt.datetime) -> None:
    conn.execute(api_tokens.update().where(api_tokens.c.id == token_id).values(last_used_at=now))


def revoke_token(conn: Connection, token_id: str, now: dt.datetime) -> None:
    conn.execute(api_tokens.update().where(api_tokens.c.id == token_id).values(revoked_at=now))


def revoke_tokens_of(conn: Connection, operator_id: str, now: dt.datetime) -> int:
    """Revoke every token of ``operator_id`` not yet revoked; returns how many of them still
    worked (not expired)."""
    ending = live_tokens_of(conn, operator_id, now)
    conn.execute(
        api_tokens.update()
        .where(api_tokens.c.operator_id == operator_id, api_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return ending


def live_tokens_of(conn: Connection, operator_id: str, now: dt.datetime) -> int:
    """How many tokens of ``operator_id`` are neither revoked nor expired."""
    query = (
        sa.select(sa.func.count())
        .select_from(api_tokens)
        .where(
            api_tokens.c.operator_id == operator_id,
            api_tokens.c.revoked_at.is_(None),
            sa.or_(api_tokens.c.expires_at.is_(None), api_tokens.c.expires_at > now),
        )
    )
    return int(conn.execute(query).scalar_one())
