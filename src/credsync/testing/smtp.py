"""A real SMTP server on 127.0.0.1 for tests and benchmarks (aiosmtpd, a development
dependency: the product never imports this module). It keeps every message it accepts, in
order; optionally it offers STARTTLS with a certificate of a CA made for it (trustme) and
requires it, and optionally it asks for a sign-in (one username and password)."""

from __future__ import annotations

import email
import email.policy
import re
import socket
import ssl
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

__all__ = ["MailTrap", "Received"]


@dataclass(frozen=True)
class Received:
    sender: str
    recipients: tuple[str, ...]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def text(self) -> str:
        body = self.message.get_body(("plain",))
        return str(body.get_content()) if body is not None else ""

    def links(self) -> list[str]:
        return re.findall(r"https?://\S+", self.text)


class _Handler:
    def __init__(self, trap: MailTrap) -> None:
        self._trap = trap

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address.lower() in self._trap.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        if not isinstance(message, EmailMessage):  # pragma: no cover - the policy makes one
            return "451 could not read the message"
        with self._trap._lock:
            self._trap.messages.append(
                Received(envelope.mail_from, tuple(envelope.rcpt_tos), message)
            )
            self._trap._arrived.notify_all()
        return "250 Message accepted"


@dataclass
class MailTrap:
    """Start with :meth:`start`, stop with :meth:`stop`. ``starttls``: offer and require
    STARTTLS (``ca_pem`` is then the CA to trust); ``login``: (username, password) required."""

    starttls: bool = False
    login: tuple[str, str] | None = None
    messages: list[Received] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    ca_pem: str = ""
    port: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _controller: Controller | None = None

    def __post_init__(self) -> None:
        self._arrived = threading.Condition(self._lock)

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            self.login is not None
            and isinstance(data, LoginPassword)
            and (data.login.decode(), data.password.decode()) == self.login
        )
        return AuthResult(success=ok, handled=False)

    def start(self) -> MailTrap:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        kwargs: dict[str, Any] = {}
        if self.starttls:
            ca = trustme.CA()
            cert = ca.issue_cert("127.0.0.1", "localhost")
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            cert.configure_cert(context)
            self.ca_pem = ca.cert_pem.bytes().decode()
            kwargs.update(tls_context=context, require_starttls=True)
        if self.login is not None:
            kwargs.update(
                authenticator=self._authenticate,
                auth_required=True,
                auth_require_tls=self.starttls,
            )
        self._controller = Controller(
            _Handler(self), hostname="127.0.0.1", port=self.port, **kwargs
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """The messages once there are at least ``count`` (AssertionError after ``timeout``)."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self.messages) >= count, timeout):
                raise AssertionError(f"{len(self.messages)} messages arrived, not {count}")
            return list(self.messages)

    def to(self, address: str) -> list[Received]:
        with self._lock:
            return [m for m in self.messages if address.lower() in
                    (r.lower() for r in m.recipients)]  # fmt: skip
