"""credsync serve: the REST API, the web dashboard and the agent in one process."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from credsync.cli.ops import HEARTBEAT_FILE, log_format_option, share_events
from credsync.cli.output import note
from credsync.cli.runtime import runtime
from credsync.errors import InvalidInput

if TYPE_CHECKING:
    from credsync.vault import Vault

__all__ = ["serve_cmd"]


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8400, show_default=True)
@click.option("--tls-cert", type=click.Path(dir_okay=False), help="PEM certificate (chain).")
@click.option("--tls-key", type=click.Path(dir_okay=False), help="PEM private key.")
@click.option(
    "--proxy",
    "proxies",
    multiple=True,
    metavar="IP",
    help="A reverse proxy's address: trust its X-Forwarded-For/-Proto headers (repeatable).",
)
@click.option(
    "--secure-cookies",
    is_flag=True,
    help="Mark session cookies Secure (HTTPS at a reverse proxy; automatic with --tls-cert).",
)
@click.option("--no-agent", is_flag=True, help="Serve only: no periodic runs or pushes here.")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Server processes on the address (one per core; the agent then runs in its own).",
)
@click.option(
    "--expect-agent",
    is_flag=True,
    help="With --no-agent: /readyz expects a `credsync agent` on this home to be alive.",
)
@click.option(
    "--expect-remote-agent",
    "remote_agents",
    multiple=True,
    metavar="NAME",
    help="/readyz fails while this remote agent has not polled within 30 s (repeatable).",
)
@click.option(
    "--metrics-token-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A file holding the bearer token /metrics asks for (default: "
    "CREDSYNC_METRICS_TOKEN_FILE; none: /metrics is off).",
)
@log_format_option
@click.pass_context
def serve_cmd(
    ctx: click.Context,
    host: str,
    port: int,
    tls_cert: str | None,
    tls_key: str | None,
    proxies: tuple[str, ...],
    secure_cookies: bool,
    no_agent: bool,
    workers: int,
    expect_agent: bool,
    remote_agents: tuple[str, ...],
    metrics_token_file: Path | None,
    log_format: str | None,
) -> None:
    """Serve the REST API (/api/v1, OpenAPI at /api/v1/openapi.json), the web dashboard and,
    unless --no-agent, the agent (periodic runs and immediate pushes), until Ctrl-C/SIGTERM.

    The server unlocks the vault once at start (CREDSYNC_PASSPHRASE, CREDSYNC_SESSION or a
    prompt) and runs as the signed-in operator: its agent acts in that operator's name.
    People sign in to the dashboard with their own operator name and password; scripts send
    an API token (Authorization: Bearer cst_...). After `credsync key rotate`, restart it.

    With --workers N, N server processes share the address (Python answers on one core per
    process): the passphrase is asked once, a process that dies is started again, and the
    agent runs in a process of its own.

    Operations: GET /healthz (the process answers), GET /readyz (database, schema, vault
    unlocked, agent alive, with --expect-remote-agent those remote agents polling: 503
    naming what failed), GET /metrics (Prometheus, with the
    scrape token of --metrics-token-file). --log-format json writes JSON lines to stderr,
    each with the request id (X-Request-ID) where there is one.

    \b
    Examples:
      credsync serve                                  # http://127.0.0.1:8400
      credsync serve --host 0.0.0.0 --tls-cert cert.pem --tls-key key.pem
      credsync serve --proxy 127.0.0.1 --secure-cookies   # behind nginx/Caddy doing HTTPS
      credsync serve --workers 2 --tls-cert cert.pem --tls-key key.pem   # two cores
      credsync serve --log-format json --metrics-token-file /run/credentials/metrics-token
      credsync serve --no-agent --expect-agent        # beside `credsync agent` on this home
      credsync serve --expect-remote-agent site-a     # /readyz: site-a polls (30 s)
    """
    from credsync.api.state import ServerState
    from credsync.server.metrics import read_token
    from credsync.server.ops import Ops
    from credsync.server.run import listen, serve

    if bool(tls_cert) != bool(tls_key):
        raise InvalidInput("--tls-cert and --tls-key go together")
    if expect_agent and not no_agent:
        raise InvalidInput("--expect-agent goes with --no-agent (the agent runs here otherwise)")
    for option, path in (("--tls-cert", tls_cert), ("--tls-key", tls_key)):
        if path and not Path(path).is_file():
            raise InvalidInput(f"{option} {path}: no such file")
    if tls_cert and tls_key:
        _check_tls(tls_cert, tls_key)
    rt = runtime(ctx)
    rt.local_only()
    rt.use_log_format(log_format)
    token_file = metrics_token_file or rt.settings.metrics_token_file
    if token_file is not None and not token_file.is_file():
        raise InvalidInput(f"--metrics-token-file {token_file}: no such file")
    expected = tuple(dict.fromkeys(name.strip() for name in remote_agents))
    _check_remote_agents(rt.vault, expected)
    ops = Ops(
        metrics_token=read_token(token_file) if token_file is not None else None,
        # --workers: the agent runs in a process of its own, watched as a separate one is
        heartbeat_file=(
            rt.settings.home / HEARTBEAT_FILE
            if expect_agent or (workers > 1 and not no_agent)
            else None
        ),
        remote_agents=expected,
    )
    sockets = listen(host, port)  # first: a port in use is said before the slow unlock
    try:
        actor = rt.actor
        rt.keys.kek()  # unlock now: a wrong passphrase fails here, not at the first request
        state = ServerState(
            rt.vault,
            rt.keys,
            secure_cookies=secure_cookies or bool(tls_cert),
            retention=rt.settings.retention,
        )
        share_events(rt.settings)  # once it is sure to serve: /metrics sums these counters
        scheme = "https" if tls_cert else "http"
        with_agent = "" if no_agent else ", with the agent"
        if workers > 1:
            with_agent = f", {workers} processes{with_agent}"

        def started(bound: int) -> None:
            note(
                f"credsync serve: {scheme}://{host}:{bound}/ (API /api/v1; running as "
                f"{actor.name}{with_agent}; Ctrl-C stops)"
            )

        serve(
            state,
            None if no_agent else actor,
            sockets=sockets,
            tls_cert=tls_cert,
            tls_key=tls_key,
            proxies=proxies,
            on_started=started,
            workers=workers,
            ops=ops,
        )
    finally:
        for sock in sockets:
            sock.close()
    note("credsync serve: stopped")


def _check_remote_agents(vault: Vault, names: tuple[str, ...]) -> None:
    """Each --expect-remote-agent names an agent that exists (a typo would keep /readyz
    failing for ever)."""
    if not names:
        return
    from credsync.vault.remote_agents import RemoteAgents

    known = RemoteAgents(vault).liveness(names)
    for name in names:
        if name not in known:
            raise InvalidInput(
                f"--expect-remote-agent {name}: no remote agent of that name "
                "(see `credsync remote-agent list`)",
                field="expect_remote_agent",
            )


def _check_tls(cert: str, key: str) -> None:
    """Load the pair once here: a bad certificate or key is said before the vault is unlocked,
    not by each server process as it starts."""
    import ssl

    try:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(
            cert, key, password=b""
        )  # an encrypted key is refused, not prompted
    except (ssl.SSLError, OSError) as err:
        reason = getattr(err, "reason", None) or err.strerror or "not a PEM certificate and key"
        raise InvalidInput(
            f"--tls-cert {cert} / --tls-key {key}: cannot load them ({reason}); give the PEM "
            "certificate chain and its unencrypted private key",
            field="tls_cert",
        ) from None
