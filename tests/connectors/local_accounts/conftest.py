"""The local-accounts tests' connector on the session's Samba standalone machine."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from credsync.connectors.local_accounts import LocalAccountsConnector
from credsync.testing.conformance import run
from credsync.testing.samba_standalone import LocalMachine


@pytest.fixture
def conn(local_machine: LocalMachine) -> Iterator[LocalAccountsConnector]:
    connector = LocalAccountsConnector(local_machine.config())
    try:
        yield connector
    finally:
        run(connector.close())
