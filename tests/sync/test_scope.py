"""Which credentials a run plans in a client with several directories (credsync.sync.scope):
each kind's ``claims`` answer, one behaviour-named test per rule of the module docstring."""

from __future__ import annotations

import datetime as dt

from credsync.sync.model import CredentialState, LinkState
from credsync.sync.scope import Scope
from credsync.types import SyncMode
from credsync.vault.directories import Directory

NOW = dt.datetime(2026, 12, 7, tzinfo=dt.UTC)


def _directory(name: str, kind: str, **settings: str) -> Directory:
    return Directory(
        id=f"id-{name}", client_id="c1", client_name="Contoso", name=name, kind=kind,
        settings=settings, bind_credential_id=None, bind_kind=None, ca_pem=None,
        insecure_skip_verify=False, options={}, cursor=None, full_pass_at=None,
        account_count=None, next_run_at=None, failures=0, version=1, created_at=NOW,
        updated_at=NOW,
    )  # fmt: skip


FS1 = _directory("fs1", "local_accounts", url="smb://fs1", machine="FILESRV1")
FS2 = _directory("fs2", "local_accounts", url="smb://fs2", machine="FILESRV2")
AD = _directory("ad", "active_directory", url="ldaps://dc1", base_dn="DC=contoso,DC=local")
LDAP = _directory("ldap", "ldap", url="ldaps://ldap1", base_dn="dc=example,dc=org")


def _cred(cid: str, username: str) -> CredentialState:
    return CredentialState(cid, cid, username, SyncMode.REPORT, 1)


CREDS = [
    _cred("fs1-admin", "FILESRV1\\Administrator"),
    _cred("fs1-lower", "filesrv1\\kiosk"),
    _cred("fs1-typo", "FILESRV1\\nosuch"),
    _cred("fs2-admin", "FILESRV2\\Administrator"),
    _cred("domain", "CONTOSO\\jdoe"),
    _cred("upn", "jdoe@contoso.com"),
    _cred("plain", "Administrator"),
    _cred("dot", ".\\Administrator"),
]


def _planned(directory: Directory, others: list[Directory], links: dict | None = None) -> set[str]:
    return {c.id for c in Scope(directory, others).planned(CREDS, links or {})}


def test_a_machine_plans_its_own_names_and_those_naming_no_machine() -> None:
    assert _planned(FS1, [FS2]) == {"fs1-admin", "fs1-lower", "fs1-typo", "plain", "dot"}


def test_a_name_of_another_machine_is_not_planned_there() -> None:
    assert "fs1-admin" not in _planned(FS2, [FS1])
    assert "fs2-admin" in _planned(FS2, [FS1])


def test_a_domain_name_or_a_upn_is_no_machine_s_business() -> None:
    planned = _planned(FS1, [FS2, AD])
    assert "domain" not in planned
    assert "upn" not in planned  # "@" is not allowed in a Windows account name


def test_a_linked_credential_is_planned_whatever_its_name_says() -> None:
    links = {"fs2-admin": LinkState("S-1-5-21-1-2-3-500")}
    assert "fs2-admin" in _planned(FS1, [FS2], links)


def test_a_kind_without_an_opinion_plans_every_credential_when_alone() -> None:
    every = {c.id for c in CREDS}
    assert _planned(AD, []) == every
    assert _planned(LDAP, [AD]) == every


def test_a_kind_without_an_opinion_leaves_a_machine_s_names_to_that_machine() -> None:
    planned = _planned(AD, [FS1, LDAP])
    assert planned == {c.id for c in CREDS} - {"fs1-admin", "fs1-lower", "fs1-typo"}
    # FILESRV2 is not a directory of this client: its name stays the AD's to flag
    assert "fs2-admin" in planned
