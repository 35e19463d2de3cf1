"""Active Directory and Samba AD over LDAPS / StartTLS (ldap3): see :mod:`.connector`."""

from credsync.connectors.ad.connector import ActiveDirectoryConnector

__all__ = ["ActiveDirectoryConnector"]
