"""The JSON bodies operators, roles and API tokens are sent in; the API answers with their
records' shapes (``OperatorJson``, ``RoleJson``, ``ApiTokenJson``, ``NewApiTokenJson`` in
:mod:`credsync.vault.models`), as the CLI's ``--json`` prints them."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from credsync.api.fields import Checked
from credsync.types import Secret
from credsync.vault.operators import check_operator_password
from credsync.vault.validate import clean_name, clean_text

__all__ = [
    "OperatorClientsIn",
    "OperatorIn",
    "OperatorPasswordIn",
    "OperatorPatch",
    "RoleIn",
    "RolePatch",
    "TokenIn",
    "TokensRevokeIn",
]

OperatorPassword = Annotated[
    str,
    Checked("operator password", lambda v: check_operator_password(Secret(v)), 1024, 1),
    Field(description="At least 12 characters."),
]
OperatorName = Annotated[
    str, Checked("operator name", lambda v: clean_name(v, "operator name", 64), 64, 1)
]
RoleName = Annotated[str, Checked("role name", lambda v: clean_name(v, "role name", 64), 64, 1)]
TokenName = Annotated[
    str, Checked("token name", lambda v: clean_name(v, "token name", 100), 100, 1)
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


ClientRefs = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=200)]],
    Field(max_length=1000, description="Clients by name or id."),
]


class OperatorIn(_In):
    """``clients``: only these clients (names or ids); left out or null, every client."""

    name: OperatorName
    role: str = Field(min_length=1, max_length=64)
    password: OperatorPassword
    clients: ClientRefs | None = None


class OperatorClientsIn(_In):
    """Every client (``{"all_clients": true}``) or only these (``{"clients": [...]}``, names
    or ids): one of the two."""

    all_clients: bool | None = None
    clients: ClientRefs | None = None


class OperatorPatch(_In):
    """Only the fields given change: another role, or disabled (sign-in, tokens and
    sessions stop at once) or enabled."""

    role: str | None = Field(default=None, min_length=1, max_length=64)
    disabled: bool | None = None


class OperatorPasswordIn(_In):
    """``current_password``: needed to change one's own password."""

    password: OperatorPassword
    current_password: str | None = Field(default=None, min_length=1, max_length=1024)
    revoke_tokens: bool = Field(default=False, description="Revoke the operator's API tokens too.")


PERMISSIONS_HELP = (
    "vault.read, vault.write, secret.reveal, vault.export, directory.setup, "
    "directory_admin.use, audit.read, admin"
)
Permissions = list[Annotated[str, Field(min_length=1, max_length=64)]]
RoleDescription = Annotated[
    str, Checked("role description", lambda v: clean_text(v, "role description", 500), 500)
]


class RoleIn(_In):
    name: RoleName
    permissions: Permissions = Field(min_length=1, max_length=20, description=PERMISSIONS_HELP)
    description: RoleDescription = ""


class RolePatch(_In):
    """Only the fields given change; ``permissions`` replaces the role's."""

    permissions: Permissions | None = Field(
        default=None, min_length=1, max_length=20, description=PERMISSIONS_HELP
    )
    description: RoleDescription | None = None


class TokenIn(_In):
    name: TokenName
    operator: str | None = Field(
        default=None, min_length=1, max_length=64, description="For another operator (admin)."
    )
    expires_days: int | None = Field(default=None, ge=1, le=3650, description="Lifetime.")


class TokensRevokeIn(_In):
    operator: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="Another operator's tokens (admin); yours when absent.",
    )
