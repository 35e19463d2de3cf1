"""A target directory's provisioning settings on SQLite and PostgreSQL: defaults, a change
(audited, versioned: a stale version is a Conflict), and removed with the directory."""

from __future__ import annotations

import pytest

from credsync.errors import Conflict, InvalidInput

from .entra import EntraWorld


def test_settings_default_change_conflict_and_go_with_the_directory(ew_both: EntraWorld) -> None:
    ew = ew_both
    service = ew.vault.provisioning
    _directory, fresh = service.settings(ew.admin, ew.directory)
    assert (fresh.username_template, fresh.passwords, fresh.version) == ("{username}", "vault", 0)
    _directory, saved = service.update(
        ew.admin, ew.directory,
        {"username_template": " {given}.{surname} ", "upn_suffix": "@Contoso.TEST",
         "licence": "ENTERPRISEPACK", "usage_location": "se", "passwords": "onboarding"},
    )  # fmt: skip
    assert saved.to_json("x") | {"updated_at": None} == {
        "directory": "x", "username_template": "{given}.{surname}",
        "upn_suffix": "contoso.test", "licence": "ENTERPRISEPACK", "usage_location": "SE",
        "passwords": "onboarding", "version": 1, "updated_at": None,
    }  # fmt: skip
    assert service.settings(ew.admin, ew.directory)[1] == saved
    entry = ew.vault.audit.list(ew.admin, limit=1)[0]
    assert entry.action == "directory.provisioning"
    with pytest.raises(Conflict):
        service.update(ew.admin, ew.directory, {"licence": ""}, expected_version=0)
    with pytest.raises(InvalidInput) as refused:
        service.update(ew.admin, ew.directory, {"nickname": "x"})
    assert refused.value.field == "settings"
    _directory, again = service.update(ew.admin, ew.directory, {"licence": ""}, expected_version=1)
    assert (again.licence, again.version, again.passwords) == ("", 2, "onboarding")
    ew.vault.directories.remove(ew.admin, ew.directory)
    ew.vault.clients.get(ew.admin, ew.client)  # the client stays
