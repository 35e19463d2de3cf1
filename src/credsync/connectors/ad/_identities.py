"""A relay's source users from Active Directory (the connector's ``identities`` capability).

The scope is one LDAP filter per OU (or the base DN), paged: auto-create's
(:func:`credsync.connectors.ad._mapping.scoped_filter`: people, no critical system objects,
enabled only unless asked, nested groups by LDAP_MATCHING_RULE_IN_CHAIN) with each attribute
filter as an equality term (``(department=Sales)``, the value escaped per RFC 4515), which
the DC compares by the attribute's own matching rule (case-insensitive for directory strings,
as Entra Connect's scoping filters are). Each user comes with ``mail`` and ``proxyAddresses``
(the primary SMTP address) and its anchor: base64 of its objectGUID bytes (``objectGUID`` as
AD stores it, little-endian: Connect's default source anchor, what ``onPremisesImmutableId``
holds for a user it synced).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING

from credsync.connectors.ad._mapping import ACCOUNT_ATTRIBUTES, escape_value, scoped_filter
from credsync.connectors.base import AccountScope
from credsync.connectors.identities import Identity, IdentityScope, immutable_id, smtp_addresses

if TYPE_CHECKING:
    from credsync.connectors.ad.connector import ActiveDirectoryConnector

__all__ = ["IDENTITY_ATTRIBUTES", "identity_filter", "iter_identities"]

IDENTITY_ATTRIBUTES = (*ACCOUNT_ATTRIBUTES, "mail", "proxyAddresses")


def identity_filter(scope: IdentityScope, ids: Sequence[str] | None = None) -> str:
    """The LDAP filter of a relay's scope (see the module docstring)."""
    base = scoped_filter(AccountScope((), scope.groups, not scope.enabled_only), ids)
    terms = "".join(f"({name}={escape_value(value)})" for name, value in scope.filters)
    return base if not terms else f"(&{base}{terms})"


async def iter_identities(
    connector: ActiveDirectoryConnector, scope: IdentityScope, ids: Sequence[str] | None = None
) -> AsyncIterator[Identity]:
    """The users ``scope`` selects under the base DN, each once; ``ids``: only these
    objectGUIDs."""
    found = connector._scoped_entries(
        AccountScope(scope.ous), identity_filter(scope, ids), IDENTITY_ATTRIBUTES, "the relay's"
    )
    async for account, values in found:
        mail_values = values.get("mail") or []
        mail = bytes(mail_values[0]).decode("utf-8") if mail_values else None
        proxies = [bytes(v).decode("utf-8") for v in values.get("proxyAddresses") or ()]
        primary, addresses = smtp_addresses(proxies, mail)
        yield Identity(
            account=account, anchor=immutable_id(account.id), mail=primary, addresses=addresses
        )
