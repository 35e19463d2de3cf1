"""Request bodies have a limit (issue 13, finding 5): 1 MiB for JSON and forms, the sign-in
included, 32 MiB for a CSV import only. A larger body is refused with 413, by its
Content-Length before anything reads it, and without one as it is read, so the server never
holds more than the limit: over real HTTP against the app served by uvicorn (as ``credsync
serve`` serves it), with raw sockets that send far more than any limit and stop when the
answer comes."""

from __future__ import annotations

import asyncio
import json
import select
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn

from credsync.api.routes.transfer import MAX_IMPORT_BYTES
from credsync.api.routing import BODY_LIMIT
from credsync.server.app import create_app
from credsync.server.run import listen

from .conftest import ApiWorld, assert_error

V1 = "/api/v1"
MiB = 1 << 20
CHUNK = 64 * 1024
HUGE = 300 * MiB  # the size of the body of the report


class Served:
    """The app on 127.0.0.1 (a free port), served by uvicorn in a thread."""

    def __init__(self, api: ApiWorld) -> None:
        self._sockets = listen("127.0.0.1", 0)
        self.port = self._sockets[0].getsockname()[1]
        config = uvicorn.Config(
            create_app(api.state), lifespan="off", log_level="warning", log_config=None
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._server.serve(sockets=self._sockets)), daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.01)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=15)

    def send(self, head: str, body: Iterator[bytes]) -> tuple[bytes, int]:
        """Send a request's head, then its body chunk by chunk until the server answers (or
        the body ends); the answer as it came (up to the connection's end) and how many bytes
        of the body were sent."""
        sent = 0
        answer = b""
        with socket.create_connection(("127.0.0.1", self.port), timeout=30) as sock:
            sock.sendall(head.encode("latin-1"))
            for chunk in body:
                if select.select([sock], [], [], 0)[0]:
                    break  # the server answered before the body was all sent
                try:
                    sock.sendall(chunk)
                except OSError:  # it closed the connection: read what it said
                    break
                sent += len(chunk)
            try:
                while data := sock.recv(65536):
                    answer += data
            except ConnectionResetError:
                pass  # closed with part of the body unread: what came before is the answer
        return answer, sent


@pytest.fixture
def served(api: ApiWorld) -> Iterator[Served]:
    server = Served(api)
    try:
        yield server
    finally:
        server.stop()


def _head(path: str, *headers: str) -> str:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        + "".join(f"{line}\r\n" for line in headers)
        + "\r\n"
    )


def _zeros(total: int) -> Iterator[bytes]:
    for _ in range(total // CHUNK):
        yield b" " * CHUNK


def _chunked(total: int) -> Iterator[bytes]:
    """An honest chunked body of ``total`` bytes of JSON white space (and its end)."""
    for _ in range(total // CHUNK):
        yield f"{CHUNK:x}\r\n".encode() + b" " * CHUNK + b"\r\n"
    yield b"0\r\n\r\n"


def _status_and_json(answer: bytes) -> tuple[int, dict[str, str], dict]:
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return status, headers, json.loads(body) if body else {}


def _refused(answer: bytes, message: str = BODY_LIMIT.message) -> dict[str, str]:
    status, headers, body = _status_and_json(answer)
    assert status == 413, answer[:300]
    assert body == {"error": {"status": 413, "code": "too_large", "message": message}}
    assert headers["connection"] == "close"  # the rest of the body is not waited for
    return headers


def test_a_huge_sign_in_body_is_refused_by_its_length_before_it_is_read(served: Served) -> None:
    """The report's request: 300 MiB of JSON to the unauthenticated sign-in. Refused at its
    head: the client sent a few chunks, not the body."""
    head = _head(f"{V1}/auth/login", "Content-Type: application/json", f"Content-Length: {HUGE}")
    answer, sent = served.send(head, _zeros(HUGE))
    _refused(answer, "the request body is larger than 32 MiB, the most any request takes")
    assert sent < HUGE // 10


def test_a_body_over_its_route_limit_is_refused_by_its_length(served: Served) -> None:
    """2 MiB: under the import's limit, over the sign-in's: refused when the route would
    read it, before a byte of it is read."""
    head = _head(f"{V1}/auth/login", "Content-Type: application/json", f"Content-Length: {2 * MiB}")
    answer, sent = served.send(head, _zeros(HUGE))
    _refused(answer)
    assert sent < HUGE // 10


def test_a_chunked_body_is_counted_and_refused_past_the_limit(served: Served) -> None:
    """No Content-Length, nothing lied about: the body is just too big. The server stops
    reading at the limit and answers while the client is still sending."""
    head = _head(f"{V1}/auth/login", "Content-Type: application/json", "Transfer-Encoding: chunked")
    answer, sent = served.send(head, _chunked(HUGE))
    _refused(answer)
    assert sent < HUGE // 10


@pytest.mark.parametrize(
    "framing", ["Transfer-Encoding: chunked", f"Content-Length: {HUGE}"], ids=["chunked", "length"]
)
def test_a_form_post_to_the_dashboard_is_refused_with_a_page(served: Served, framing: str) -> None:
    head = _head("/sign-in", "Content-Type: application/x-www-form-urlencoded", framing)
    answer, sent = served.send(head, _chunked(HUGE) if "chunked" in framing else _zeros(HUGE))
    head_text, _, page = answer.partition(b"\r\n\r\n")
    assert head_text.startswith(b"HTTP/1.1 413"), answer[:300]
    assert b"content-type: text/html" in head_text.lower()
    assert b"content-security-policy" in head_text.lower()
    assert b"connection: close" in head_text.lower()
    assert b"<h1>Too large</h1>" in page
    assert sent < HUGE // 10


def test_a_csv_import_keeps_its_larger_limit(api: ApiWorld, served: Served) -> None:
    api.admin.post(f"{V1}/clients", json={"name": "Contoso"})
    # 2 MiB in rows of 512 bytes (a long password each): past the 1 MiB of other bodies in
    # 4,096 rows rather than 87,000 short ones, which took the import ten seconds
    rows = b"title,password\r\n" + b"".join(
        f"Row {n:04d},Imp-pw-{n:06d}-{'p' * 484}!\r\n".encode() for n in range(2 * MiB // 512)
    )
    assert len(rows) > 1.5 * MiB
    token = api.tokens["admin"]
    for framing in (f"Content-Length: {len(rows)}", "Transfer-Encoding: chunked"):
        head = _head(
            f"{V1}/clients/Contoso/import?dry_run=true",
            f"Authorization: Bearer {token}",
            "Content-Type: text/csv",
            framing,
            "Connection: close",
        )
        if framing.startswith("Content-Length"):
            body = iter([rows])
        else:
            body = iter([f"{len(rows):x}\r\n".encode() + rows + b"\r\n0\r\n\r\n"])
        status, _, report = _status_and_json(served.send(head, body)[0])
        assert status == 200, report
        assert report["imported"] == len(rows.splitlines()) - 1
    over = MAX_IMPORT_BYTES + CHUNK
    head = _head(
        f"{V1}/clients/Contoso/import",
        f"Authorization: Bearer {token}",
        "Content-Type: text/csv",
        "Transfer-Encoding: chunked",
    )
    answer, sent = served.send(head, _chunked(4 * over))
    _refused(answer, "the CSV is larger than 32 MiB: split it")
    assert sent < 2 * over


def test_the_app_never_reads_past_the_limit(api: ApiWorld) -> None:
    """In process, counting what the app pulls from the connection: the limit and one chunk
    at most, of a 16 MiB body."""
    app = create_app(api.state)
    pulled = 0
    sent: list[dict] = []

    async def receive() -> dict:
        nonlocal pulled
        pulled += CHUNK
        return {"type": "http.request", "body": b" " * CHUNK, "more_body": pulled < 16 * MiB}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": f"{V1}/auth/login",
        "raw_path": f"{V1}/auth/login".encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"host", b"test")],
        "client": ("127.0.0.1", 1234),
        "server": ("127.0.0.1", 80),
    }
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 413
    assert pulled <= BODY_LIMIT.size + CHUNK


def test_small_bodies_and_the_api_error_shape_are_unchanged(api: ApiWorld) -> None:
    """The limit is the API's shape through the in-process client too, and bodies under
    it work as before."""
    refused = api.http.post(
        f"{V1}/auth/login",
        content=b'{"name": "' + b"x" * (BODY_LIMIT.size + 1) + b'"}',
        headers={"Content-Type": "application/json"},
    )
    assert assert_error(refused, 413, "too_large")["message"] == BODY_LIMIT.message
    assert api.admin.post(f"{V1}/clients", json={"name": "N" * 200}).status_code == 201
