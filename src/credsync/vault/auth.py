"""Permissions, built-in roles, and the :class:`Actor` every service call runs as."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from credsync.errors import PermissionDenied

__all__ = ["BUILTIN_ROLES", "SYSTEM", "Actor", "Permission"]


class Permission(enum.StrEnum):
    VAULT_READ = "vault.read"  # see clients, folders, credential metadata
    VAULT_WRITE = "vault.write"  # create and change them, set passwords, import
    SECRET_REVEAL = "secret.reveal"  # noqa: S105 - a permission name; see passwords, notes and secret history
    VAULT_EXPORT = "vault.export"  # export secrets to a file
    DIRECTORY_SETUP = "directory.setup"  # add and change directory connections
    DIRECTORY_ADMIN_USE = "directory_admin.use"  # see and use directory_admin credentials
    AUDIT_READ = "audit.read"  # read the audit log
    ADMIN = "admin"  # everything, including operators, roles and key rotation


ALL_PERMISSIONS = tuple(p.value for p in Permission)

BUILTIN_ROLES: dict[str, tuple[str, tuple[Permission, ...]]] = {
    "admin": ("Everything, including operators, roles and key rotation", (Permission.ADMIN,)),
    "technician": (
        "Day-to-day vault work: read, write and reveal",
        (Permission.VAULT_READ, Permission.VAULT_WRITE, Permission.SECRET_REVEAL),
    ),
    "directory_manager": (
        "Technician plus directory connections and their admin credentials",
        (
            Permission.VAULT_READ,
            Permission.VAULT_WRITE,
            Permission.SECRET_REVEAL,
            Permission.DIRECTORY_SETUP,
            Permission.DIRECTORY_ADMIN_USE,
        ),
    ),
    "auditor": (
        "Read metadata and the audit log; no secrets",
        (Permission.VAULT_READ, Permission.AUDIT_READ),
    ),
    "viewer": ("Read metadata only; no secrets", (Permission.VAULT_READ,)),
}


@dataclass(frozen=True)
class Actor:
    """Who is acting: an authenticated operator, or the system itself during ``init``.

    Roles say what (``permissions``); client access says where (``clients``)."""

    operator_id: str | None
    name: str
    role: str
    permissions: frozenset[str]
    via: str  # password | token | session | system | microsoft (credsync.vault.operator_sign_in)
    # The ids of the clients the actor may reach; None: every client (per-client access).
    clients: frozenset[str] | None = None
    mfa: bool = False  # the sign-in (or session) passed the second factor (credsync.vault.mfa)

    def sees(self, client_id: str | None) -> bool:
        """Whether the client ``client_id`` is within the actor's client access (a client
        outside it answers as one that does not exist)."""
        return self.clients is None or client_id in self.clients

    @property
    def limited(self) -> bool:
        """Whether the actor reaches only some clients."""
        return self.clients is not None

    def can(self, permission: Permission) -> bool:
        return Permission.ADMIN in self.permissions or permission in self.permissions

    def require(self, *permissions: Permission) -> None:
        missing = [p.value for p in permissions if not self.can(p)]
        if missing:
            raise PermissionDenied(
                f"operator {self.name!r} (role {self.role}) lacks permission " + ", ".join(missing),
                operator=self.name,
                permissions=missing,
            )


SYSTEM = Actor(None, "system", "admin", frozenset({Permission.ADMIN.value}), "system")
