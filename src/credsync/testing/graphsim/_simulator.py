"""GraphSimulator: tenants, the clock, the TLS material, and the server that plays the Microsoft
identity platform and Graph v1.0 for them on one 127.0.0.1 port."""

from __future__ import annotations

import random
import shutil
import socket
import tempfile
import threading
import weakref
from collections import Counter
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from . import (
    _audits,
    _batch,
    _delta,
    _directory,
    _federation,
    _groups,
    _members,
    _roles,
    _users,
)
from ._auth import Authority
from ._clock import SimClock
from ._domains import domain_record, federation_config
from ._graph import Pipeline, Router
from ._seed import guid, seed_groups, seed_users, sku_records
from ._server import ServerThread, build_app
from ._signins import register as register_sign_ins
from ._tenant import SimApp, SimTenant
from ._tls import make_server_tls
from ._tokens import TokenBox

__all__ = ["DEFAULT_PERMISSIONS", "DEFAULT_ROLE", "GraphSimulator"]

DEFAULT_PERMISSIONS = (
    "User.ReadWrite.All",
    "User-PasswordProfile.ReadWrite.All",
    "Group.ReadWrite.All",
    "Directory.Read.All",
)
DEFAULT_ROLE = "Privileged Authentication Administrator"


def _router() -> Router:
    router = Router()
    _batch.register(router)
    _delta.register(router)  # before /users/{id}
    _users.register(router)
    _groups.register(router)
    _members.register(router)
    _directory.register(router)
    _federation.register(router)
    _audits.register(router)
    _roles.register(router)
    register_sign_ins(router)  # /auditLogs/signIns (_signins)
    return router


class GraphSimulator:
    """Microsoft Graph v1.0 and the identity platform for simulated tenants, over HTTPS on
    127.0.0.1 (``port=0``: any free port) with a test CA of its own. ``seed`` makes tenant ids,
    app ids and seeded directory contents the same from run to run."""

    def __init__(self, port: int = 0, seed: int = 1) -> None:
        self.seed = seed
        self._rng = random.Random(seed)  # noqa: S311 - seeded test data, not security
        self._lock = threading.RLock()
        self.clock = SimClock()
        self._tenants: dict[str, SimTenant] = {}
        self._by_domain: dict[str, SimTenant] = {}
        self._tls = make_server_tls()
        self._dir = Path(tempfile.mkdtemp(prefix="credsync-graphsim-"))
        self.ca_file = self._dir / "ca.pem"
        self.ca_file.write_text(self._tls.ca_pem)
        self._cert_file = self._dir / "server.pem"
        self._cert_file.write_text(self._tls.cert_pem)
        self._key_file = self._dir / "server-key.pem"
        self._key_file.touch(mode=0o600)
        self._key_file.write_text(self._tls.key_pem)
        # IPPROTO_TCP named, not 0: asyncio sets TCP_NODELAY only on sockets whose proto says
        # TCP, and without it every answer (headers, then body) waited ~40 ms for a delayed ACK
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # and set here too, for any loop (uvloop's included): accepted sockets inherit it
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock.bind(("127.0.0.1", port))
        self.port: int = self._sock.getsockname()[1]
        self.authority = Authority(self.clock, self.find_tenant)
        self.tokens = TokenBox()
        self.pipeline = Pipeline(_router(), self.authority, self.tokens, lambda: self.url)
        self._server: ServerThread | None = None
        self._stopped = False
        # a simulator dropped without stop() still closes its socket and removes its files
        self._cleanup = weakref.finalize(self, _release, self._sock, self._dir)

    def __repr__(self) -> str:
        return f"GraphSimulator(url={self.url!r}, tenants={len(self._tenants)})"

    # --- where ----------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def graph_url(self) -> str:
        return self.url

    @property
    def ca_pem(self) -> str:
        return self._tls.ca_pem

    def authority_url(self, tenant: SimTenant) -> str:
        return f"{self.url}/{tenant.id}"

    def info(self, tenant: SimTenant, app: SimApp | None = None) -> dict[str, Any]:
        """What ``credsync simulate graph`` prints for a tenant and app (default: its own)."""
        app = app or tenant.default_app
        return {
            "authority": self.authority_url(tenant),
            "graph_url": self.graph_url,
            "tenant_id": tenant.id,
            "domain": tenant.domain,
            "client_id": app.client_id,
            "client_secret": app.client_secret,
            "certificate_pem": app.certificate_pem,
            "private_key_pem": app.private_key_pem,
            "thumbprint_sha1": app.thumbprint_sha1,
            "ca_file": str(self.ca_file),
        }

    # --- interactive sign-in (see _interactive) -----------------------------------------
    def add_redirect_uri(self, tenant: SimTenant, uri: str, app: SimApp | None = None) -> None:
        """Register ``uri`` as a redirect URI of ``app`` (default: the tenant's own app)."""
        self.authority.interactive.add_redirect_uri(app or tenant.default_app, uri)

    @property
    def device_interval(self) -> int:
        """Seconds a device code client must wait between polls (Entra's: 5)."""
        return self.authority.interactive.device_interval

    @device_interval.setter
    def device_interval(self, seconds: int) -> None:
        self.authority.interactive.device_interval = seconds

    # --- lifecycle ------------------------------------------------------------------------
    def start(self) -> GraphSimulator:
        with self._lock:
            if self._stopped:
                raise RuntimeError("this simulator was stopped; make a new one")
            if self._server is None:
                server = ServerThread(build_app(self), self._sock, self._cert_file, self._key_file)
                server.start()
                self._server = server
        return self

    def stop(self) -> None:
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            if self._server is not None:
                self._server.stop()
            self._cleanup()

    def open_connections(self) -> int:
        """Client connections the server holds open (a request being handled keeps its
        connection open, even when its client has gone): 0 means nothing more can land."""
        server = self._server
        return 0 if server is None else server.connections()

    def __enter__(self) -> GraphSimulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- time -----------------------------------------------------------------------------
    def advance_clock(self, seconds: float) -> None:
        self.clock.advance(seconds)

    def now(self) -> datetime:
        return self.clock.now()

    # --- tenants --------------------------------------------------------------------------
    @property
    def tenants(self) -> list[SimTenant]:
        with self._lock:
            return list(self._tenants.values())

    def find_tenant(self, ref: str) -> SimTenant | None:
        """A tenant by its id or one of its domains."""
        key = ref.lower()
        with self._lock:
            return self._tenants.get(key) or self._by_domain.get(key)

    def _free_domain(self, domain: str) -> str:
        if domain.lower() not in self._by_domain:
            return domain
        label, _, rest = domain.partition(".")
        number = 2
        while f"{label}{number}.{rest}".lower() in self._by_domain:
            number += 1
        return f"{label}{number}.{rest}"

    def add_tenant(
        self,
        users: int = 100,
        groups: int = 10,
        domain: str = "contoso.test",
        seed: int | None = None,
        federated_domain: str | None = None,
    ) -> SimTenant:
        """A tenant with ``users`` and ``groups`` seeded (``seed``: default from the simulator's
        seed), its default domain (made unique in this simulator: contoso2.test...), an initial
        ``<name>.onmicrosoft.test`` domain, and an app with the default permissions and role."""
        with self._lock:
            tenant_seed = seed if seed is not None else self._rng.getrandbits(63)
            rng = random.Random(tenant_seed)  # noqa: S311 - seeded test data
            tenant_id = guid(rng)
            while tenant_id in self._tenants:
                tenant_id = guid(self._rng)
            domain = self._free_domain(domain.lower())
            initial = self._free_domain(f"{domain.split('.')[0]}.onmicrosoft.test")
            tenant = SimTenant(
                tenant_id=tenant_id,
                domain=domain,
                initial_domain=initial,
                rng=rng,
                clock=self.clock,
            )
            tenant.domains = [
                domain_record(initial, default=False, initial=True),
                domain_record(domain, default=True, initial=False),
            ]
            if federated_domain:
                federated_domain = self._free_domain(federated_domain.lower())
                tenant.domains.append(domain_record(federated_domain, federated=True))
                tenant.federation[federated_domain] = federation_config(rng, federated_domain)
            self._seed(tenant, rng, users, groups)
            self._tenants[tenant_id] = tenant
            for record in tenant.domains:
                self._by_domain[record["id"].lower()] = tenant
        tenant.default_app = tenant.add_app(DEFAULT_PERMISSIONS, DEFAULT_ROLE, "credsync")
        return tenant

    def add_domain(
        self, tenant: SimTenant, name: str, *, federated: bool = False, verified: bool = True
    ) -> str:
        """Add a domain to ``tenant`` (made unique in this simulator, as tenants' domains are),
        federated or managed, verified or not; returns its name."""
        with self._lock:
            name = self._free_domain(name.lower())
            with tenant.store.lock:
                record = domain_record(name)
                record["isVerified"] = verified
                tenant.domains.append(record)
            if federated:
                tenant.set_federated(name)
            self._by_domain[name] = tenant
        return name

    def _seed(self, tenant: SimTenant, rng: random.Random, users: int, groups: int) -> None:
        store = tenant.store
        records, roles = seed_users(rng, users, tenant.domain, f"corp.{tenant.domain}")
        store.users.bulk_add(records)
        store.upn_index.update((r["userPrincipalName"].lower(), r["id"]) for r in records)
        store.admin_role.update(roles)
        consumed: Counter[str] = Counter()
        for record in records:
            for licence in record.get("assignedLicenses", ()):
                consumed[licence["skuId"]] += 1
        tenant.skus = sku_records(tenant.id, dict(consumed), users)
        ids = [r["id"] for r in records]
        for group, members in seed_groups(rng, groups, tenant.domain, ids, "2024-01-01T00:00:00Z"):
            store.groups.add(group)
            store.members[group["id"]] = dict.fromkeys(members)


def _release(sock: socket.socket, folder: Path) -> None:
    sock.close()
    shutil.rmtree(folder, ignore_errors=True)
