"""What a relay reads of a directory's users (a connector's ``identities`` capability).

A relay (:mod:`credsync.vault.relays`) carries passwords from a source directory (Active
Directory) to a target (Entra ID). To pair their users it needs more of each than an
:class:`~credsync.connectors.base.Account`: the anchor (the immutable id), the e-mail
addresses, and, on the target side, whether the user's password may be written at all
(synced by Entra Connect, in a federated domain, holding an admin role). A connector with
:attr:`~credsync.connectors.base.Capability.IDENTITIES` has
``iter_identities(scope, ids=None) -> AsyncIterator[Identity]``: a source kind selects by
the :class:`IdentityScope`, a target kind lists every user (the scope means nothing there)
and has ``set_enabled(account, enabled)`` (a relay mirroring its source's disable state).
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from credsync.connectors.base import Account

__all__ = [
    "Identity",
    "IdentityConnector",
    "IdentityScope",
    "immutable_id",
    "smtp_addresses",
]


@dataclass(frozen=True)
class IdentityScope:
    """Which source users a relay takes: under any of ``ous`` (none: the directory's base),
    members of any of ``groups`` (nested membership included; none: no group condition),
    enabled ones only unless ``enabled_only`` is off, and every ``filters`` pair
    (attribute, value) equal (case-insensitive, as the directory compares)."""

    ous: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    enabled_only: bool = True
    filters: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Identity:
    """A user as a relay sees it. ``anchor``: the immutable id (AD: base64 of the objectGUID
    bytes as AD stores them; Entra: onPremisesImmutableId). ``mail``: the primary SMTP address
    (AD: the ``SMTP:`` proxy address, else ``mail``); ``addresses``: every SMTP address,
    lower-case. Target side: ``synced`` (Entra Connect masters it), ``federated`` (its domain
    signs in elsewhere), ``admin_roles`` (the directory roles it holds)."""

    account: Account
    anchor: str | None = None
    mail: str | None = None
    addresses: tuple[str, ...] = ()
    synced: bool = False
    federated: bool = False
    admin_roles: tuple[str, ...] = ()


@runtime_checkable
class IdentityConnector(Protocol):
    """A connector with the ``identities`` capability (``set_enabled``: target kinds)."""

    def iter_identities(
        self, scope: IdentityScope, ids: Sequence[str] | None = None
    ) -> AsyncIterator[Identity]: ...

    async def set_enabled(self, account: Account, enabled: bool) -> None: ...

    async def close(self) -> None: ...


def immutable_id(object_guid: str) -> str:
    """Entra Connect's source anchor for an AD objectGUID: base64 of its 16 bytes in the
    order AD stores them (little-endian fields), what ``onPremisesImmutableId`` holds."""
    return base64.b64encode(uuid.UUID(object_guid).bytes_le).decode("ascii")


def smtp_addresses(
    proxy_addresses: Iterable[str], mail: str | None
) -> tuple[str | None, tuple[str, ...]]:
    """(the primary SMTP address, every SMTP address lower-case) from proxyAddresses (the
    primary one is prefixed ``SMTP:`` in upper case, the others ``smtp:``) and ``mail`` (the
    primary one when no proxy address is marked primary)."""
    primary: str | None = None
    found: list[str] = []
    for value in proxy_addresses:
        prefix, _, address = value.partition(":")
        if prefix.casefold() != "smtp" or not address:
            continue
        found.append(address.strip().lower())
        if prefix == "SMTP" and primary is None:
            primary = address.strip()
    if primary is None and mail:
        primary = mail.strip()
    if mail:
        found.append(mail.strip().lower())
    return primary, tuple(dict.fromkeys(found))
