"""A workgroup machine's local accounts (``MACHINE\\user``) over SMB and SAMR: see
:mod:`.connector`, and :mod:`.kind` for the kind's settings (imported without impacket)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from credsync.connectors.local_accounts.connector import LocalAccountsConnector

__all__ = ["LocalAccountsConnector"]


def __getattr__(name: str) -> Any:
    # impacket loads only when the connector itself is wanted, not for the kind's settings.
    if name == "LocalAccountsConnector":
        from credsync.connectors.local_accounts.connector import LocalAccountsConnector

        return LocalAccountsConnector
    raise AttributeError(name)
