"""What a command needs, built on first use: settings, database, vault, operator, keys.

Authentication, in this order: ``CREDSYNC_SESSION`` (operator and master key at once),
``CREDSYNC_TOKEN``, ``CREDSYNC_OPERATOR`` + ``CREDSYNC_OPERATOR_PASSWORD``, then a prompt when
a terminal is attached. The master key comes from the session, ``CREDSYNC_PASSPHRASE``, or a
prompt, and only when the command needs a secret.
"""

from __future__ import annotations

import dataclasses
import logging
import logging.handlers
import os
import sys
from typing import TYPE_CHECKING, Any

import click

from credsync.config import Settings
from credsync.errors import (
    AuthenticationFailed,
    CredsyncError,
    InvalidInput,
    MfaRequired,
    PermissionDenied,
    VaultLocked,
)
from credsync.types import Secret

if TYPE_CHECKING:
    from credsync.cli.ports import Ports
    from credsync.cli.remote import Remote
    from credsync.crypto import KeyEncryptionKey
    from credsync.storage import Database
    from credsync.vault import Actor, KeyRing, Vault

__all__ = [
    "MAX_STDIN_BYTES",
    "Runtime",
    "confirm",
    "log_failure",
    "read_secret",
    "read_stdin",
    "record_denial",
    "runtime",
]

log = logging.getLogger("credsync")
_command_name = "credsync"


def runtime(ctx: click.Context) -> Runtime:
    root = ctx.find_root()
    root.ensure_object(dict)
    if "runtime" not in root.obj:
        global _command_name
        _command_name = ctx.command_path
        root.obj["command"] = ctx  # the command whose flags an error's fields are (cli.fields)
        settings = Settings.from_env(home=root.obj.get("home"))
        if root.obj.get("server"):
            settings = dataclasses.replace(settings, server=root.obj["server"])
        root.obj["runtime"] = Runtime(settings)
        root.call_on_close(root.obj["runtime"].close)
    rt = root.obj["runtime"]
    if not isinstance(rt, Runtime):  # pragma: no cover - a wiring mistake
        raise TypeError("ctx.obj['runtime'] is not a Runtime")
    return rt


def interactive() -> bool:
    return sys.stdin.isatty() and sys.stderr.isatty()


MAX_STDIN_BYTES = 64 * 1024  # more than any secret or notes the vault takes


def read_stdin(what: str, field: str) -> str:
    """All of standard input as text (UTF-8, at most :data:`MAX_STDIN_BYTES`); ``field``: the
    input a refusal concerns (its flag names it: ``password`` is ``--password-stdin``)."""
    data = sys.stdin.buffer.read(MAX_STDIN_BYTES + 1)
    if len(data) > MAX_STDIN_BYTES:
        raise InvalidInput(f"the {what} on standard input is too large", field=field)
    return _utf8(data, what, field)


def _utf8(data: bytes, what: str, field: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(
            f"the {what} on standard input is not valid UTF-8", field=field
        ) from None


def read_secret(
    prompt: str,
    *,
    from_stdin: bool = False,
    confirm: bool = False,
    what: str = "password",
    field: str = "password",
) -> Secret:
    """One secret from standard input or from a hidden prompt. On standard input it is one
    line: a line break ends it (one ``\\n`` or ``\\r\\n``, dropped), and anything after
    that is refused, never dropped (at a terminal, the first line typed is the secret)."""
    if from_stdin:
        if sys.stdin.isatty():
            text = _utf8(sys.stdin.buffer.readline(), what, field)
        else:
            text = read_stdin(what, field)
        text = text.removesuffix("\n").removesuffix("\r")
        if "\n" in text or "\r" in text:
            raise InvalidInput(
                f"standard input holds more than one line: the {what} is one line, with "
                "nothing after it",
                field=field,
            )
        if not text:
            raise InvalidInput(f"no {what} on standard input", field=field)
        return Secret(text)
    if not interactive():
        raise InvalidInput(
            f"no terminal to prompt for the {what}: pass it on standard input (--password-stdin)"
        )
    value = click.prompt(prompt, hide_input=True, confirmation_prompt=confirm, err=True)
    return Secret(str(value))


def _ask_code(name: str) -> str:
    return read_secret(f"One-time code for {name}", what="one-time code", field="otp").reveal()


def confirm(statement: str) -> None:
    """Ask before a destructive step; without a terminal, demand ``--yes`` instead of guessing."""
    if not interactive():
        raise InvalidInput(f"{statement} Pass --yes to go ahead (there is no terminal to ask).")
    click.confirm(f"{statement} Continue?", abort=True, err=True)


class _Redactor(logging.Filter):
    """Defence in depth: drop any log record that carries a known secret of this process."""

    def __init__(self, secrets: list[Secret]) -> None:
        super().__init__()
        self._secrets = [s.reveal() for s in secrets if s and len(s) >= 4]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        for secret in self._secrets:
            if secret in message:
                record.msg, record.args = "[a log message was dropped: it held a secret]", ()
        return True


class _PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """Every log file it opens, the first and each one after a rollover, is created 0600.

    Each record is formatted once: the standard handler formats it twice (once to see
    whether it would pass ``maxBytes``, once to write it) and looks at the path twice
    (``exists``, ``isfile``) for every record; with a log line for every request that was
    ~1% of the server's CPU under the federated sign-in's load (bench/README.md). What is
    written and when the file rolls over are as before; whether the path is a regular file
    (only such is rolled over, bpo-45401) is looked at when it is opened."""

    _regular = True

    def _open(self) -> Any:
        fd = os.open(self.baseFilename, os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o600)
        os.close(fd)
        self._regular = os.path.isfile(self.baseFilename)
        return super()._open()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record) + self.terminator
            if self.stream is None:
                self.stream = self._open()
            if self.maxBytes > 0 and self._regular:
                self.stream.seek(0, 2)  # others (the other server processes) append too
                if self.stream.tell() + len(text) >= self.maxBytes:
                    self.doRollover()
                    if self.stream is None:
                        self.stream = self._open()
            self.stream.write(text)
            self.flush()
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)


def setup_logging(settings: Settings) -> None:
    """Log to ``$CREDSYNC_HOME/logs/credsync.log`` (0600, rotated at 10 MiB), or with
    ``settings.log_format`` ``json`` as JSON lines on stderr (:mod:`credsync.logcontext`:
    the journal under systemd, a container's log)."""
    for old in list(log.handlers):
        log.removeHandler(old)
        old.close()
    log.setLevel(settings.log_level)
    handler: logging.Handler
    if settings.log_format == "json":
        from credsync.logcontext import JsonFormatter

        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
    else:
        try:
            # mkdir(parents=True) creates missing parents with default permissions, not
            # ``mode``: create the data directory itself first, so that it is 0700 too.
            settings.home.mkdir(parents=True, exist_ok=True, mode=0o700)
            settings.log_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            path = settings.log_dir / "credsync.log"
            handler = _PrivateRotatingFileHandler(
                path, maxBytes=10 * 1024 * 1024, backupCount=5, encoding="utf-8"
            )
        except OSError:
            handler = logging.NullHandler()
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s pid=%(process)d %(name)s: %(message)s")
        )
    handler.addFilter(
        _Redactor(
            [
                s
                for s in (
                    settings.passphrase,
                    settings.operator_password,
                    settings.token,
                    settings.session,
                    settings.admin_password,
                    settings.new_passphrase,
                    settings.operator_otp,
                )
                if s is not None
            ]
        )
    )
    log.addHandler(handler)
    log.propagate = False


def log_failure(err: CredsyncError) -> None:
    if log.handlers:
        log.warning("%s failed: %s: %s", _command_name, type(err).__name__, err)


# The kind of record a command's first argument names, by the argument's name (else the kind
# its command group is about: ``operator passwd NAME`` names an operator).
_ARGUMENT_KINDS = {
    "client": "client",
    "cred_id": "credential",
    "flag_id": "flag",
    "run_id": "run",
    "token_id": "token",
    "role": "role",
    "path": "folder",
}
_GROUP_KINDS = {"cred": "credential"}
# Commands whose records are no kind of their group's (as the API's path names them).
_COMMAND_KINDS = {
    "operator microsoft setup": "sign-in",
    "operator microsoft show": "sign-in",
    "operator microsoft list": "sign-in",
}


def record_denial(shared: dict[str, Any], err: PermissionDenied) -> None:
    """Audit a refusal of the command that ran (``shared``: the root context's obj), as the
    server does for the API's (see :meth:`Runtime.record_denial`)."""
    rt, ctx = shared.get("runtime"), shared.get("command")
    if isinstance(rt, Runtime) and isinstance(ctx, click.Context):
        rt.record_denial(err, ctx)


class Runtime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._db: Database | None = None
        self._vault: Vault | None = None
        self._actor: Actor | None = None
        self._keys: KeyRing | None = None
        self._session_kek: KeyEncryptionKey | None = None
        self._remote: Remote | None = None
        self._ports: Ports | None = None
        # A password sign-in that is only to set up MFA (``operator mfa enroll``/``confirm``):
        # allowed to an operator who must use MFA and has not set it up.
        self.mfa_enrolling = False
        setup_logging(settings)

    def use_log_format(self, log_format: str | None) -> None:
        """Log as ``log_format`` (``serve``/``agent --log-format``; None: as the settings
        say)."""
        if log_format is not None and log_format != self.settings.log_format:
            self.settings = dataclasses.replace(self.settings, log_format=log_format)
            setup_logging(self.settings)

    @property
    def ports(self) -> Ports:
        """What the commands call, one port per area: over this vault's services, or over
        the server's API with ``--server`` (picked once, here)."""
        if self._ports is None:
            from credsync.cli.ports import Ports

            remote = self.remote
            self._ports = Ports(remote=remote) if remote is not None else Ports(local=self)
        return self._ports

    @property
    def remote(self) -> Remote | None:
        """The server this command works against (``--server``), or None for a local vault."""
        if self.settings.server is None:
            return None
        if self._remote is None:
            from credsync.cli.remote import Remote

            self._remote = Remote(
                self.settings.server, self.settings.token, ca_file=self.settings.server_ca
            )
        return self._remote

    def local_only(self) -> None:
        """Refuse to go on when the command works against a server (``--server``)."""
        self._local_only()

    def _local_only(self) -> None:
        if self.settings.server is not None:
            raise InvalidInput(
                f"`{_command_name}` works on a local vault only (it manages the vault or the "
                "server itself): run it without --server/CREDSYNC_SERVER where the vault is"
            )

    @property
    def db(self) -> Database:
        self._local_only()
        if self._db is None:
            from credsync.storage import Database

            self._db = Database(self.settings.database_url)
        return self._db

    @property
    def vault(self) -> Vault:
        if self._vault is None:
            from credsync.vault import Vault

            self._vault = Vault.open(self.db)
        return self._vault

    def set_vault(self, vault: Vault) -> None:
        self._vault = vault

    @property
    def actor(self) -> Actor:
        if self._actor is None:
            self._actor = self._authenticate()
            log.info("%s as operator %s (via %s)", _command_name, self._actor.name, self._actor.via)
        return self._actor

    def _authenticate(self) -> Actor:
        s = self.settings
        access = self.vault.access
        if s.session is not None:
            actor, kek = access.open_session(s.session)
            self._session_kek = kek
            return actor
        if s.token is not None:
            return access.login_token(s.token)
        if s.operator and s.operator_password is not None:
            return self._password_sign_in(s.operator, s.operator_password)
        if interactive():
            name = s.operator or click.prompt("Operator", err=True)
            password = s.operator_password or read_secret(f"Password for {name}")
            return self._password_sign_in(str(name), password)
        raise AuthenticationFailed(
            "not signed in: set CREDSYNC_SESSION (from `credsync unlock`), CREDSYNC_TOKEN, "
            "or CREDSYNC_OPERATOR and CREDSYNC_OPERATOR_PASSWORD"
        )

    def _password_sign_in(self, name: str, password: Secret) -> Actor:
        """A password sign-in, with the second factor's code from ``CREDSYNC_OPERATOR_OTP``
        or, at a terminal, a prompt (not echoed) when the operator has one."""
        otp = self.settings.operator_otp
        try:
            return self.vault.access.login_password(
                name,
                password,
                otp.reveal() if otp is not None else None,
                enrolling=self.mfa_enrolling,
                ask_code=_ask_code if interactive() else None,
            )
        except MfaRequired as err:
            raise MfaRequired(
                f"{err}: set CREDSYNC_OPERATOR_OTP, or run the command at a terminal"
            ) from None

    def passphrase(self, prompt: str = "Master passphrase") -> Secret:
        if self.settings.passphrase is not None:
            return self.settings.passphrase
        if interactive():
            return read_secret(prompt, what="master passphrase")
        raise VaultLocked(
            "the vault is locked: set CREDSYNC_PASSPHRASE, or CREDSYNC_SESSION from "
            "`credsync unlock`"
        )

    @property
    def keys(self) -> KeyRing:
        if self._keys is None:
            from credsync.vault import KeyRing

            _ = self.actor  # authenticate first: a session also carries the key
            if self._session_kek is not None:
                self._keys = KeyRing.of(self._session_kek)
            else:
                vault = self.vault
                self._keys = KeyRing(lambda: vault.unlock(self.passphrase()))
            if self._vault is not None:  # the identity provider's keys unwrap with it
                self._vault.idp_keys.attach(self._keys)
        return self._keys

    def record_denial(self, err: PermissionDenied, ctx: click.Context) -> None:
        """Log and audit a refusal of the command of ``ctx``: ``permission.denied`` with the
        command (``cred show``) and what its first argument names (see
        :mod:`credsync.vault.denials`). Only on a local vault: through a server, the server
        has audited it."""
        if self.settings.server is not None or self._vault is None:
            return
        from credsync.vault.denials import kind_of

        words = ctx.command_path.split()[1:]
        kind = _GROUP_KINDS.get(words[0], kind_of(words[0])) if words else "vault"
        kind = _COMMAND_KINDS.get(" ".join(words), kind)
        target = ""
        argument = next((p for p in ctx.command.params if isinstance(p, click.Argument)), None)
        if argument is not None and argument.name:
            kind = _ARGUMENT_KINDS.get(argument.name, kind)
            value = ctx.params.get(argument.name)
            target = " ".join(value) if isinstance(value, tuple) else str(value or "")
        try:
            self._vault.denials.record(
                err, via="cli", operation=" ".join(words), target_kind=kind, target_id=target
            )
        except CredsyncError as failure:
            log.warning("a refusal was not audited: %s: %s", type(failure).__name__, failure)

    def close(self) -> None:
        if self._remote is not None:
            self._remote.close()
        if self._keys is not None:
            self._keys.forget()
        if self._db is not None:
            self._db.dispose()
