"""The Active Directory kind (Samba AD too): its settings, how it binds, its connector.

Light on purpose (no ldap3): the registry imports it to build the command line, the API's
fields and the dashboard's form.
"""

from __future__ import annotations

from dataclasses import dataclass

from credsync.connectors import values
from credsync.connectors.ad._policy import password_refusal_for
from credsync.connectors.base import Connector, DirectoryConfig
from credsync.connectors.kinds import BindMethod, BoundCredential, Kind, Setting

__all__ = ["KIND", "AdSettings"]


@dataclass(frozen=True)
class AdSettings:
    url: str
    base_dn: str
    tls_server_name: str | None = None


def _config(settings: AdSettings, name: str, bind: BoundCredential) -> DirectoryConfig:
    return DirectoryConfig(
        kind=KIND.name,
        name=name,
        url=settings.url,
        bind_username=bind.username,
        bind_password=bind.secret,
        base_dn=settings.base_dn,
        tls_server_name=settings.tls_server_name,
    )


def _open(config: DirectoryConfig) -> Connector:
    from credsync.connectors.ad.connector import ActiveDirectoryConnector

    return ActiveDirectoryConnector(config)


KIND: Kind[AdSettings] = Kind(
    name="active_directory",
    aliases=("active-directory", "ad"),
    display_name="Active Directory",
    description="on-premises domain controllers (Samba AD too), over LDAPS or StartTLS",
    model=AdSettings,
    settings=(
        Setting(
            "url",
            "URL",
            "ldaps://HOST[:PORT], or ldap://HOST[:PORT] which always uses StartTLS.",
            required=True,
            clean=values.ldap_url(),
            placeholder="ldaps://dc1.contoso.com",
        ),
        Setting(
            "base_dn",
            "base DN",
            "Where the accounts are, e.g. OU=Staff,DC=contoso,DC=com.",
            required=True,
            clean=values.dn(),
            placeholder="OU=Staff,DC=contoso,DC=com",
            rescan=True,
        ),
        Setting(
            "tls_server_name",
            "TLS server name",
            "The name the DC's certificate carries, when the URL uses an IP address.",
            clean=values.text("TLS server name", 255),
            placeholder="dc1.contoso.com",
        ),
    ),
    binds=(
        BindMethod(
            None,
            "bind_credential",
            "the bind account",
            "Id of the directory_admin credential to bind as (its username and password).",
        ),
    ),
    config=_config,
    open=_open,
    scoped_accounts=True,
    relay_source=True,
    deleted_objects=True,
    people_source=True,
    account_password_refusal=password_refusal_for,
    people_query_hint=(
        "words (each starts the name, sign-in name or e-mail); or an LDAP filter such as "
        "(department=Sales); empty: everything"
    ),
)
