"""credsync demo: the whole product on a throwaway vault and a simulated tenant."""

from __future__ import annotations

import json
import shutil
import socket
import tempfile
from pathlib import Path
from typing import Any

import click

from credsync.cli.output import note
from credsync.errors import InvalidInput

__all__ = ["demo_cmd"]


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8400, show_default=True)
@click.option("--users", type=click.IntRange(0, 100_000), default=200, show_default=True,
              help="Seeded users in the simulated tenant (besides the demo's own).")  # fmt: skip
@click.option("--seed", type=int, default=7, show_default=True, help="Seed of the tenant.")
@click.option(
    "--samba",
    is_flag=True,
    help="Start the local Samba AD DC (scripts/samba-dc) and add an Active Directory too; "
    "without it, one is used when it is already running.",
)
@click.option(
    "--keep",
    type=click.Path(file_okay=False),
    help="Keep the demo's vault in this new directory (default: a temporary one, removed).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the facts as one JSON line.")
def demo_cmd(
    host: str, port: int, users: int, seed: int, samba: bool, keep: str | None, as_json: bool
) -> None:
    """Try credsync with no setup: a throwaway vault, a simulated Entra ID tenant (Microsoft
    Graph on 127.0.0.1, its own test CA), a client with credentials in report, enforce and
    two-way mode, a few passwords changed in the directory so that flags show, the agent running,
    and the dashboard and API served. Prints the URL and a demo sign-in; Ctrl-C stops it
    and removes everything it made (unless --keep).

    \b
    Examples:
      credsync demo                       # then open http://127.0.0.1:8400/
      credsync demo --port 0 --json       # any free port; facts as JSON for scripts
    """
    from credsync.server.run import listen

    if keep and Path(keep).exists() and any(Path(keep).iterdir()):
        raise InvalidInput(f"--keep {keep}: the directory is not empty")
    sockets = listen(host, port)  # first: a port in use is said before the slow setup
    try:
        _demo(sockets, host, users, seed, samba, keep, as_json)
    finally:
        for sock in sockets:
            sock.close()
    note("credsync demo: stopped" + ("" if keep else " (its vault is removed)"))


def _demo(
    sockets: list[socket.socket],
    host: str,
    users: int,
    seed: int,
    samba: bool,
    keep: str | None,
    as_json: bool,
) -> None:
    from credsync.api.state import ServerState
    from credsync.server.run import serve
    from credsync.testing.demo import build_demo

    home = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="credsync-demo-"))
    dc, facts = _samba(samba)
    try:
        note("credsync demo: making the vault, the tenant and the first runs...")
        world = build_demo(home, users=users, seed=seed, samba=facts)
        try:
            state = ServerState(world.vault, world.keys)

            def started(bound: int) -> None:
                url = f"http://{host}:{bound}/"
                data = {
                    "url": url,
                    "api": f"{url}api/v1",
                    "operator": world.admin.name,
                    "password": world.admin_password.reveal(),
                    "token": world.token.reveal(),
                    "home": str(home),
                    "kept": bool(keep),
                    "tenant": world.tenant.domain,
                    "graph_url": world.sim.graph_url,
                    "notes": world.summary,
                }
                _announce(data, as_json)

            serve(state, world.admin, sockets=sockets, on_started=started)
        finally:
            world.close()
    finally:
        if dc is not None:
            dc.release()
        if not keep:
            shutil.rmtree(home, ignore_errors=True)


def _samba(start: bool) -> tuple[Any, Any]:
    """(the DC to release at the end or None, its facts or None)."""
    from credsync.testing.samba import SambaDC, SambaUnavailable

    dc = SambaDC()
    try:
        if start:
            note("credsync demo: starting the Samba AD DC (the first time installs it)...")
            return dc, dc.acquire()
        if dc.script.exists() and dc.running():
            return dc, dc.acquire()
    except SambaUnavailable as err:
        if start:
            raise InvalidInput(f"--samba: {err}") from None
    return None, None


def _announce(data: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(data), nl=True)
        return
    lines = [
        f"credsync demo is ready: {data['url']}",
        f"  sign in as   {data['operator']} / {data['password']}",
        f"  API token    {data['token']}",
        f"               curl -H 'Authorization: Bearer {data['token']}' {data['api']}/clients",
        f"  tenant       {data['tenant']} (simulated Microsoft Graph at {data['graph_url']})",
        f"  data         {data['home']}" + ("" if data["kept"] else " (removed when it stops)"),
        *(f"  {line}" for line in data["notes"]),
        "Ctrl-C stops the demo.",
    ]
    click.echo("\n".join(lines))
