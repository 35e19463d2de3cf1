"""The MSP world of ``bench/msp_scale.py`` (issue 20): many small clients on one vault.

Not a benchmark itself. :class:`MspWorld` builds, on a database URL:

- the Graph simulator in a process of its own playing one tenant per client
  (``_graphsim_server.py --tenant-sizes``), each client with an Entra directory on its tenant
  and one credential per enabled cloud-only user (the username is the UPN: a first run links
  them by name);
- for the first ``ad_clients`` clients, an Active Directory directory too: an OU of its own on
  the machine's Samba DC with ``ad_accounts`` users, one credential each with the account's
  password (in step from the first run); the first ``blocked`` of them reach the DC through a
  :class:`FaultProxy`, so that they can be made unreachable later;
- credentials are imported per client through the CSV import (the fast path an MSP uses);
- after the agent's first runs, ``timed`` credentials of each directory are switched to
  enforce (confirmed): the ones whose changes :mod:`msp_scale` times.
"""

from __future__ import annotations

import csv
import io
import json
import math
import random
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _common as c
from _msp_ad import AdOus
from credsync.sync.enforce import EnforceSwitches
from credsync.testing.fault_proxy import FaultProxy
from credsync.testing.line_child import LineChild
from credsync.testing.samba import SambaFacts
from credsync.testing.scaleout import bind_works
from credsync.types import Secret, SyncMode
from credsync.vault.directories import DirectoryInput

__all__ = ["MspWorld", "Timed", "tenant_sizes"]


def tenant_sizes(clients: int, users: int, low: int = 50, high: int = 500) -> list[int]:
    """``clients`` tenant sizes between ``low`` and ``high`` users, log-uniform (many small
    clients, a few big ones, as an MSP's book looks), scaled to about ``users`` in all."""
    rng = random.Random(20)
    raw = [math.exp(rng.uniform(math.log(low), math.log(high))) for _ in range(clients)]
    scale = users / sum(raw)
    return [max(low, min(high, round(r * scale))) for r in raw]


@dataclass
class Timed:
    """A credential whose password changes are timed until its directory accepts them."""

    credential_id: str
    client: str
    directory: str  # the directory's name
    kind: str  # "entra" or "ad"
    login: str  # the UPN (Entra) or the DN (AD)
    tenant_id: str = ""


@dataclass
class MspWorld:
    url: str
    home: Path
    facts: SambaFacts | None
    vault: Any = None
    admin: Any = None
    keys: Any = None
    sim: LineChild | None = None
    tenants: list[dict[str, Any]] = field(default_factory=list)
    ad_world: Path | None = None  # where the OUs are kept between runs (see _msp_ad)
    ad: AdOus | None = None
    proxies: list[FaultProxy] = field(default_factory=list)
    blocked_directories: list[str] = field(default_factory=list)
    throttled_directories: list[str] = field(default_factory=list)
    directories: list[str] = field(default_factory=list)
    timed: list[Timed] = field(default_factory=list)
    _ad_rows: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)

    def build(self, sizes: list[int], *, ad_clients: int, ad_accounts: int, blocked: int,
              interval: int) -> None:  # fmt: skip
        self.vault, self.admin, self.keys = c.make_vault(self.url)
        path = self.home / "tenant-sizes.json"
        path.write_text(json.dumps(sizes))
        self.sim = LineChild(
            [sys.executable, str(c.BENCH_DIR / "_graphsim_server.py"), "--tenant-sizes",
             str(path)], self.home, close_timeout=60.0,
        )  # fmt: skip
        info = self.sim.info
        self.tenants = list(info["tenants"])
        ca_pem = Path(str(info["ca_file"])).read_text()
        options = {"interval": interval, "push_cap": 1_000_000}
        if ad_clients:
            if self.facts is None:
                raise SystemExit("AD clients need the Samba DC (scripts/samba-dc start)")
            self.ad = AdOus(self.facts, self.ad_world)
            self.ad.start(ad_clients, ad_accounts)  # made in the background meanwhile
        for n, tenant in enumerate(self.tenants):
            client = f"MSP client {n + 1:03d}"
            self.vault.clients.add(self.admin, self.keys, client, directory_sync=True)
            name = f"m365-{n + 1:03d}"
            c.add_entra_directory(
                self.vault, self.admin, self.keys, client,
                {**tenant, "graph_url": info["graph_url"]}, tenant_id=tenant["tenant_id"],
                authority=str(tenant["authority"]).removesuffix("/" + tenant["tenant_id"]),
                ca_pem=ca_pem, name=name, options=options,
            )  # fmt: skip
            self.directories.append(name)
            upns = list(self.sim.ask(f"@{tenant['tenant_id']} upns")["upns"])
            rows = [(f"M365 {upn}", upn, f"Vault-{uuid.uuid4().hex[:12]}-Aa1!") for upn in upns]
            if n < ad_clients:
                rows += self._add_ad(n, client, n < blocked, options)
            self._import(client, rows)
            if (n + 1) % 50 == 0:
                print(f"  {n + 1} clients made", flush=True)

    def _add_ad(self, n: int, client: str, via_proxy: bool,
                options: dict[str, Any]) -> list[tuple[str, str, str]]:  # fmt: skip
        assert self.facts is not None
        assert self.ad is not None
        ou = self.ad.get(n)
        name = f"ad-{n + 1:03d}"
        directory = c.add_ad_directory(
            self.vault, self.admin, self.keys, client, self.facts, ou.dn, name=name,
            options=options,
        )  # fmt: skip
        if via_proxy:
            proxy = FaultProxy((self.facts.host, 636))
            self.proxies.append(proxy)
            self.blocked_directories.append(name)
            self.vault.directories.update(
                self.admin, directory.id, DirectoryInput.of({"url": proxy.url})
            )
        self.directories.append(name)
        self._ad_rows[client] = [(sam, dn, name) for sam, dn, _ in ou.accounts]
        return [(f"AD {sam}", sam, password) for sam, _, password in ou.accounts]

    def _import(self, client: str, rows: list[tuple[str, str, str]]) -> None:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["title", "username", "password"])
        writer.writerows(rows)
        stream = io.BytesIO(out.getvalue().encode())
        report = self.vault.csv.import_csv(self.admin, self.keys, client, stream, strict=True)
        if report.rejected:
            raise RuntimeError(f"the import of {client} rejected rows: {report.rejected[:3]}")

    def pick_timed(self, per_directory: int) -> None:
        """``per_directory`` credentials of each directory switched to enforce (confirmed:
        their links were made by the agent's first runs), to be timed."""
        switches = EnforceSwitches(self.vault)
        for n, tenant in enumerate(self.tenants):
            client = f"MSP client {n + 1:03d}"
            creds = self._credentials(client)
            by_user = {cred.username: cred for cred in creds}
            chosen: list[Timed] = []
            m365 = [cred for cred in creds if cred.title.startswith("M365 ")]
            for cred in m365[:per_directory]:
                chosen.append(Timed(cred.id, client, f"m365-{n + 1:03d}", "entra",
                                    cred.username, tenant["tenant_id"]))  # fmt: skip
            for sam, dn, name in self._ad_rows.get(client, [])[:per_directory]:
                chosen.append(Timed(by_user[sam].id, client, name, "ad", dn))
            for each in chosen:
                switches.set_credential_mode(
                    self.admin, each.credential_id, SyncMode.ENFORCE, confirmed=True
                )
            self.timed.extend(chosen)

    def _credentials(self, client: str) -> list[Any]:
        found: list[Any] = []
        cursor = None
        while True:
            page = self.vault.credentials.list(self.admin, client, limit=5000, cursor=cursor)
            found.extend(page.items)
            cursor = page.next_cursor
            if cursor is None:
                return found

    def change(self, timed: Timed) -> str:
        """A new password for ``timed`` in the vault (its push queued with it)."""
        password = f"Msp-{uuid.uuid4().hex[:14]}-7!"
        self.vault.credentials.set_password(
            self.admin, self.keys, timed.credential_id, Secret(password)
        )
        return password

    def works(self, timed: Timed, password: str) -> bool:
        """Whether the directory takes ``password`` for ``timed``'s account now."""
        if timed.kind == "ad":
            assert self.facts is not None
            assert self.ad is not None
            if bind_works(self.facts, timed.login, password):
                self.ad.set_password(timed.login, password)  # kept for the next run
                return True
            return False
        assert self.sim is not None
        answer = self.sim.ask(f"@{timed.tenant_id} check", {timed.login: password})
        return int(answer["wrong"]) == 0

    def storm(self, throttled: int) -> None:
        """``throttled`` tenants answer every request 429 (1 request per 10 minutes allowed);
        the proxied AD directories go away: the first ones refuse connections (a DC that is
        down), the others accept and never answer (a black-holed site link)."""
        assert self.sim is not None
        for n, tenant in enumerate(self.tenants[-throttled:] if throttled else []):
            self.sim.ask(f"@{tenant['tenant_id']} throttle 1/600")
            self.throttled_directories.append(f"m365-{len(self.tenants) - throttled + n + 1:03d}")
        for n, proxy in enumerate(self.proxies):
            if n < (len(self.proxies) + 1) // 2:
                proxy.stop()
            else:
                proxy.latency = 3600.0

    def environment(self, home: Path) -> dict[str, str]:
        return c.cli_env(
            home,
            CREDSYNC_DATABASE_URL=self.url,
            CREDSYNC_PASSPHRASE=c.PASSPHRASE,
            CREDSYNC_OPERATOR=c.ADMIN,
            CREDSYNC_OPERATOR_PASSWORD=c.ADMIN_PASSWORD,
            PYTHONUNBUFFERED="1",
        )

    def close(self) -> None:
        for proxy in self.proxies:
            proxy.close()
        if self.ad is not None:
            self.ad.close(keep=self.ad_world is not None)
        if self.sim is not None:
            self.sim.close()
        if self.vault is not None:
            self.vault.db.dispose()
