"""The AD side of ``bench/msp_scale.py``'s world: OUs of accounts on the machine's Samba DC,
made in parallel (a few connections: Samba hashes each new password, ~10 accounts a second
over one connection on a loaded machine) and, with ``--ad-world PATH``, kept there between
runs: PATH (mode 600) lists the OUs and their accounts' throwaway passwords, and the next run
with the same PATH reuses them instead of making 20,000 accounts again. ``--drop-ad-world``
deletes them. The DC is shared: only OUs named ``mspbench-*`` are made, and only those.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from credsync.testing.samba import SambaFacts
from credsync.testing.samba_admin import SambaAdmin

__all__ = ["AdOu", "AdOus"]

PREFIX = "mspbench"
WORKERS = 4  # connections adding accounts at once


@dataclass
class AdOu:
    dn: str
    accounts: list[list[str]]  # [sAMAccountName, DN, password]


@dataclass
class AdOus:
    """OU number n (``get``) made or reused; ``close`` keeps them when a path was given."""

    facts: SambaFacts
    path: Path | None = None
    saved: dict[int, AdOu] = field(default_factory=dict)
    made: dict[int, Future[AdOu]] = field(default_factory=dict)
    _pool: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(WORKERS))
    _local: threading.local = field(default_factory=threading.local)
    _admins: list[SambaAdmin] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if self.path is not None and self.path.exists():
            data = json.loads(self.path.read_text())
            self.saved = {int(k): AdOu(v["dn"], v["accounts"]) for k, v in data.items()}

    def start(self, count: int, accounts: int) -> None:
        """Reuse or make OUs 0..count-1 (``accounts`` each), in the background."""
        admin = self._admin()
        for n in range(count):
            old = self.saved.get(n)
            if old is not None and len(old.accounts) >= accounts and admin_has(admin, old.dn):
                done: Future[AdOu] = Future()
                done.set_result(AdOu(old.dn, old.accounts[:accounts]))
                self.made[n] = done
            else:
                self.made[n] = self._pool.submit(self._make, n, accounts)

    def get(self, n: int) -> AdOu:
        return self.made[n].result()

    def reused(self) -> int:
        return sum(1 for n, f in self.made.items() if f.done() and n in self.saved
                   and f.result().dn == self.saved[n].dn)  # fmt: skip

    def _admin(self) -> SambaAdmin:
        admin: SambaAdmin | None = getattr(self._local, "admin", None)
        if admin is None:
            admin = SambaAdmin(self.facts)
            self._local.admin = admin
            with self._lock:
                self._admins.append(admin)
        return admin

    def _make(self, n: int, count: int) -> AdOu:
        admin = self._admin()
        old = self.saved.pop(n, None)
        if old is not None:  # too small, or gone: made again
            admin.delete_tree(old.dn)
        ou = AdOu(admin.new_ou(PREFIX), [])
        for i in range(count):
            sam = f"m{n:03d}x{i:04d}{uuid.uuid4().hex[:5]}"
            dn, password = f"CN={sam},{ou.dn}", f"Msp-{uuid.uuid4().hex[:12]}-9a"
            attributes = {
                "sAMAccountName": sam,
                "unicodePwd": f'"{password}"'.encode("utf-16-le"),
                "userAccountControl": "512",
            }
            admin.conn.add(dn, ["user"], attributes)
            ou.accounts.append([sam, dn, password])
        return ou

    def set_password(self, dn: str, password: str) -> None:
        """A kept account's password as the DC now has it (a timed push took it)."""
        for future in self.made.values():
            if future.done() and future.exception() is None:
                for account in future.result().accounts:
                    if account[1] == dn:
                        account[2] = password

    def close(self, *, keep: bool) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        ous = {n: f.result() for n, f in self.made.items() if f.done() and not f.exception()}
        try:
            if keep and self.path is not None:
                data = {**{n: ou for n, ou in self.saved.items()}, **ous}
                text = json.dumps({str(n): {"dn": o.dn, "accounts": o.accounts}
                                   for n, o in sorted(data.items())})  # fmt: skip
                self.path.touch(mode=0o600)
                os.chmod(self.path, 0o600)
                self.path.write_text(text)
            else:
                admin = self._admin()
                for ou in ous.values():
                    admin.delete_tree(ou.dn)
        finally:
            for admin in self._admins:
                admin.close()

    def drop(self) -> int:
        """Delete every kept OU (and the file); returns how many."""
        admin = self._admin()
        try:
            for ou in self.saved.values():
                admin.delete_tree(ou.dn)
        finally:
            admin.close()
        if self.path is not None:
            self.path.unlink(missing_ok=True)
        return len(self.saved)


def admin_has(admin: SambaAdmin, dn: str) -> bool:
    return admin._exists(dn)
