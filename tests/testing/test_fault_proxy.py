"""The fault proxy of the tests and benchmarks (credsync.testing.fault_proxy) closes quietly."""

from __future__ import annotations

import logging
import socket

import pytest

from credsync.testing.fault_proxy import FaultProxy


def test_closing_with_a_connection_open_logs_no_error(caplog: pytest.LogCaptureFixture) -> None:
    """Its close cancels every connection's handler; Python 3.11's start_server reported each
    cancelled handler as an "Exception in callback" (a CancelledError traceback at every end of
    a benchmark with a live connection)."""
    with socket.create_server(("127.0.0.1", 0)) as upstream:
        proxy = FaultProxy(("127.0.0.1", upstream.getsockname()[1]))
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as client:
            there, _ = upstream.accept()
            with there:
                client.sendall(b"ping")
                there.settimeout(5)
                assert there.recv(4) == b"ping"
                with caplog.at_level(logging.ERROR, logger="asyncio"):
                    proxy.close()
    assert [r.getMessage() for r in caplog.records if r.name == "asyncio"] == []
