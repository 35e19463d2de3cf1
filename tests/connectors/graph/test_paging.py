"""Paging against the simulator: the next page is on its way before a page is handed over
(issue 19: a caller that works on a page without waiting, as a streamed full read does, had
asked for the next one only when done with it)."""

from __future__ import annotations

import httpx

from credsync.connectors.graph import GraphConnector
from credsync.connectors.graph._client import ssl_context
from credsync.testing.conformance import run

from .world import GraphWorld


class _Recording(httpx.AsyncHTTPTransport):
    """httpx's own network transport, noting the path of each request as it goes out."""

    def __init__(self, verify: object, sent: list[str]) -> None:
        super().__init__(verify=verify)  # type: ignore[arg-type]
        self.sent = sent

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request.url.path)
        return await super().handle_async_request(request)


async def _requests_out_at_each_page(connector: GraphConnector, sent: list[str]) -> list[int]:
    """How many requests had gone out when each page of /users (one user a page) came."""
    out: list[int] = []
    pages = connector._client.pages("/users", where="list users", params={"$top": "1"})
    try:
        async for status, body, _ in pages:
            assert status == 200, body
            assert len(body["value"]) == 1
            out.append(len(sent))
    finally:
        await pages.aclose()
        await connector.close()
    return out


def test_the_next_page_is_asked_for_before_a_page_is_handed_over(gw: GraphWorld) -> None:
    for _ in range(3):
        gw.create_user()
    config = gw.config()
    sent: list[str] = []
    connector = GraphConnector(config, transport=_Recording(ssl_context(config), sent))
    handed = run(_requests_out_at_each_page(connector, sent))
    # Page 1 comes with page 2's request out already, page 2 with page 3's; the last page has
    # no next one. Before: [1, 2, 3] (each next page asked for once the caller came back).
    assert handed == [2, 3, 3]
    assert sent == ["/v1.0/users"] * 3
