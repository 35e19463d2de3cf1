"""A real OpenLDAP server (slapd) for tests and benchmarks, and a helper to build worlds in it.

:class:`SlapdServer` drives ``scripts/slapd`` (the one implementation of installing, making,
starting and stopping a server; see that script for what the server has). Each server lives in
a directory of its own on two free ports of 127.0.0.1, so every test session starts its own
(~0.5 s) and stops it at the end; nothing is shared between sessions.

Inside one server, every test works in an OU of its own (:meth:`SlapdAdmin.new_ou`, a unique
name) that is deleted afterwards. ppolicy counts failed binds per entry, so a lockout only ever
affects the account whose password was wrong; a test that needs other policy settings points
its user at a policy entry of its own (:meth:`SlapdAdmin.apply_policy`, ``pwdPolicySubentry``).

**Administrative resets and ppolicy** (OpenLDAP 2.5, ``servers/slapd/overlays/ppolicy.c``,
``ppolicy_modify``): who counts as a *password administrator* is decided by the ACLs: an
identity with ``manage`` access to userPassword skips every check (quality, history, minimum
age, safe modify) and, when the policy has ``pwdMustChange``, its change sets ``pwdReset``
(the user must change it). An identity with only ``write`` access - credsync's bind identity
here, ``cn=credsync,ou=services``, on purpose - is checked like the user changing their own
password: quality (``pwdCheckQuality``/``pwdMinLength``: "Password fails quality checking
policy"), history (``pwdInHistory``: "Password is in history of old passwords", and "Password
is not being changed from existing value" for the current one) and ``pwdMinAge``; its change
clears ``pwdReset``. ``pwdSafeModify`` would make it supply the old password, so the test
policies keep it off. Any password change (by anyone) also removes ``pwdAccountLockedTime``,
``pwdFailureTime`` and ``pwdGraceUseTime``: it unlocks the account, even one locked "for good"
(``000001010000Z``). The rootdn bypasses ACLs and counts as password administrator, which is
what this helper binds as.

The passwords are TEST-ONLY values from the script, public in this repository. Nothing here is
used by the product at run time.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from credsync.connectors.base import DirectoryConfig
from credsync.testing._scripts import project_script, run_script
from credsync.testing.slapd_admin import LdapUser, SlapdAdmin
from credsync.types import Secret

__all__ = [
    "LdapOu",
    "LdapUser",
    "SlapdAdmin",
    "SlapdFacts",
    "SlapdServer",
    "SlapdUnavailable",
    "default_script",
]


class SlapdUnavailable(RuntimeError):
    """slapd could not be had: not installed, or it did not start (the message says why)."""


def default_script() -> Path:
    """``scripts/slapd`` of this checkout (or ``$CREDSYNC_SLAPD_SCRIPT``)."""
    return project_script("slapd", "CREDSYNC_SLAPD_SCRIPT")


@dataclass(frozen=True)
class SlapdFacts:
    """What ``scripts/slapd env`` prints."""

    ldap_url: str
    ldaps_url: str
    host: str
    base_dn: str
    root_dn: str
    root_password: str = field(repr=False)
    bind_dn: str
    bind_password: str = field(repr=False)
    policy_dn: str | None
    service_policy_dn: str | None
    ca_file: Path
    state_dir: Path
    plain: bool
    pid: int | None

    @property
    def ldaps_port(self) -> int:
        return urlsplit(self.ldaps_url).port or 636

    def directory_config(self, **changes: Any) -> DirectoryConfig:
        """A :class:`DirectoryConfig` for this server: LDAPS, its CA trusted, bound as
        credsync's identity (not the rootdn), the whole suffix, the default policy named;
        ``changes`` override any field."""
        options = {"password_policy_dn": self.policy_dn} if self.policy_dn else {}
        values: dict[str, Any] = {
            "kind": "ldap",
            "name": "slapd",
            "url": self.ldaps_url,
            "bind_username": self.bind_dn,
            "bind_password": Secret(self.bind_password),
            "base_dn": self.base_dn,
            "ca_file": self.ca_file,
            "timeout": 10.0,
            "options": options,
        }
        values.update(changes)
        return DirectoryConfig(**values)


class SlapdServer:
    """One slapd of this process's own, through ``scripts/slapd``: :meth:`start` makes it (in a
    new temporary directory unless one is given), :meth:`stop` stops it and removes that
    directory. ``plain``: without the ppolicy and syncprov overlays."""

    def __init__(
        self, directory: Path | None = None, *, plain: bool = False, script: Path | None = None
    ) -> None:
        self.script = script or default_script()
        self.plain = plain
        self._own_directory = directory is None
        self.directory = directory
        self._facts: SlapdFacts | None = None

    def __repr__(self) -> str:
        return f"SlapdServer({self.directory!s}, plain={self.plain})"

    def _run(self, *args: str, timeout: float = 120) -> str:
        return run_script(self.script, *args, unavailable=SlapdUnavailable, timeout=timeout)

    def install(self) -> None:
        """Debian's slapd and ldap-utils (needs root; quick when they are there)."""
        self._run("install", timeout=900)

    def start(self) -> SlapdFacts:
        """A new server, started; its facts."""
        if self.directory is None:
            self.directory = Path(tempfile.mkdtemp(prefix="credsync-slapd-"))
        args = ["start", str(self.directory)] + (["--plain"] if self.plain else [])
        try:
            self._facts = _parse_facts(self._run(*args))
        except SlapdUnavailable:
            self._remove()
            raise
        return self._facts

    def reset(self) -> SlapdFacts:
        """Stop, reload the base data (every test OU gone), start again (~0.3 s)."""
        self._facts = _parse_facts(self._run("reset", str(self._dir())))
        return self._facts

    def restart(self) -> SlapdFacts:
        """Stop and start again, keeping the data (what slapd keeps only in memory, such as
        syncprov's session log, is gone)."""
        self._facts = _parse_facts(self._run("restart", str(self._dir())))
        return self._facts

    def stop(self) -> None:
        """Stop the server and remove its directory when this object made it."""
        if self.directory is None:
            return
        try:
            self._run("stop", str(self.directory))
        finally:
            self._remove()

    def running(self) -> bool:
        try:
            self._run("status", str(self._dir()), timeout=30)
        except SlapdUnavailable:
            return False
        return True

    def facts(self) -> SlapdFacts:
        if self._facts is None:
            self._facts = _parse_facts(self._run("env", str(self._dir()), timeout=30))
        return self._facts

    def admin(self) -> SlapdAdmin:
        return SlapdAdmin(self.facts())

    def _dir(self) -> Path:
        if self.directory is None:
            raise SlapdUnavailable("the server was not started")
        return self.directory

    def _remove(self) -> None:
        if self._own_directory and self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None
        self._facts = None

    def __enter__(self) -> SlapdFacts:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _parse_facts(text: str) -> SlapdFacts:
    data = json.loads(text)
    return SlapdFacts(
        ldap_url=data["ldap_url"],
        ldaps_url=data["ldaps_url"],
        host=data["host"],
        base_dn=data["base_dn"],
        root_dn=data["root_dn"],
        root_password=data["root_password"],
        bind_dn=data["bind_dn"],
        bind_password=data["bind_password"],
        policy_dn=data["policy_dn"],
        service_policy_dn=data["service_policy_dn"],
        ca_file=Path(data["ca_file"]),
        state_dir=Path(data["state_dir"]),
        plain=bool(data["plain"]),
        pid=data["pid"],
    )


@dataclass
class LdapOu:
    """One test's corner of a server: a fresh OU, the admin helper, and the server's facts."""

    dn: str
    admin: SlapdAdmin
    facts: SlapdFacts

    @classmethod
    def create(cls, facts: SlapdFacts, prefix: str = "t") -> LdapOu:
        admin = SlapdAdmin(facts)
        return cls(admin.new_ou(prefix), admin, facts)

    def create_user(
        self, name: str | None = None, password: str | None = None, **kw: Any
    ) -> LdapUser:
        return self.admin.create_user(self.dn, name, password, **kw)

    def config(self, **changes: Any) -> DirectoryConfig:
        """A DirectoryConfig scoped to this OU (``changes`` override any field)."""
        return self.facts.directory_config(**{"base_dn": self.dn, **changes})

    def close(self) -> None:
        """Delete the OU and everything in it (users, their policies)."""
        try:
            self.admin.delete_tree(self.dn)
        finally:
            self.admin.close()
