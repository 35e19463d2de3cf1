"""The Microsoft Graph connector (Entra ID / Azure AD / Office 365): see :mod:`.connector`, and
:mod:`.kind` for the kind's settings (imported without msal or httpx)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from credsync.connectors.graph.connector import GraphConnector

__all__ = ["GraphConnector"]


def __getattr__(name: str) -> Any:
    # msal and httpx load only when the connector itself is wanted.
    if name == "GraphConnector":
        from credsync.connectors.graph.connector import GraphConnector

        return GraphConnector
    raise AttributeError(name)
