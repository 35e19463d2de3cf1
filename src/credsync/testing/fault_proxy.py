"""A TCP proxy between credsync and a server (the shared DC's LDAPS port), in a thread of its
own (its own event loop), for the chaos tests and the scale-out benchmark: the DC is shared
with other people's tests, so it is never stopped; this proxy plays its faults for the
directories that point at it.

- :meth:`stop`: "the DC stopped": every open connection is reset (RST, SO_LINGER 0) and new
  ones are refused (the listening socket is closed);
- :meth:`start`: "the DC restarted": it accepts again;
- :attr:`latency`: "the DC answering slowly", or a directory across a WAN link: every chunk
  read from either side is sent on that many seconds after it arrived (each direction keeps
  its order; chunks in flight overlap, as on a link: a delay line, not a queue that waits
  ``latency`` per chunk).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from concurrent.futures import Future
from typing import Any


class FaultProxy:
    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.latency = 0.0
        self.accepted = 0
        self.resets = 0
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.start()

    @property
    def url(self) -> str:
        return f"ldaps://127.0.0.1:{self.port}"

    def _call(self, coro: Any) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return future.result(30)

    def start(self) -> None:
        self._call(self._start())

    def stop(self) -> None:
        self._call(self._stop())

    def close(self) -> None:
        self._call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _start(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(
                self._serve, "127.0.0.1", self.port, reuse_address=True
            )

    async def _stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            self._reset(writer)
        self._writers.clear()

    async def _shutdown(self) -> None:
        """Stopped, and every task of the proxy's loop ended (none left pending)."""
        await self._stop()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _reset(self, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()
        self.resets += 1

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            self._reset(writer)
            return
        self._writers |= {writer, up_writer}
        try:
            await asyncio.gather(
                self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
            )
        except asyncio.CancelledError:
            # The proxy closing (_shutdown cancels every task). A connection's handler ends
            # quietly: Python 3.11's start_server asks a cancelled handler for its exception,
            # which raises, and the loop printed that as an error at every close.
            pass
        finally:
            for w in (writer, up_writer):
                self._writers.discard(w)
                w.close()

    async def _pipe(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        line: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        loop = asyncio.get_running_loop()

        async def deliver() -> None:
            while True:
                due, data = await line.get()
                if not data:
                    return
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                dst.write(data)
                await dst.drain()

        sender = asyncio.create_task(deliver())
        try:
            while data := await src.read(65536):
                line.put_nowait((loop.time() + self.latency, data))
            line.put_nowait((loop.time(), b""))
            await sender
        finally:
            sender.cancel()
            if not dst.is_closing():
                with contextlib.suppress(OSError, RuntimeError):
                    dst.write_eof()
