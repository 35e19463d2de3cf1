"""Running the app: uvicorn on one address, with the agent in the same event loop.

The address is taken first (:func:`listen`), before anything slow (unlocking the vault, the
demo's data): a port in use is said at once, and nobody can take it meanwhile.

At start the server marks runs abandoned by a process that stopped as aborted (and, without
an agent, every ``SWEEP_SECONDS``: the agent does it otherwise; see
:mod:`credsync.sync.lease`). At shutdown it stops taking requests and stops the agent, then
waits up to ``SHUTDOWN_GRACE`` seconds for the runs started through the API or the
dashboard ("sync now") to end; a run still going then is let go: it stops with the process,
and is swept as abandoned once its heartbeat is stale.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
from collections.abc import Callable, Sequence
from types import FrameType

import uvicorn

from credsync.agent.loop import Agent
from credsync.api.state import ServerState
from credsync.errors import CredsyncError, InvalidInput
from credsync.server.app import create_app
from credsync.server.ops import Ops
from credsync.sync import lease
from credsync.sync.background import background_runs
from credsync.vault import Actor
from credsync.vault._time import utcnow

__all__ = ["SHUTDOWN_GRACE", "listen", "serve"]

log = logging.getLogger("credsync.api")

SHUTDOWN_GRACE = 30.0  # seconds a stopping server waits for its runs under way to end


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, on_started: Callable[[int], None]) -> None:
        super().__init__(config)
        self._on_started = on_started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and self.servers:
            self._on_started(int(self.servers[0].sockets[0].getsockname()[1]))

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        # uvicorn raises a caught signal again after shutting down (the process then dies of
        # it); here Ctrl-C/SIGTERM means "stop cleanly", exit status 0.
        self._captured_signals.clear()


def listen(host: str, port: int) -> list[socket.socket]:
    """Sockets listening on ``host`` (each of its addresses; one whose family the machine
    lacks is skipped, as asyncio does) and ``port`` (0: a free one), for :func:`serve`:
    taken at once, so no other process can take the port meanwhile (connections wait until
    the server answers). A port in use, or an address that is not this machine's, is refused
    as a bad ``port`` or ``host`` (``--port``, ``--host``)."""
    try:
        found = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as err:
        raise InvalidInput(f"cannot listen on {host}: {err.strerror}", field="host") from None
    addresses = list(dict.fromkeys((family, address) for family, _, _, _, address in found))
    sockets: list[socket.socket] = []
    unavailable: OSError | None = None
    try:
        for family, address in addresses:
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            if port == 0 and sockets:  # every address on the port the first one got
                address = (address[0], sockets[0].getsockname()[1], *address[2:])
            try:
                sock.bind(address)
            except OSError as err:
                sock.close()
                if err.errno != errno.EADDRNOTAVAIL:
                    raise
                unavailable = err  # e.g. ::1 of "localhost" on a machine without IPv6
                continue
            sockets.append(sock)
            # no Nagle: an answer written in pieces (headers, then body) must not wait for
            # the client's delayed ACK (40 ms on Linux); accepted sockets inherit it
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.listen(2048)
        if not sockets:
            raise unavailable or OSError(errno.EADDRNOTAVAIL, "no address to listen on")
    except OSError as err:
        for sock in sockets:
            sock.close()
        if err.errno == errno.EADDRINUSE:
            raise InvalidInput(
                f"port {port} is in use on {host} (another credsync serve or demo?): "
                "choose another with --port (--port 0: any free port)",
                field="port",
            ) from None
        field = "host" if err.errno == errno.EADDRNOTAVAIL else "port"
        raise InvalidInput(f"cannot listen on {host}:{port}: {err.strerror}", field=field) from None
    return sockets


def serve(
    state: ServerState,
    agent_actor: Actor | None,
    *,
    sockets: list[socket.socket],
    tls_cert: str | None = None,
    tls_key: str | None = None,
    proxies: Sequence[str] = (),
    on_started: Callable[[int], None] = lambda port: None,
    workers: int = 1,
    ops: Ops | None = None,
) -> None:
    """Serve on ``sockets`` (from :func:`listen`; closed when it ends) until SIGINT/SIGTERM;
    with ``agent_actor``, the agent runs alongside as that operator (periodic runs, immediate
    pushes). ``on_started`` gets the bound port. ``workers`` above 1: that many server
    processes, and the agent in a process of its own (see :mod:`credsync.server.workers`).
    ``ops``: the scrape token of ``/metrics`` and how ``/readyz`` knows a separate agent is
    alive (with ``workers``, the agent's process touches ``ops.heartbeat_file``)."""
    ops = ops or Ops()
    if workers > 1:
        from credsync.server.workers import Supervisor

        def serve_one(one: ServerState, actor: Actor | None) -> None:
            serve(
                one, actor, sockets=sockets, tls_cert=tls_cert, tls_key=tls_key,
                proxies=proxies, ops=ops,
            )  # fmt: skip

        supervisor = Supervisor(
            state,
            agent_actor,
            workers=workers,
            sockets=sockets,
            serve_one=serve_one,
            heartbeat_file=ops.heartbeat_file,
        )
        on_started(int(sockets[0].getsockname()[1]))
        try:
            status = supervisor.run()
        finally:
            for sock in sockets:
                sock.close()
        if status:
            raise CredsyncError(
                "the server processes kept stopping as they started; the log says why"
            )
        return
    running: list[Agent] = []  # the agent of this process, once started
    app = create_app(
        state,
        tls=bool(tls_cert),
        agent=ops.agent_watch(running if agent_actor is not None else None),
        metrics_token=ops.metrics_token,
    )
    config = uvicorn.Config(
        app,
        ssl_certfile=tls_cert,
        ssl_keyfile=tls_key,
        proxy_headers=bool(proxies),
        forwarded_allow_ips=list(proxies) or None,
        log_level="warning",
        server_header=False,
        lifespan="off",
    )
    server = _Server(config, on_started)

    async def main() -> None:
        agent = None
        task: asyncio.Task[None]
        if agent_actor is not None:
            agent = Agent(state.vault, state.keys, agent_actor, retention=state.retention)
            running.append(agent)
            task = asyncio.create_task(agent.run())  # it sweeps abandoned runs itself
        else:
            task = asyncio.create_task(_sweep_every(state))
        try:
            await server.serve(sockets=sockets)
        finally:
            if agent is not None:
                agent.stop()
            else:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await state.relay.close()  # the remote agents' runs here end as unreachable
            await asyncio.to_thread(_wait_for_runs, SHUTDOWN_GRACE)

    try:
        with runner(config) as loop:
            loop.run(main())
    finally:
        for sock in sockets:
            sock.close()


def runner(config: uvicorn.Config) -> asyncio.Runner:
    """The event loop uvicorn would choose itself (uvloop when installed, as it is with
    credsync): ``asyncio.run`` would give the standard library's, whose wake-ups from the
    request threads cost about a twelfth of a federated sign-in's CPU."""
    return asyncio.Runner(loop_factory=config.get_loop_factory())


async def _sweep_every(state: ServerState) -> None:
    while True:
        try:
            await asyncio.to_thread(
                lease.sweep_abandoned, state.vault.db, state.vault.audit, utcnow()
            )
        except CredsyncError as exc:
            log.warning("abandoned runs were not swept: %s", exc)
        await asyncio.sleep(lease.SWEEP_SECONDS)


def _wait_for_runs(grace: float) -> None:
    """Wait up to ``grace`` seconds in all for the runs started through the API and the
    dashboard to end."""
    if background_runs.join_all(grace):
        log.warning(
            "stopping with runs still under way after %.0f s: they stop with the server and "
            "are marked aborted once their heartbeat is stale",
            grace,
        )
