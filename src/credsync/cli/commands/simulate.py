"""simulate: simulators for trying credsync without a tenant (Microsoft Graph)."""

from __future__ import annotations

import json
import signal
import threading
from types import FrameType

import click

from credsync.errors import InvalidInput


@click.group("simulate")
def simulate_group() -> None:
    """Simulators for trying credsync without a tenant (Microsoft Graph)."""


@simulate_group.command("graph")
@click.option("--port", type=int, default=0, show_default=True, help="Port on 127.0.0.1 (0: any).")
@click.option("--users", type=int, default=100, show_default=True, help="Users per tenant.")
@click.option("--groups", type=int, default=10, show_default=True, help="Groups per tenant.")
@click.option("--seed", type=int, default=1, show_default=True, help="Same seed, same contents.")
@click.option("--tenants", type=int, default=1, show_default=True, help="How many tenants.")
@click.option("--no-throttle", is_flag=True, help="No 429s (Graph's limits are on by default).")
def graph_cmd(
    port: int, users: int, groups: int, seed: int, tenants: int, no_throttle: bool
) -> None:
    """Serve Microsoft Graph v1.0 and the identity platform for simulated tenants over HTTPS on
    127.0.0.1, with a test CA of its own, until Ctrl-C / SIGTERM.

    Prints one JSON object on stdout: authority, graph_url, tenant_id, client_id, client_secret,
    certificate_pem and private_key_pem (for certificate sign-in), ca_file (the CA to trust);
    with --tenants above 1, a "tenants" list of the same for each. The app holds
    User.ReadWrite.All, User-PasswordProfile.ReadWrite.All, Group.ReadWrite.All and
    Directory.Read.All, and the Privileged Authentication Administrator role. Everything is
    made up: the secrets are only good against this simulator.

    \b
    Examples:
      credsync simulate graph --users 500 --seed 7      one tenant of 500 users
      credsync simulate graph --port 8443 --tenants 2 --no-throttle
    """
    from credsync.testing.graphsim import GraphSimulator, ThrottleConfig

    if tenants < 1 or users < 0 or groups < 0:
        raise InvalidInput("--tenants must be at least 1, --users and --groups not negative")
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    sim = GraphSimulator(port=port, seed=seed)
    try:
        made = [sim.add_tenant(users=users, groups=groups) for _ in range(tenants)]
        if no_throttle:
            for tenant in made:
                tenant.throttle = ThrottleConfig(enabled=False)
        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            sim.start()
            info = sim.info(made[0])
            if tenants > 1:
                info["tenants"] = [sim.info(tenant) for tenant in made]
            click.echo(json.dumps(info))
            while not stop.wait(0.25):
                pass
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    finally:
        sim.stop()
