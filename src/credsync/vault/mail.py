"""The vault's mail server (SMTP) settings, and sending with them: what onboarding
invitations and password resets go out through.

Settings (one set per vault; admin, audited ``mail.set``): ``host``, ``port`` (default by
``security``: 587 for ``starttls``, 465 for ``tls``, 25 for ``none``), ``security``
(``starttls`` | ``tls`` | ``none``: ``none`` sends in clear, so it is allowed only to the machine
itself (127.0.0.1, ::1, localhost) unless ``allow_plain`` says so explicitly, which is logged
and audited), an optional ``username`` and ``password`` (the password sealed under the master
key, never shown back: :meth:`Mail.show` says only whether there is one), ``from_address``,
``public_url`` (the vault's address as people reach it: the links in the mails start with it),
``ca_pem`` (a CA to trust instead of the system's) and ``invite_days`` (how long an
onboarding link lives, 1 to 90 days, 7 by default).

:meth:`Mail.test` sends a test message (admin, audited ``mail.test``, a failure too).
:meth:`Mail.server` gives the settings with the password unsealed, for the senders.
"""

from __future__ import annotations

import ipaddress
import logging
from email.utils import parseaddr
from typing import Any
from urllib.parse import urlsplit

from typing_extensions import TypedDict

from credsync.errors import InvalidInput, MailError, NotFound
from credsync.storage import Database
from credsync.storage import mail_settings as rows
from credsync.types import Secret
from credsync.vault._time import as_utc, utcnow
from credsync.vault.audit import AuditLog
from credsync.vault.auth import Actor, Permission
from credsync.vault.keyring import KeyRing
from credsync.vault.mail_send import Outgoing, SmtpServer, send_sync
from credsync.vault.models import iso
from credsync.vault.validate import clean_secret, clean_text, is_pem

__all__ = ["SECURITIES", "Mail", "MailSettingsJson", "MailSetup"]

log = logging.getLogger("credsync.mail")

SECURITIES = ("starttls", "tls", "none")
DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}
SEALED_AS = "mail.smtp"  # the name the password is sealed under (KeyEncryptionKey)
_LOCAL = {"localhost", "localhost.localdomain"}


class MailSettingsJson(TypedDict):
    host: str
    port: int
    security: str
    allow_plain: bool
    username: str | None
    has_password: bool
    from_address: str
    public_url: str
    has_ca: bool
    invite_days: int
    updated_at: str
    updated_by: str


class MailSetup(TypedDict, total=False):
    """What ``mail set`` takes (every key optional: what is not given stays, or takes its
    default the first time)."""

    host: str
    port: int
    security: str
    allow_plain: bool
    username: str
    password: Secret
    clear_password: bool
    from_address: str
    public_url: str
    ca_pem: str
    invite_days: int


def _is_local(host: str) -> bool:
    if host.lower() in _LOCAL:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def clean_address(value: str, field: str) -> str:
    text = clean_text(value, field, 320, field=field).strip()
    name, address = parseaddr(text)
    local, _, domain = address.partition("@")
    if not local or "." not in domain or any(c.isspace() for c in address):
        raise InvalidInput(f"{field} must be an e-mail address, not {text!r}", field=field)
    return text if name else address


def _clean_url(value: str) -> str:
    text = value.strip().rstrip("/")
    parts = urlsplit(text)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.query:
        raise InvalidInput(
            f"public_url must be the vault's address, https://HOST[:PORT][/PATH], not {text!r}",
            field="public_url",
        )
    return text


def _clean(given: MailSetup, current: rows.MailSettingsRow | None) -> dict[str, Any]:
    """The settings from what was given over the current ones; each bad value names its
    field."""
    values: dict[str, Any] = dict(current._asdict()) if current else {}
    security = str(given.get("security", values.get("security", "starttls"))).strip().lower()
    if security not in SECURITIES:
        raise InvalidInput(
            f"security must be one of {', '.join(SECURITIES)}, not {security!r}", field="security"
        )
    values["security"] = security
    host = given.get("host", values.get("host"))
    if not host or not str(host).strip():
        raise InvalidInput("the mail server's host is required", field="host")
    values["host"] = clean_text(str(host), "host", 255, field="host").strip()
    if "port" in given:
        port = int(given["port"])
    elif current is not None and "security" not in given:
        port = current.port
    else:
        port = DEFAULT_PORTS[security]
    if not 1 <= port <= 65535:
        raise InvalidInput(f"port must be 1 to 65535, not {port}", field="port")
    values["port"] = port
    values["allow_plain"] = bool(given.get("allow_plain", values.get("allow_plain", False)))
    if security == "none" and not _is_local(values["host"]) and not values["allow_plain"]:
        raise InvalidInput(
            f"security none sends passwords' links in clear: only to this machine "
            f"(127.0.0.1, localhost), not to {values['host']!r}, unless allowed explicitly "
            "(allow_plain)",
            field="security",
        )
    if "username" in given:
        values["username"] = (
            clean_text(given["username"], "username", 255, field="username").strip() or None
        )
    values.setdefault("username", None)
    for key, clean in (("from_address", clean_address), ("public_url", None)):
        raw = given.get(key, values.get(key))
        if not raw:
            raise InvalidInput(f"{key} is required", field=key)
        values[key] = clean(str(raw), key) if clean else _clean_url(str(raw))
    if "ca_pem" in given:
        pem = given["ca_pem"].strip()
        if pem and not (is_pem(pem) and "CERTIFICATE" in pem):
            raise InvalidInput("ca_pem must be a PEM certificate", field="ca_pem")
        values["ca_pem"] = pem + "\n" if pem else None
    values.setdefault("ca_pem", None)
    days = int(given.get("invite_days", values.get("invite_days", 7)))
    if not 1 <= days <= 90:
        raise InvalidInput(f"invite_days must be 1 to 90, not {days}", field="invite_days")
    values["invite_days"] = days
    return values


class Mail:
    def __init__(self, db: Database, audit: AuditLog) -> None:
        self._db = db
        self._audit = audit

    def _row(self) -> rows.MailSettingsRow | None:
        with self._db.read() as conn:
            return rows.get(conn)

    def configured(self) -> bool:
        return self._row() is not None

    def public_url(self) -> str | None:
        row = self._row()
        return row.public_url if row else None

    def invite_days(self) -> int:
        row = self._row()
        return row.invite_days if row else 7

    def show(self, actor: Actor) -> MailSettingsJson:
        actor.require(Permission.ADMIN)
        row = self._row()
        if row is None:
            raise NotFound("no mail server is set up: `credsync mail set` first")
        return _json(row)

    def set(self, actor: Actor, keys: KeyRing, given: MailSetup) -> MailSettingsJson:
        actor.require(Permission.ADMIN)
        current = self._row()
        values = _clean(given, current)
        password = given.get("password")
        if password is not None:
            clean_secret(password, "the mail password", field="password")
            if not values["username"]:
                raise InvalidInput("a password needs a username", field="password")
            values["password_ct"] = keys.kek().wrap_sign_in_secret(SEALED_AS, password.reveal())
        elif given.get("clear_password") or not values["username"]:
            values["password_ct"] = None
        values.setdefault("password_ct", None)
        now = utcnow()
        row = rows.MailSettingsRow(
            **{**values, "name": rows.NAME, "updated_at": now, "updated_by": actor.name}
        )
        if row.security == "none":
            log.warning(
                "mail to %s:%s is sent in clear (security none)%s",
                row.host,
                row.port,
                " to another machine, allowed explicitly" if row.allow_plain else "",
            )
        with self._db.write() as conn:
            rows.put(conn, row)
            shown = _json(row)
            details = {k: v for k, v in shown.items() if k not in ("updated_at", "updated_by")}
            self._audit.append(
                conn, actor, "mail.set", target_type="vault", target_id="mail", details=details
            )
        return shown

    def server(self, keys: KeyRing) -> tuple[SmtpServer, rows.MailSettingsRow]:
        """The server to send through, its password unsealed; NotFound when not set up."""
        row = self._row()
        if row is None:
            raise NotFound("no mail server is set up: an admin sets one with `credsync mail set`")
        password = (
            keys.kek().unwrap_sign_in_secret(SEALED_AS, row.password_ct)
            if row.password_ct is not None
            else None
        )
        server = SmtpServer(row.host, row.port, row.security, row.username, password, row.ca_pem)
        return server, row

    def test(self, actor: Actor, keys: KeyRing, address: str) -> str:
        """Send a test message to ``address``; returns what was done, or raises MailError
        (audited either way)."""
        actor.require(Permission.ADMIN)
        to = clean_address(address, "address")
        server, row = self.server(keys)
        mail = Outgoing(
            row.from_address,
            to,
            "credsync: test message",
            f"This is a test message from the credsync vault at {row.public_url}.\n"
            f"It was sent through {server.name} ({server.security}) at the request of "
            f"{actor.name}.\n",
        )
        error = ""
        try:
            send_sync(server, mail)
        except MailError as exc:
            error = str(exc)
            raise
        finally:
            with self._db.write() as conn:
                self._audit.append(
                    conn,
                    actor,
                    "mail.test",
                    target_type="vault",
                    target_id="mail",
                    details={"to": to, "server": server.name, "ok": not error, "error": error},
                )
        return f"test message sent to {to} through {server.name}"


def _json(row: rows.MailSettingsRow) -> MailSettingsJson:
    return MailSettingsJson(
        host=row.host,
        port=row.port,
        security=row.security,
        allow_plain=bool(row.allow_plain),
        username=row.username,
        has_password=row.password_ct is not None,
        from_address=row.from_address,
        public_url=row.public_url,
        has_ca=row.ca_pem is not None,
        invite_days=row.invite_days,
        updated_at=iso(as_utc(row.updated_at)),
        updated_by=row.updated_by,
    )
