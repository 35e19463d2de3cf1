"""The Entra ID kind (Azure AD, Office 365) over Microsoft Graph: its settings, how it signs
in, its connector.

Light on purpose (no msal, no httpx): the registry imports it to build the command line, the
API's fields and the dashboard's form. The whole tenant's users are in scope: there is no base
DN. The app signs in with its certificate (preferred) or a client secret, held by a
directory_admin credential; the directory's settings name the tenant and the app.
"""

from __future__ import annotations

from dataclasses import dataclass

from credsync.connectors import values
from credsync.connectors.base import Connector, DirectoryConfig
from credsync.connectors.graph._policy import password_refusal
from credsync.connectors.kinds import BindMethod, BoundCredential, Kind, OptionSpec, Setting

__all__ = ["DEFAULT_AUTHORITY", "DEFAULT_GRAPH_URL", "KIND", "EntraSettings"]

DEFAULT_GRAPH_URL = "https://graph.microsoft.com"
DEFAULT_AUTHORITY = "https://login.microsoftonline.com"


@dataclass(frozen=True)
class EntraSettings:
    tenant_id: str
    app_id: str
    url: str = DEFAULT_GRAPH_URL
    authority: str = DEFAULT_AUTHORITY


def _config(settings: EntraSettings, name: str, bind: BoundCredential) -> DirectoryConfig:
    return DirectoryConfig(
        kind=KIND.name,
        name=name,
        url=settings.url,
        # The app signs in as itself: its client id; the credential holds its key or secret.
        bind_username=settings.app_id,
        bind_password=bind.secret,
        options={
            "tenant_id": settings.tenant_id,
            "authority": settings.authority,
            "credential": bind.method or "",
        },
    )


def _open(config: DirectoryConfig) -> Connector:
    from credsync.connectors.graph.connector import GraphConnector

    return GraphConnector(config)


KIND: Kind[EntraSettings] = Kind(
    name="entra",
    aliases=("entra-id", "entra_id", "azure-ad", "azure_ad"),
    display_name="Entra ID",
    description="Azure AD, Microsoft 365: Microsoft Graph",
    model=EntraSettings,
    settings=(
        Setting(
            "tenant_id",
            "tenant id",
            "The tenant's id (a GUID) or one of its domains, such as contoso.onmicrosoft.com.",
            required=True,
            clean=values.guid_or_domain(
                "tenant id",
                "the tenant's id (a GUID) or one of its domain names (contoso.onmicrosoft.com)",
            ),
            rescan=True,
            title="Tenant",
        ),
        Setting(
            "app_id",
            "application (client) id",
            "The application (client) id of the app registration credsync signs in as.",
            required=True,
            clean=values.guid(
                "client id",
                "the application (client) id of the app registration: a GUID such as "
                "00000000-0000-0000-0000-000000000000",
            ),
            flag="--client-id",
            title="Client (app) id",
            placeholder="00000000-0000-0000-0000-000000000000",
        ),
        Setting(
            "url",
            "Graph URL",
            "The Microsoft Graph endpoint: only for a national cloud (default "
            f"{DEFAULT_GRAPH_URL}).",
            default=DEFAULT_GRAPH_URL,
            title="URL",
            clean=values.https_url("directory url", strip_path=("/v1.0",)),
        ),
        Setting(
            "authority",
            "authority URL",
            f"The identity platform: only for a national cloud (default {DEFAULT_AUTHORITY}).",
            default=DEFAULT_AUTHORITY,
            title="Authority",
            clean=values.https_url("authority"),
        ),
    ),
    binds=(
        BindMethod(
            "certificate",
            "certificate_credential",
            "the app's certificate, preferred",
            "Id of the directory_admin credential holding the app's certificate and private "
            "key (PEM).",
        ),
        BindMethod(
            "secret",
            "secret_credential",
            "the app's client secret",
            "Id of the directory_admin credential holding the app's client secret.",
        ),
    ),
    options=(
        OptionSpec(
            "never_expires",
            0,
            0,
            1,
            "1: pushes set passwordPolicies DisablePasswordExpiration.",
        ),
    ),
    bind_heading="App credential",
    verifies_passwords=False,
    relay_target=True,
    people_source=True,
    deleted_objects=True,
    people_query_hint=(
        'words; Graph\'s $search text such as "displayName:ada"; or filter: and an OData '
        "filter such as filter:department eq 'Sales'; empty: everything"
    ),
    group_export=True,
    people_target=True,
    password_refusal=password_refusal,
    scope=lambda s: f"tenant {s.tenant_id}",
    config=_config,
    open=_open,
)
