"""Sending one message through the vault's mail server with the standard library's smtplib,
in a worker thread (the event loop never waits on the server).

Security ``starttls`` (the default, port 587) and ``tls`` (port 465) verify the server's
certificate against the system's CAs, or the CA given in the settings, and its name; ``none``
sends in clear (the settings only allow it to the machine itself, or when an admin allowed it
explicitly: see :mod:`credsync.vault.mail`). Every failure is a :class:`MailError` naming the
server and quoting what it said; the password never appears in it.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage

from credsync.errors import MailError
from credsync.types import Secret

__all__ = ["Outgoing", "SmtpServer", "send", "send_sync"]

TIMEOUT = 20.0  # seconds for the connection and each command


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    security: str  # starttls | tls | none
    username: str | None = None
    password: Secret | None = field(default=None, repr=False)
    ca_pem: str | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return f"{self.host}:{self.port}"

    def tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cadata=self.ca_pem) if self.ca_pem else None
        return context or ssl.create_default_context()


@dataclass(frozen=True)
class Outgoing:
    from_address: str
    to: str
    subject: str
    text: str

    def message(self) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self.from_address
        msg["To"] = self.to
        msg["Subject"] = self.subject
        msg.set_content(self.text)
        return msg


def _said(exc: smtplib.SMTPResponseException) -> str:
    text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else ""
    return f"{exc.smtp_code} {text}".strip()


def send_sync(server: SmtpServer, mail: Outgoing) -> None:
    """Send ``mail`` (blocking); MailError on any failure."""
    where = f"mail server {server.name}"
    try:
        smtp: smtplib.SMTP
        if server.security == "tls":
            smtp = smtplib.SMTP_SSL(
                server.host, server.port, timeout=TIMEOUT, context=server.tls_context()
            )
        else:
            smtp = smtplib.SMTP(server.host, server.port, timeout=TIMEOUT)
        with smtp:
            smtp.ehlo()
            if server.security == "starttls":
                if not smtp.has_extn("starttls"):
                    raise MailError(f"{where} does not offer STARTTLS: nothing was sent")
                smtp.starttls(context=server.tls_context())
                smtp.ehlo()
            if server.username:
                smtp.login(server.username, server.password.reveal() if server.password else "")
            smtp.send_message(mail.message())
    except MailError:
        raise
    except smtplib.SMTPAuthenticationError as exc:
        raise MailError(
            f"{where} refused the sign-in of {server.username!r}: {_said(exc)}"
        ) from None
    except smtplib.SMTPRecipientsRefused as exc:
        said = "; ".join(
            f"{code} {text.decode('utf-8', 'replace')}" for code, text in exc.recipients.values()
        )
        raise MailError(f"{where} refused the recipient {mail.to!r}: {said}") from None
    except smtplib.SMTPResponseException as exc:
        raise MailError(f"{where} refused the message: {_said(exc)}") from None
    except ssl.SSLCertVerificationError as exc:
        raise MailError(
            f"{where}: its TLS certificate is not trusted ({exc.verify_message}): give its CA"
        ) from None
    except ssl.SSLError as exc:
        raise MailError(f"{where}: TLS failed ({exc.reason or exc})") from None
    except (TimeoutError, smtplib.SMTPException, OSError) as exc:
        raise MailError(f"{where} could not be reached: {exc}") from None


async def send(server: SmtpServer, mail: Outgoing) -> None:
    """:func:`send_sync` in a worker thread."""
    await asyncio.to_thread(send_sync, server, mail)
