"""Running the app: uvicorn on one address, with the agent in the same event loop."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Sequence
from types import FrameType

import uvicorn

from credsync.api.app import create_app
from credsync.api.state import ServerState
from credsync.vault import Actor

__all__ = ["serve"]


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


def serve(
    state: ServerState,
    agent_actor: Actor | None,
    *,
    host: str = "127.0.0.1",
    port: int = 8400,
    tls_cert: str | None = None,
    tls_key: str | None = None,
    proxies: Sequence[str] = (),
    on_started: Callable[[int], None] = lambda port: None,
) -> None:
    """Serve until SIGINT/SIGTERM; with ``agent_actor``, the agent runs alongside as that
    operator (periodic runs, immediate pushes). ``on_started`` gets the bound port."""
    config = uvicorn.Config(
        create_app(state),
        host=host,
        port=port,
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
        task = None
        if agent_actor is not None:
            from credsync.agent.loop import Agent

            agent = Agent(state.vault, state.keys, agent_actor)
            task = asyncio.create_task(agent.run())
        try:
            await server.serve()
        finally:
            if agent is not None and task is not None:
                agent.stop()
                await task

    asyncio.run(main())
