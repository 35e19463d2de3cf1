"""The LDAP connector's ``DirectoryConfig.options``, read and checked (see :mod:`.connector`)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from credsync.connectors.base import DirectoryConfig
from credsync.errors import ConfigError

__all__ = ["DEFAULTS", "LdapOptions"]

DEFAULTS = {
    "user_filter": "(objectClass=inetOrgPerson)",
    "naming_attribute": "uid",
    "password_policy_dn": "",
    "page_size": "500",
}
_ATTRIBUTE = re.compile(r"^[A-Za-z][A-Za-z0-9-]*$")


def _balanced(text: str) -> bool:
    depth = 0
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


@dataclass(frozen=True)
class LdapOptions:
    user_filter: str
    naming_attribute: str
    password_policy_dn: str | None
    page_size: int

    @classmethod
    def of(cls, config: DirectoryConfig) -> LdapOptions:
        """The options of ``config`` (defaults for those not given); ConfigError naming the
        option that is wrong."""

        def get(key: str) -> str:
            return (config.options.get(key) or DEFAULTS[key]).strip()

        user_filter = get("user_filter")
        if not (user_filter.startswith("(") and user_filter.endswith(")")) or not _balanced(
            user_filter
        ):
            raise ConfigError(f"user_filter must be one parenthesised LDAP filter: {user_filter!r}")
        naming = get("naming_attribute")
        if not _ATTRIBUTE.match(naming):
            raise ConfigError(f"naming_attribute must be an attribute name: {naming!r}")
        page_size = get("page_size")
        if not (page_size.isascii() and page_size.isdigit()) or not 1 <= int(page_size) <= 100_000:
            raise ConfigError(f"page_size must be a number from 1 to 100000: {page_size!r}")
        return cls(user_filter, naming, get("password_policy_dn") or None, int(page_size))
