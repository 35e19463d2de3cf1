"""The Microsoft Graph connector (Entra ID / Azure AD / Office 365): see :mod:`.connector`."""

from credsync.connectors.graph.connector import GraphConnector

__all__ = ["GraphConnector"]
