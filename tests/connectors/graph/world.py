"""The Graph connector's test world on the Graph simulator, for the conformance suite and the
Graph tests: one tenant per world, users made "in the portal" with unique UPNs."""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from credsync.connectors.base import DirectoryConfig
from credsync.connectors.graph import GraphConnector
from credsync.testing.conformance import WorldUser
from credsync.testing.graphsim import GraphSimulator, SimApp, SimTenant
from credsync.types import Secret

# A CA that did not sign the simulator's certificate: Debian's bundle of public CAs.
PUBLIC_CAS = Path("/etc/ssl/certs/ca-certificates.crt")


def strong() -> str:
    return f"Cs-{uuid.uuid4().hex[:12]}-Q7!"


@dataclass
class GraphWorld:
    sim: GraphSimulator
    tenant: SimTenant
    supports: frozenset[str] = frozenset({"disable", "delete", "expire", "reset"})
    auth_step: str = "token"

    def create_user(self, password: str | None = None, **extra: Any) -> WorldUser:
        upn = f"cs-{uuid.uuid4().hex[:10]}@{self.tenant.domain}"
        user = self.tenant.create_user(upn=upn, password=password or strong(), **extra)
        # Graph's timestamps have whole seconds: the next password change must be later.
        self.sim.advance_clock(1.5)
        return WorldUser(id=user.id, username=user.upn, password=user.password)

    def reset_password(self, user: WorldUser, password: str) -> None:
        self.sim.advance_clock(1.5)
        self.tenant.set_password(user.id, password)

    def disable(self, user: WorldUser) -> None:
        self.tenant.disable(user.id)

    def delete(self, user: WorldUser) -> None:
        self.tenant.soft_delete(user.id)

    def expire(self, user: WorldUser) -> None:
        """A portal reset with "must change at next sign-in"."""
        self.sim.advance_clock(1.5)
        self.tenant.set_password(user.id, user.password, force_change=True)

    def lock_out(self, user: WorldUser) -> None:
        raise NotImplementedError("Entra ID has no lock-out an admin can set")

    def config(self, app: SimApp | None = None, *, certificate: bool = False,
               **changes: Any) -> DirectoryConfig:  # fmt: skip
        app = app or self.tenant.default_app
        secret = app.certificate_pem + app.private_key_pem if certificate else app.client_secret
        options = {"tenant_id": self.tenant.id, "authority": self.sim.url}
        options.update(changes.pop("options", {}))
        config = DirectoryConfig(
            kind="entra",
            name=f"entra-{self.tenant.domain}",
            url=self.sim.graph_url,
            bind_username=app.client_id,
            bind_password=Secret(secret),
            ca_file=self.sim.ca_file,
            timeout=10.0,
            options=options,
        )
        return dataclasses.replace(config, **changes)

    def connector(self, **config_changes: Any) -> GraphConnector:
        return GraphConnector(self.config(**config_changes))

    def wrong_ca_file(self) -> Path:
        return PUBLIC_CAS

    def unreachable_url(self) -> str:
        return "https://127.0.0.1:1"
