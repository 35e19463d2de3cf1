"""The plain LDAP kind (OpenLDAP, 389-DS...): its settings, how it binds, its connector.

Light on purpose (no ldap3): the registry imports it to build the command line, the API's
fields and the dashboard's form. The bind identity is the directory_admin credential's
username, a DN (or ``bind_dn`` when the credential's username is something else).
"""

from __future__ import annotations

from dataclasses import dataclass

from credsync.connectors import values
from credsync.connectors.base import Connector, DirectoryConfig
from credsync.connectors.kinds import BindMethod, BoundCredential, Kind, Setting
from credsync.connectors.ldap._options import DEFAULTS

__all__ = ["KIND", "LdapSettings"]


@dataclass(frozen=True)
class LdapSettings:
    url: str
    base_dn: str
    user_filter: str = DEFAULTS["user_filter"]
    naming_attribute: str = DEFAULTS["naming_attribute"]
    bind_dn: str | None = None
    password_policy_dn: str | None = None
    tls_server_name: str | None = None


def _config(settings: LdapSettings, name: str, bind: BoundCredential) -> DirectoryConfig:
    options = {
        "user_filter": settings.user_filter,
        "naming_attribute": settings.naming_attribute,
    }
    if settings.password_policy_dn:
        options["password_policy_dn"] = settings.password_policy_dn
    return DirectoryConfig(
        kind=KIND.name,
        name=name,
        url=settings.url,
        bind_username=settings.bind_dn or bind.username,
        bind_password=bind.secret,
        base_dn=settings.base_dn,
        tls_server_name=settings.tls_server_name,
        options=options,
    )


def _open(config: DirectoryConfig) -> Connector:
    from credsync.connectors.ldap.connector import LdapConnector

    return LdapConnector(config)


KIND: Kind[LdapSettings] = Kind(
    name="ldap",
    aliases=("openldap", "389-ds"),
    display_name="LDAP",
    description="OpenLDAP, 389-DS and other LDAPv3 servers, over LDAPS or StartTLS",
    model=LdapSettings,
    settings=(
        Setting(
            "url",
            "URL",
            "ldaps://HOST[:PORT], or ldap://HOST[:PORT] which always uses StartTLS.",
            required=True,
            clean=values.ldap_url(),
            placeholder="ldaps://ldap.contoso.com",
        ),
        Setting(
            "base_dn",
            "base DN",
            "Where the accounts are, e.g. ou=people,dc=contoso,dc=com.",
            required=True,
            clean=values.dn(),
            placeholder="ou=people,dc=contoso,dc=com",
            rescan=True,
        ),
        Setting(
            "user_filter",
            "user filter",
            f"Which entries are accounts (default {DEFAULTS['user_filter']}).",
            default=DEFAULTS["user_filter"],
            clean=values.ldap_filter(),
            rescan=True,
        ),
        Setting(
            "naming_attribute",
            "naming attribute",
            f"The attribute that is the username (default {DEFAULTS['naming_attribute']}).",
            default=DEFAULTS["naming_attribute"],
            clean=values.attribute_name("naming attribute"),
        ),
        Setting(
            "bind_dn",
            "bind DN",
            "The DN to bind as, when the credential's username is not that DN.",
            clean=values.dn("bind DN"),
            placeholder="cn=credsync,ou=services,dc=contoso,dc=com",
        ),
        Setting(
            "password_policy_dn",
            "password policy DN",
            "The server's default password policy entry (OpenLDAP's olcPPolicyDefault), for "
            "expiry and lockout times.",
            clean=values.dn("password policy DN"),
            placeholder="cn=default,ou=policies,dc=contoso,dc=com",
        ),
        Setting(
            "tls_server_name",
            "TLS server name",
            "The name the server's certificate carries, when the URL uses an IP address.",
            clean=values.text("TLS server name", 255),
            placeholder="ldap.contoso.com",
        ),
    ),
    binds=(
        BindMethod(
            None,
            "bind_credential",
            "the bind identity",
            "Id of the directory_admin credential to bind as (its username is the bind DN, "
            "and its password).",
        ),
    ),
    config=_config,
    open=_open,
)
