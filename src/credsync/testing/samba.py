"""A real Samba AD domain controller for tests and demos, and an admin helper to build worlds in it.

:class:`SambaDC` drives ``scripts/samba-dc`` (the one implementation of installing,
provisioning, starting and stopping; see that script for the layout). The DC listens on
Samba's fixed ports on 127.0.0.1, so one machine has one DC and test sessions share it:

* :meth:`SambaDC.acquire` starts it when it is not running and records a lease for this
  process; :meth:`SambaDC.release` drops the lease and stops the DC only when an ``acquire``
  started it and no other live process holds a lease. A DC someone started by hand is never
  stopped or reset by tests.
The admin helper (:class:`SambaAdmin`, :class:`OuWorld`, :class:`TestUser`) lives in
:mod:`credsync.testing.samba_admin` and is re-exported here.

* every test works in its own OU (:meth:`SambaAdmin.new_ou`, a unique name) and deletes it.
* lockout: :meth:`SambaAdmin.lock_out` uses a fine-grained password policy (a PSO) that applies
  to the one user only, so other tests' failed binds never lock their accounts. The domain-wide
  policy (:meth:`SambaAdmin.set_domain_lockout_policy`) exists for tests that need it; it
  affects every session on the DC.
* a restart (:meth:`SambaDC.capture`) takes :meth:`SambaDC.users_lock` exclusively; a test
  using the DC holds it shared (tests/conftest.py), so the restart waits for the tests running
  on the DC (in every process) and they wait for it, rather than fail on a DC that is down.

The administrator password is a TEST-ONLY value from the script, public in this repository.
Nothing here is used by the product at run time.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from credsync.connectors.base import DirectoryConfig
from credsync.testing._scripts import project_script, run_script
from credsync.testing.rwlock import FileRWLock
from credsync.testing.samba_admin import OuWorld, SambaAdmin, TestUser
from credsync.types import Secret

__all__ = [
    "OuWorld",
    "SambaAdmin",
    "SambaDC",
    "SambaFacts",
    "SambaUnavailable",
    "TestUser",
    "default_script",
]


class SambaUnavailable(RuntimeError):
    """Samba could not be installed, provisioned or started (the message says why)."""


def default_script() -> Path:
    """``scripts/samba-dc`` of this checkout (or ``$CREDSYNC_SAMBA_SCRIPT``)."""
    return project_script("samba-dc", "CREDSYNC_SAMBA_SCRIPT")


@dataclass(frozen=True)
class SambaFacts:
    """What ``scripts/samba-dc env`` prints."""

    ldaps_url: str
    ldap_url: str
    host: str
    base_dn: str
    realm: str
    netbios_domain: str
    admin_dn: str
    admin_upn: str
    admin_netbios: str
    admin_password: str = field(repr=False)
    ca_file: Path
    tls_server_name: str
    state_dir: Path
    pid: int | None

    @property
    def smb_conf(self) -> Path:
        """The running copy's smb.conf (what ``samba-tool -s`` needs on the DC)."""
        return self.state_dir / "dc" / "etc" / "smb.conf"

    def directory_config(self, **changes: Any) -> DirectoryConfig:
        """A :class:`DirectoryConfig` for this DC bound as the administrator over LDAPS,
        trusting its CA under its certificate's name; ``changes`` override any field."""
        values: dict[str, Any] = {
            "kind": "active_directory",
            "name": "samba",
            "url": self.ldaps_url,
            "bind_username": self.admin_upn,
            "bind_password": Secret(self.admin_password),
            "base_dn": self.base_dn,
            "ca_file": self.ca_file,
            "tls_server_name": self.tls_server_name,
            "timeout": 10.0,
        }
        values.update(changes)
        return DirectoryConfig(**values)


class SambaDC:
    """The machine's Samba DC, through ``scripts/samba-dc``."""

    def __init__(self, script: Path | None = None) -> None:
        self.script = script or default_script()

    def _run(self, *args: str, timeout: float = 900) -> str:
        return run_script(self.script, *args, unavailable=SambaUnavailable, timeout=timeout)

    def install(self) -> None:
        """Debian packages and the provisioned template (once; later calls are quick)."""
        self._run("install")

    def start(self) -> SambaFacts:
        """Start the DC if it is not answering; a DC started so is left running."""
        self._run("start")
        return self.facts()

    def stop(self) -> None:
        self._run("stop")

    def reset(self) -> SambaFacts:
        """Stop, restore the freshly provisioned state and start (~1 s). Only for a DC you own."""
        self._run("reset")
        return self.facts()

    def running(self) -> bool:
        try:
            self._run("status", timeout=30)
        except SambaUnavailable:
            return False
        return True

    def ensure_running(self) -> SambaFacts:
        return self.start()

    def acquire(self) -> SambaFacts:
        """Use the DC from this process (see the module docstring); pair with :meth:`release`."""
        self._run("acquire", str(os.getpid()))
        return self.facts()

    def release(self) -> None:
        self._run("release", str(os.getpid()))

    def facts(self) -> SambaFacts:
        data = json.loads(self._run("env", timeout=30))
        return SambaFacts(
            ldaps_url=data["ldaps_url"],
            ldap_url=data["ldap_url"],
            host=data["host"],
            base_dn=data["base_dn"],
            realm=data["realm"],
            netbios_domain=data["netbios_domain"],
            admin_dn=data["admin_dn"],
            admin_upn=data["admin_upn"],
            admin_netbios=data["admin_netbios"],
            admin_password=data["admin_password"],
            ca_file=Path(data["ca_file"]),
            tls_server_name=data["tls_server_name"],
            state_dir=Path(data["state_dir"]),
            pid=data["pid"],
        )

    def admin(self) -> SambaAdmin:
        return SambaAdmin(self.facts())

    def users_lock(self) -> FileRWLock:
        """The machine-wide lock of the DC's users: shared while a test uses the DC,
        exclusive for a restart (see the module docstring)."""
        return FileRWLock(self.facts().state_dir / "users.lock")

    def capture(self, public_key: str) -> str:
        """Set up two-way capture on the running DC: Samba encrypts each new password to
        ``public_key`` (an ASCII-armoured OpenPGP public key; a private key is refused). Restarts
        the DC (~2 s) unless it already uses this key; returns the key's fingerprint. Only the
        capture tests call this, once per session: it briefly stops the DC other sessions share,
        so it first waits for :meth:`users_lock` (never call it while holding that lock shared).
        """
        with tempfile.TemporaryDirectory(prefix="credsync-capture-key-") as tmp:
            path = Path(tmp) / "capture.asc"
            path.write_text(public_key, encoding="ascii")
            with self.users_lock().exclusive():  # no test of any process is on the DC now
                lines = self._run("capture", str(path), timeout=120).split()
        if not lines:  # pragma: no cover - the script always prints it
            raise SambaUnavailable("samba-dc capture printed no fingerprint")
        return lines[-1]
