"""What test_connection() reports about the app's token: its permissions and directory roles,
and the TCP and TLS probes of the authority and Graph hosts.

Application permissions arrive in the token's ``roles``; directory roles given to the app's
service principal in its ``wids`` (role template ids). Reading users needs one of
:data:`READ_PERMISSIONS`; pushing passwords needs User-PasswordProfile.ReadWrite.All *and* a
role that may reset the target: User Administrator, Helpdesk, Password and Authentication
Administrators reset non-admin users (and some lesser admins), Privileged Authentication
Administrator and Global Administrator reset anyone.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

from credsync.connectors.base import StepOutcome
from credsync.connectors.graph._errors import tls_reason

__all__ = [
    "PUSH_PERMISSION",
    "READ_PERMISSIONS",
    "Endpoint",
    "endpoints",
    "permissions_step",
    "probe_tcp",
    "probe_tls",
    "roles_step",
]

READ_PERMISSIONS = (
    "User.Read.All",
    "User.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
)
PUSH_PERMISSION = "User-PasswordProfile.ReadWrite.All"
_ANYONE = "may reset the password of any user, administrators included"
_NON_ADMINS = "may reset passwords of non-admin users (not of other administrators)"
# role template id -> (name, what it may reset, rank: higher resets more)
ROLES: dict[str, tuple[str, str, int]] = {
    "62e90394-69f5-4237-9190-012177145e10": ("Global Administrator", _ANYONE, 3),
    "7be44c8a-adaf-4e2a-84d6-ab2649e08a13": (
        "Privileged Authentication Administrator",
        _ANYONE,
        3,
    ),
    "fe930be7-5e62-47db-91af-98c3a49a38b1": (
        "User Administrator",
        "may reset passwords of non-admin users and of Helpdesk, User and Password Administrators",
        2,
    ),
    "729827e3-9c14-49f7-bb1b-9608f156bbb8": (
        "Helpdesk Administrator",
        "may reset passwords of non-admin users and of Helpdesk and Password Administrators",
        1,
    ),
    "c4e39bd9-1100-46d3-8c65-fb160da0071f": ("Authentication Administrator", _NON_ADMINS, 1),
    "966707d0-3269-4727-9be2-8c3a10f19b9d": (
        "Password Administrator",
        "may reset passwords of non-admin users and of Password Administrators",
        1,
    ),
}
# The default "member" / "guest" user role wids a token may carry: no rights of note.
_DEFAULT_WIDS = {
    "b79fbf4d-3ef9-4689-8143-76b194e85509",  # default user role
    "10dae51f-b6af-4016-8d66-8c2a99b929b3",  # guest user
    "2af84b1e-32c8-42b7-82bc-daa82404023b",  # restricted guest
    "88d8e3e3-8f55-4a1e-953a-9b9898b8876b",  # Directory Readers
}


def permissions_step(roles: Sequence[str]) -> tuple[StepOutcome, str]:
    granted = ", ".join(sorted(roles)) or "none"
    if not any(r in roles for r in READ_PERMISSIONS):
        return StepOutcome.FAILED, (
            f"application permissions granted: {granted}; reading users needs one of "
            f"{', '.join(READ_PERMISSIONS)} (admin consent given)"
        )
    if PUSH_PERMISSION not in roles:
        return StepOutcome.WARNING, (
            f"application permissions granted: {granted}; {PUSH_PERMISSION} is missing: "
            "report mode works, pushing passwords will be denied"
        )
    return StepOutcome.OK, f"application permissions granted: {granted}"


def roles_step(wids: Iterable[str]) -> tuple[StepOutcome, str]:
    known = sorted((ROLES[w] for w in wids if w in ROLES), key=lambda role: role[2], reverse=True)
    others = sorted(w for w in wids if w not in ROLES and w not in _DEFAULT_WIDS)
    extra = f"; other role template ids: {', '.join(others)}" if others else ""
    if not known:
        return StepOutcome.WARNING, (
            "the app holds no directory role that may reset passwords: pushes need User "
            "Administrator (non-admin users) or Privileged Authentication Administrator "
            f"(anyone){extra}"
        )
    parts = [f"{name} ({what})" for name, what, _ in known]
    return StepOutcome.OK, "directory roles: " + "; ".join(parts) + extra


class Endpoint:
    """A host the connector talks to: the authority (tokens) or Graph."""

    __slots__ = ("host", "port", "role")

    def __init__(self, role: str, host: str, port: int) -> None:
        self.role, self.host, self.port = role, host, port

    def __str__(self) -> str:
        return f"{self.role} {self.host}:{self.port}"


def endpoints(authority: str, graph: str) -> list[Endpoint]:
    """The authority's and Graph's host and port (one entry when they are the same)."""
    out: list[Endpoint] = []
    for role, url in (("authority", authority), ("Graph", graph)):
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (80 if parts.scheme == "http" else 443)
        same = next((e for e in out if (e.host, e.port) == (host, port)), None)
        if same is not None:
            same.role = f"{same.role} and {role}"
        else:
            out.append(Endpoint(role, host, port))
    return out


async def probe_tcp(endpoint: Endpoint, limit: float) -> str | None:
    """None when ``endpoint`` accepts a TCP connection, else why not."""
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(endpoint.host, endpoint.port), limit
        )
    except TimeoutError:
        return f"{endpoint}: no answer within {limit:g} s"
    except OSError as exc:
        return f"{endpoint}: {exc.strerror or exc}"
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return None


async def probe_tls(endpoint: Endpoint, context: ssl.SSLContext, limit: float) -> tuple[bool, str]:
    """(True, the certificate's subject and issuer) after a handshake that checks the
    certificate and host name, or (False, why it failed)."""
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(
                endpoint.host, endpoint.port, ssl=context, server_hostname=endpoint.host
            ),
            limit,
        )
    except TimeoutError:
        return False, f"{endpoint}: TLS handshake: no answer within {limit:g} s"
    except (OSError, ssl.SSLError) as exc:
        reason = tls_reason(exc) or str(exc)
        return False, f"{endpoint}: {reason}"
    cert: Any = writer.get_extra_info("peercert") or {}
    writer.close()
    with contextlib.suppress(OSError, ssl.SSLError):
        await writer.wait_closed()
    if not cert:  # not verified: Python shows no details of an unchecked certificate
        return True, f"{endpoint}: handshake done, certificate not checked"
    return True, f"{endpoint}: {_name(cert.get('subject'))} (issued by {_name(cert.get('issuer'))})"


def _name(rdns: Any) -> str:
    """``CN=x,O=y`` from the peercert dict's RDN tuples; ``?`` when empty (unchecked)."""
    try:
        parts = [f"{key}={value}" for rdn in rdns or () for key, value in rdn]
    except (TypeError, ValueError):
        return "?"
    short = {"commonName": "CN", "organizationName": "O", "organizationalUnitName": "OU",
             "countryName": "C"}  # fmt: skip
    out = []
    for part in parts:
        key, _, value = part.partition("=")
        out.append(f"{short.get(key, key)}={value}")
    return ",".join(out) or "?"
