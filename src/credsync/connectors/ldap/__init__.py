"""Plain LDAP (OpenLDAP, 389-DS...) over LDAPS / StartTLS: see :mod:`.connector`, and
:mod:`.kind` for the kind's settings (imported without ldap3)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from credsync.connectors.ldap.connector import LdapConnector

__all__ = ["LdapConnector"]


def __getattr__(name: str) -> Any:
    # ldap3 loads only when the connector itself is wanted, not for the kind's settings.
    if name == "LdapConnector":
        from credsync.connectors.ldap.connector import LdapConnector

        return LdapConnector
    raise AttributeError(name)
