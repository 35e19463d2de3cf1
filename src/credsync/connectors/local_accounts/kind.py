"""The local-accounts kind: a workgroup machine's own accounts (``MACHINE\\user``) over SMB
and SAMR: its settings, how it binds, its connector.

Light on purpose (no impacket): the registry imports it to build the command line, the API's
fields and the dashboard's form. The bind identity is the directory_admin credential: a local
administrator of the machine (``user``, ``.\\user`` or ``MACHINE\\user``).
"""

from __future__ import annotations

from dataclasses import dataclass

from credsync.connectors import values
from credsync.connectors.base import Connector, DirectoryConfig
from credsync.connectors.kinds import BindMethod, BoundCredential, Kind, Setting

__all__ = ["KIND", "LocalAccountsSettings"]


@dataclass(frozen=True)
class LocalAccountsSettings:
    url: str
    machine: str


def _config(settings: LocalAccountsSettings, name: str, bind: BoundCredential) -> DirectoryConfig:
    return DirectoryConfig(
        kind=KIND.name,
        name=name,
        url=settings.url,
        bind_username=bind.username,
        bind_password=bind.secret,
        options={"machine": settings.machine},
    )


def _claims(settings: LocalAccountsSettings, username: str) -> bool | None:
    """``MACHINE\\user`` is this machine's business when MACHINE is its name, and not when
    it names another (a machine's accounts are only ever its own); nor is ``user@domain`` (a
    UPN: "@" is not allowed in a Windows account name); ``user`` and ``.\\user`` name no
    machine: no opinion."""
    named, sep, name = username.strip().rpartition("\\")
    if "@" in name:
        return False
    if not sep or named in ("", "."):
        return None
    return named.casefold() == settings.machine.casefold()


def _open(config: DirectoryConfig) -> Connector:
    from credsync.connectors.local_accounts.connector import LocalAccountsConnector

    return LocalAccountsConnector(config)


KIND: Kind[LocalAccountsSettings] = Kind(
    name="local_accounts",
    aliases=("local-accounts",),
    display_name="Local accounts",
    description="A workgroup machine's own accounts (MACHINE\\user) over SMB and SAMR",
    model=LocalAccountsSettings,
    settings=(
        Setting(
            "url",
            "URL",
            "smb://HOST[:PORT] (TCP 445 by default; SMB signed, NTLM).",
            required=True,
            clean=values.smb_url(),
            placeholder="smb://filesrv1.contoso.local",
        ),
        Setting(
            "machine",
            "machine",
            "The machine's NetBIOS name (its accounts are MACHINE\\user), e.g. FILESRV1.",
            required=True,
            clean=values.netbios_name("machine"),
            placeholder="FILESRV1",
            rescan=True,
        ),
    ),
    binds=(
        BindMethod(
            None,
            "bind_credential",
            "the machine's administrator",
            "Id of the directory_admin credential of a local administrator of the machine "
            "(the built-in Administrator, or any local admin with "
            "LocalAccountTokenFilterPolicy=1).",
        ),
    ),
    config=_config,
    open=_open,
    scope=lambda s: s.machine,
    claims=_claims,
)
