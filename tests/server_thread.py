"""The real app served by uvicorn on 127.0.0.1 in a thread of the test's process (HTTP, or HTTPS
with a test certificate): started, stopped and started again on the same port, as a server that
goes down and comes back."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from pathlib import Path

import uvicorn
from fastapi import FastAPI


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerThread:
    """``app`` on 127.0.0.1:``port`` (a free one by default); HTTPS when ``cert`` and ``key``
    (PEM files) are given."""

    def __init__(
        self,
        app: FastAPI,
        port: int | None = None,
        *,
        cert: Path | None = None,
        key: Path | None = None,
    ) -> None:
        self.app = app
        self.port = port or free_port()
        self.cert, self.key = cert, key
        self.url = f"{'https' if cert else 'http'}://127.0.0.1:{self.port}"
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> ServerThread:
        tls = {"ssl_certfile": str(self.cert), "ssl_keyfile": str(self.key)} if self.cert else {}
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            lifespan="off",
            log_level="warning",
            access_log=False,
            log_config=None,
            **tls,  # type: ignore[arg-type]
        )
        server = uvicorn.Server(config)
        self._server = server
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._serve(server)), name="test-server", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 15
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the test server on {self.url} did not start")
            time.sleep(0.01)
        return self

    async def _serve(self, server: uvicorn.Server) -> None:
        self._loop = asyncio.get_running_loop()
        await server.serve()

    def ensure_started(self) -> None:
        if self._server is None:
            self.start()

    def stop(self, *, drop_connections: bool = False) -> None:
        """Stopped, after its open connections end; with ``drop_connections`` they are closed
        at once, as when a server's process dies (a client that keeps its TLS connection open
        and ignores the server's close, as WinHTTP under Wine does, would otherwise hold a
        graceful stop for the join's 15 s)."""
        if self._server is not None and self._thread is not None:
            if drop_connections and self._loop is not None:
                connections = self._server.server_state.connections

                def drop() -> None:
                    for connection in list(connections):
                        connection.transport.abort()

                self._loop.call_soon_threadsafe(drop)
            self._server.should_exit = True
            self._thread.join(timeout=15)
        self._server = self._thread = None
