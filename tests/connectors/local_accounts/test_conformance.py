"""The connector conformance suite against a real Samba standalone server (accounts of each
test's own on the session's machine)."""

from __future__ import annotations

import pytest

from credsync.testing.conformance import ConnectorConformance
from credsync.testing.samba_standalone import LocalMachine

from .world import LocalWorld


class TestLocalAccountsConformance(ConnectorConformance):
    @pytest.fixture
    def conn_world(self, local_machine: LocalMachine) -> LocalWorld:
        return LocalWorld(local_machine)

    def test_wrong_ca(self) -> None:  # type: ignore[override]
        pytest.skip("SMB has no TLS: the session is signed (the smb step reports signing)")

    def test_policy_rejection_is_verbatim(self) -> None:  # type: ignore[override]
        pytest.skip(
            "Samba's standalone server checks no rule on an administrator's SAMR reset "
            "(source3 set_user_info_pw); Windows' STATUS_PASSWORD_RESTRICTION is mapped by "
            "test_local_accounts.py::test_refusal_is_policy_rejected_verbatim"
        )
