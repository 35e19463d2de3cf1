"""Plain LDAP (OpenLDAP, 389-DS...) over LDAPS / StartTLS (ldap3): see :mod:`.connector`."""

from credsync.connectors.ldap.connector import LdapConnector

__all__ = ["LdapConnector"]
