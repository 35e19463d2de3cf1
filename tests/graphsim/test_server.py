"""The HTTPS server itself: an answer is not held back by TCP's delayed ACK.

Without TCP_NODELAY each answer (headers, then body: two writes) waited for the client's
delayed ACK, ~40 ms a request. asyncio turns Nagle's algorithm off on each connection it
accepts only when the socket says it is TCP (``proto == IPPROTO_TCP``; one made with proto 0
does not), so the simulator's listening socket names it. No timing is asserted here."""

from __future__ import annotations

import asyncio
import socket

from credsync.testing.graphsim import GraphSimulator


def _nodelay_as_asyncio_sets_it(proto: int) -> int:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, proto)
    try:
        asyncio.base_events._set_nodelay(sock)  # type: ignore[attr-defined]
        return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    finally:
        sock.close()


def test_connections_are_accepted_with_nagle_off(sim: GraphSimulator) -> None:
    assert sim._sock.proto == socket.IPPROTO_TCP
    # what asyncio does with each connection accepted from such a socket, and why it matters
    assert _nodelay_as_asyncio_sets_it(socket.IPPROTO_TCP) == 1
    assert _nodelay_as_asyncio_sets_it(0) == 0
