"""The records of who uses the vault: roles, operators (with their client access and second
factor), password changes and API tokens, each with its JSON shape (the rules of
:mod:`credsync.vault.models`, which names them too)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from typing_extensions import TypedDict

from credsync.types import Secret
from credsync.vault._time import Timestamp, iso

__all__ = [
    "ApiToken",
    "ApiTokenJson",
    "ClientRefJson",
    "NewApiTokenJson",
    "Operator",
    "OperatorJson",
    "PasswordChange",
    "PasswordChangeJson",
    "Role",
    "RoleJson",
    "TokensRevoked",
    "TokensRevokedJson",
]


class RoleJson(TypedDict):
    name: str
    description: str
    permissions: list[str]
    builtin: bool


@dataclass(frozen=True)
class Role:
    name: str
    description: str
    permissions: tuple[str, ...]
    builtin: bool

    def to_json(self) -> RoleJson:
        return RoleJson(
            name=self.name,
            description=self.description,
            permissions=list(self.permissions),
            builtin=self.builtin,
        )


class ClientRefJson(TypedDict):
    id: str
    name: str


class OperatorJson(TypedDict):
    id: str
    name: str
    role: str
    disabled: bool
    created_at: Timestamp
    last_login_at: Timestamp | None
    clients: list[ClientRefJson] | None
    """The clients the operator may reach; null: every client."""
    client_access: str
    """``all``, ``all (admin)`` (their role has admin, which reaches every client) or
    ``listed`` (only ``clients``)."""
    mfa: str
    """Their second factor: ``on``, ``pending`` (set up, not yet confirmed) or ``off``."""


@dataclass(frozen=True)
class Operator:
    id: str
    name: str
    role: str
    created_at: dt.datetime
    disabled_at: dt.datetime | None = None
    last_login_at: dt.datetime | None = None
    mfa: str = "off"  # on | pending | off (credsync.vault.mfa)
    clients: tuple[tuple[str, str], ...] | None = None
    """(id, name) of the clients the operator may reach; None: every client."""
    admin: bool = False
    """Whether their role has admin (and so reaches every client, whatever is listed)."""

    @property
    def client_access(self) -> str:
        if self.admin:
            return "all (admin)"
        return "all" if self.clients is None else "listed"

    def to_json(self) -> OperatorJson:
        return OperatorJson(
            id=self.id,
            name=self.name,
            role=self.role,
            disabled=self.disabled_at is not None,
            created_at=iso(self.created_at),
            last_login_at=iso(self.last_login_at),
            clients=None
            if self.clients is None or self.admin
            else [ClientRefJson(id=i, name=n) for i, n in self.clients],
            client_access=self.client_access,
            mfa=self.mfa,
        )


class PasswordChangeJson(TypedDict):
    operator: str
    sessions_ended: int
    """The operator's web and CLI sessions that the change ended (all of them)."""
    tokens_revoked: int
    """The operator's API tokens revoked with it (only when asked)."""
    tokens_left: int
    """The operator's API tokens that still work."""


@dataclass(frozen=True)
class PasswordChange:
    """What changing an operator's password did besides: every session of theirs ended, and
    their API tokens revoked when asked (``tokens_left``: those that still work)."""

    operator: str
    sessions_ended: int
    tokens_revoked: int
    tokens_left: int

    def to_json(self) -> PasswordChangeJson:
        return PasswordChangeJson(
            operator=self.operator,
            sessions_ended=self.sessions_ended,
            tokens_revoked=self.tokens_revoked,
            tokens_left=self.tokens_left,
        )


class ApiTokenJson(TypedDict):
    id: str
    operator: str
    name: str
    created_at: Timestamp
    expires_at: Timestamp | None
    last_used_at: Timestamp | None
    revoked: bool


class NewApiTokenJson(ApiTokenJson):
    """The token itself is shown this once, never again."""

    token: str


@dataclass(frozen=True)
class ApiToken:
    id: str
    operator: str
    name: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None

    def to_json(self) -> ApiTokenJson:
        return ApiTokenJson(
            id=self.id,
            operator=self.operator,
            name=self.name,
            created_at=iso(self.created_at),
            expires_at=iso(self.expires_at),
            last_used_at=iso(self.last_used_at),
            revoked=self.revoked_at is not None,
        )

    def to_json_with(self, token: Secret) -> NewApiTokenJson:
        """A token just made, with its value (the only time it is shown)."""
        return NewApiTokenJson(**self.to_json(), token=token.reveal())


class TokensRevokedJson(TypedDict):
    operator: str
    revoked: int
    """How many of the operator's API tokens were revoked (those that still worked)."""


@dataclass(frozen=True)
class TokensRevoked:
    operator: str
    revoked: int

    def to_json(self) -> TokensRevokedJson:
        return TokensRevokedJson(operator=self.operator, revoked=self.revoked)
