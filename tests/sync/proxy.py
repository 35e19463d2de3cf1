"""A TCP forwarder in front of the shared DC that a test can cut and restore: the DC "goes
away" for one test's directory without stopping the DC every other test uses. It can also
freeze: whatever either side sends from then on is held (a DC that stopped answering, with
requests already sent applied or not), until it thaws or is cut."""

from __future__ import annotations

import contextlib
import socket
import threading


class CuttableProxy:
    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self._lock = threading.Lock()
        self._conns: list[socket.socket] = []
        self._listener: socket.socket | None = None
        # Whether what the client sends (requests) and what the DC sends (replies) flows.
        self._requests, self._replies = threading.Event(), threading.Event()
        self.thaw()
        self.resume()

    def freeze(self, *, replies_only: bool = False) -> None:
        """Hold what the DC sends from now on, and what the client sends unless
        ``replies_only`` (then requests still reach the DC and are applied)."""
        self._replies.clear()
        if not replies_only:
            self._requests.clear()

    def thaw(self) -> None:
        self._requests.set()
        self._replies.set()

    @property
    def url(self) -> str:
        return f"ldaps://127.0.0.1:{self.port}"

    def resume(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        """Close every open connection and stop listening (new connections are refused).
        Data held by a freeze goes nowhere."""
        with self._lock:
            if self._listener is not None:
                # shutdown() wakes the thread blocked in accept(); close() alone would not.
                with contextlib.suppress(OSError):
                    self._listener.shutdown(socket.SHUT_RDWR)
                self._listener.close()
                self._listener = None
            for conn in self._conns:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
                conn.close()
            self._conns.clear()
        self.thaw()  # the held data meets closed sockets

    close = cut

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._conns += [client, upstream]
            for a, b, gate in (
                (client, upstream, self._requests),
                (upstream, client, self._replies),
            ):
                threading.Thread(target=self._pipe, args=(a, b, gate), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket, gate: threading.Event) -> None:
        try:
            while data := src.recv(65536):
                gate.wait()
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)
