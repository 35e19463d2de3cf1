"""A real Samba *standalone* server (a workgroup machine's local SAM) for tests and benchmarks,
and a helper to make accounts on it.

:class:`StandaloneServer` drives ``scripts/samba-standalone`` (the one implementation of
installing, making, starting, resetting and stopping a server; see that script for what the
server has). Each server lives in a directory of its own on a free port of 127.0.0.1 (never
445: the machine's shared Samba AD DC has it), so every test session starts its own and stops
it at the end (smbd, samba-dcerpcd and its helpers, each by pid). One server is one machine
(``FILESRV1``); a test or benchmark that needs several machines starts several servers.

Inside one server every test makes accounts of its own with unique names
(:meth:`StandaloneAdmin.create_user`), so tests need no reset between them;
:meth:`StandaloneServer.reset` puts the passdb back from the snapshot taken at start (every
account made since gone) for a caller that changed the machine itself.

Accounts are imported with ``pdbedit -i smbpasswd:FILE`` (about a hundred in a tenth of a
second) with their "last change" two minutes in the past: Samba keeps PasswordLastSet to the
second, and a test's own reset must be seen as a change. Their Unix side is one of the
accounts the script put in the server's nss_wrapper passwd file at start (the machine's
/etc/passwd is never touched; a line added later may go unseen by a running smbd).

The passwords are TEST-ONLY values from the script, public in this repository. Nothing here is
used by the product at run time.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from credsync.connectors.base import DirectoryConfig
from credsync.testing._scripts import project_script, run_script
from credsync.types import Secret

__all__ = [
    "LocalMachine",
    "LocalUser",
    "StandaloneAdmin",
    "StandaloneFacts",
    "StandaloneServer",
    "StandaloneUnavailable",
    "default_script",
]


class StandaloneUnavailable(RuntimeError):
    """The server could not be had: not installed, or it did not start (the message says
    why)."""


def default_script() -> Path:
    """``scripts/samba-standalone`` of this checkout (or ``$CREDSYNC_SAMBA_STANDALONE_SCRIPT``)."""
    return project_script("samba-standalone", "CREDSYNC_SAMBA_STANDALONE_SCRIPT")


def _run(script: Path, *args: str, stdin: str | None = None, timeout: float = 120) -> str:
    return run_script(
        script, *args, unavailable=StandaloneUnavailable, timeout=timeout, stdin=stdin
    )


@dataclass(frozen=True)
class StandaloneFacts:
    """What ``scripts/samba-standalone env`` prints."""

    url: str
    host: str
    port: int
    machine: str
    workgroup: str
    admin_user: str
    admin_password: str = field(repr=False)
    lockout_threshold: int
    state_dir: Path
    pid: int | None

    def directory_config(self, **changes: Any) -> DirectoryConfig:
        """A :class:`DirectoryConfig` for this machine, bound as its admin; ``changes``
        override any field."""
        values: dict[str, Any] = {
            "kind": "local_accounts",
            "name": self.machine.lower(),
            "url": self.url,
            "bind_username": self.admin_user,
            "bind_password": Secret(self.admin_password),
            "timeout": 10.0,
            "options": {"machine": self.machine},
        }
        values.update(changes)
        return DirectoryConfig(**values)


def _facts(text: str) -> StandaloneFacts:
    data = json.loads(text)
    return StandaloneFacts(
        url=data["url"],
        host=data["host"],
        port=int(data["port"]),
        machine=data["machine"],
        workgroup=data["workgroup"],
        admin_user=data["admin_user"],
        admin_password=data["admin_password"],
        lockout_threshold=int(data["lockout_threshold"]),
        state_dir=Path(data["state_dir"]),
        pid=data["pid"],
    )


class StandaloneServer:
    """One server of this process's own (see the module docstring): :meth:`start` makes it in
    a new temporary directory unless one is given, :meth:`stop` stops it and removes that
    directory. ``guest``: a server that maps bad passwords to its guest account; ``machine``:
    its NetBIOS name (FILESRV1 unless given)."""

    def __init__(
        self,
        directory: Path | None = None,
        *,
        guest: bool = False,
        machine: str | None = None,
        script: Path | None = None,
    ) -> None:
        self.script = script or default_script()
        self.guest = guest
        self.machine = machine
        self._own_directory = directory is None
        self.directory = directory
        self._facts: StandaloneFacts | None = None

    def __repr__(self) -> str:
        return f"StandaloneServer({self.directory!s})"

    def install(self) -> None:
        """Debian's samba and libnss-wrapper (needs root; quick when they are there)."""
        _run(self.script, "install", timeout=900)

    def start(self) -> StandaloneFacts:
        if self.directory is None:
            self.directory = Path(tempfile.mkdtemp(prefix="credsync-smb-"))
        try:
            args = ["start", str(self.directory)] + (["--guest"] if self.guest else [])
            args += ["--machine", self.machine] if self.machine else []
            self._facts = _facts(_run(self.script, *args))
        except StandaloneUnavailable:
            self._remove()
            raise
        return self._facts

    def reset(self) -> StandaloneFacts:
        """Stop, put the passdb back from the start's snapshot, start again."""
        self._facts = _facts(_run(self.script, "reset", str(self._dir())))
        return self._facts

    def stop(self) -> None:
        if self.directory is None:
            return
        try:
            _run(self.script, "stop", str(self.directory))
        finally:
            self._remove()

    def running(self) -> bool:
        try:
            _run(self.script, "status", str(self._dir()), timeout=30)
        except StandaloneUnavailable:
            return False
        return True

    def facts(self) -> StandaloneFacts:
        if self._facts is None:
            self._facts = _facts(_run(self.script, "env", str(self._dir()), timeout=30))
        return self._facts

    def admin(self) -> StandaloneAdmin:
        return StandaloneAdmin(self.facts(), self.script)

    def _dir(self) -> Path:
        if self.directory is None:
            raise StandaloneUnavailable("the server was not started")
        return self.directory

    def _remove(self) -> None:
        if self._own_directory and self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None
        self._facts = None

    def __enter__(self) -> StandaloneFacts:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass(frozen=True)
class LocalUser:
    name: str
    password: str = field(repr=False)
    rid: int
    sid: str  # the machine's SID and the RID: the connector's account id


def _nt_hash(password: str) -> str:
    from impacket.ntlm import compute_nthash

    digest: bytes = compute_nthash(password)
    return digest.hex().upper()


class StandaloneAdmin:
    """Makes and changes accounts on one server with Samba's own tools (``pdbedit``,
    ``smbpasswd``, ``net`` under the server's nss_wrapper files)."""

    def __init__(self, facts: StandaloneFacts, script: Path | None = None) -> None:
        self.facts = facts
        self.script = script or default_script()
        self._domain_sid: str | None = None

    def tool(self, *args: str, stdin: str | None = None) -> str:
        return _run(self.script, "tool", str(self.facts.state_dir), *args, stdin=stdin)

    @property
    def domain_sid(self) -> str:
        if self._domain_sid is None:
            out = self.tool("net", "getlocalsid")
            self._domain_sid = out.strip().rsplit(" ", 1)[-1]
        return self._domain_sid

    def _uids(self, count: int) -> range:
        path = self.facts.state_dir / "next_uid"
        with path.open("r+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            first = int(handle.read().strip())
            handle.seek(0)
            handle.truncate()
            handle.write(str(first + count))
        return range(first, first + count)

    def create_users(
        self, count: int, *, password: str | None = None, age: int = 120
    ) -> list[LocalUser]:
        """``count`` new accounts (``lu20001``...: unique on this server; each with its own
        password unless one is given), their password last set ``age`` seconds ago."""
        uids = self._uids(count)
        names = [f"lu{uid}" for uid in uids]  # the Unix accounts made at start
        passwords = [password or f"Lc-{uuid.uuid4().hex[:12]}-Q7!" for _ in names]
        stamp = f"{int(time.time()) - age:08X}"
        lines = [
            f"{name}:{uid}:{'X' * 32}:{_nt_hash(pw)}:[U          ]:LCT-{stamp}:"
            for name, uid, pw in zip(names, uids, passwords, strict=True)
        ]
        with tempfile.NamedTemporaryFile(
            "w", dir=self.facts.state_dir, suffix=".smbpasswd", delete=False
        ) as handle:
            handle.write("\n".join(lines) + "\n")
        try:
            self.tool("pdbedit", "-i", f"smbpasswd:{handle.name}")
        finally:
            Path(handle.name).unlink()
        rids = self.rids(names)
        return [
            LocalUser(name, pw, rid, f"{self.domain_sid}-{rid}")
            for name, pw, rid in zip(names, passwords, rids, strict=True)
        ]

    def create_user(self, password: str | None = None) -> LocalUser:
        return self.create_users(1, password=password)[0]

    def rids(self, names: Sequence[str]) -> list[int]:
        """The RIDs of the accounts ``names`` (one ``pdbedit -Lv``)."""
        found: dict[str, int] = {}
        name = ""
        for line in self.tool("pdbedit", "-L", "-v").splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "Unix username":
                name = value.strip()
            elif key.strip() == "User SID":
                found[name.casefold()] = int(value.strip().rsplit("-", 1)[1])
        return [found[n.casefold()] for n in names]

    def bad_password_count(self, name: str) -> int:
        """The account's bad password count as Samba keeps it (``pdbedit -v``)."""
        for line in self.tool("pdbedit", "-v", "-u", name).splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "Bad password count":
                return int(value.strip())
        raise StandaloneUnavailable(f"pdbedit shows no bad password count for {name}")

    def reset_password(self, name: str, password: str) -> None:
        self.tool("smbpasswd", "-s", name, stdin=f"{password}\n{password}\n")

    def disable(self, name: str) -> None:
        self.tool("pdbedit", "-u", name, "-c", "[D]")

    def enable(self, name: str) -> None:
        self.tool("pdbedit", "-u", name, "-c", "[]")

    def expire(self, name: str) -> None:
        """ "Must change at next logon" (PasswordLastSet 0)."""
        self.tool("net", "sam", "set", "pwdmustchangenow", name, "yes")

    def delete(self, name: str) -> None:
        self.tool("pdbedit", "-x", "-u", name)

    def fail_logins(self, name: str, count: int) -> None:
        """``count`` real failed SMB logins as ``name`` (each counts as a bad password)."""
        from impacket.smbconnection import SessionError, SMBConnection

        for _ in range(count):
            conn = SMBConnection(self.facts.host, self.facts.host, sess_port=self.facts.port)
            try:
                conn.login(name, "Not-The-Password-" + uuid.uuid4().hex, self.facts.machine)
            except SessionError:
                pass
            finally:
                conn.close()


@dataclass
class LocalMachine:
    """One test's view of a server: its facts and the admin helper."""

    facts: StandaloneFacts
    admin: StandaloneAdmin

    @classmethod
    def of(cls, facts: StandaloneFacts) -> LocalMachine:
        return cls(facts, StandaloneAdmin(facts))

    def config(self, **changes: Any) -> DirectoryConfig:
        return self.facts.directory_config(**changes)
