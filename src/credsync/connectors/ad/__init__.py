"""Active Directory and Samba AD over LDAPS / StartTLS (ldap3): see :mod:`.connector`, and
:mod:`.kind` for the kind's settings (imported without ldap3)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from credsync.connectors.ad.connector import ActiveDirectoryConnector

__all__ = ["ActiveDirectoryConnector"]


def __getattr__(name: str) -> Any:
    # ldap3 loads only when the connector itself is wanted, not for the kind's settings.
    if name == "ActiveDirectoryConnector":
        from credsync.connectors.ad.connector import ActiveDirectoryConnector

        return ActiveDirectoryConnector
    raise AttributeError(name)
