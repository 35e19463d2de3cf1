"""The import of people and groups from Active Directory (the connector's ``people``
capability, see :mod:`credsync.connectors.people_source`).

The query language (what ``credsync person import search`` takes for this kind):

* empty: every user / group under the base DN;
* an LDAP filter (`RFC 4515 <https://www.rfc-editor.org/rfc/rfc4515>`_) when the text starts
  with ``(``: ``(department=Sales)``, ``(&(title=Analyst)(mail=*@contoso.com))``. It is ANDed
  with the kind's own object class filter (users: ``objectCategory=person``,
  ``objectClass=user`` and not a computer; groups: ``objectClass=group``) and searched under
  the directory's base DN, as the connector's other reads are. A malformed filter (checked by
  ldap3's parser before anything is sent) or one the DC refuses is ``InvalidInput`` naming
  ``query`` (Samba answers a filter naming an unknown attribute or matching rule with no
  entries, as AD does for most; a refusal of the DC's is ``query``'s too);
* other words (no parentheses): a word prefix search, not ANR (ANR's attribute set is the
  DC's configuration and leaves out userPrincipalName): every word must start the display
  name, one of its words, the sAMAccountName, the userPrincipalName or the mail (groups: the
  display name or the cn, or one of their words, the sAMAccountName or the mail). ``*`` in
  words is a literal asterisk.

Person fields: ``username`` is the userPrincipalName, else ``sAMAccountName@`` the domain's DNS
name (the implicit UPN AD accepts at sign-in; the DNS name is made of the default naming
context's DC= parts); display name, givenName, sn, mail, department, title; usage location
is the ``c`` attribute (ISO 3166-1 alpha-2) upper-cased when it is two letters, else empty;
enabled is userAccountControl's ACCOUNTDISABLE (0x2) clear. Ids are objectGUID as the
connector's accounts have them (:func:`~._mapping.guid_text`).

Groups: the name is displayName, else the cn; groupType with the security bit (0x80000000,
`groupType <https://learn.microsoft.com/en-us/windows/win32/adschema/a-grouptype>`_) is a
security group, any other a distribution group (refused by the import). Members are the
``member`` attribute, read with ranged retrieval (`Searching Using Range Retrieval
<https://learn.microsoft.com/en-us/windows/win32/adsi/searching-using-range-retrieval>`_):
``member;range=0-1499`` (1500: Windows' MaxValRange; the connector option ``member_range``
changes it), and the DC labels what it sent (``member;range=0-1499``, the last
``member;range=N-*``). ldap3 follows the ranges itself (its ``auto_range``, on for our
connections) and hands back every value under ``member``; were it not to, the next range is
asked from where the DC stopped. Samba implements ranged retrieval too (the tests read a group
two values a range). Each member DN is resolved (50 a search,
from the domain root) to a person (a user, not a computer) or a group by its objectClass,
with its objectGUID; contacts, computers and foreign security principals are skipped. A member
outside the base DN is still a member: the import then reports it as outside (reads by id are
under the base DN).

Reads by id: ``(objectGUID=\\xx\\xx...)`` terms (the GUID's bytes escaped, as AD stores
them), 50 ids a search; a text that is no GUID names nothing.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Literal, cast

from ldap3.core import exceptions as lx
from ldap3.operation.search import parse_filter

from credsync.connectors.ad._mapping import (
    UF_ACCOUNTDISABLE,
    USER_FILTER,
    escape_value,
    guid_filter_value,
    guid_text,
)
from credsync.connectors.people_source import (
    DirectoryGroup,
    DirectoryMember,
    DirectoryPerson,
    GroupKind,
)
from credsync.errors import ConnectorError, InvalidInput, PermanentConnectorError

if TYPE_CHECKING:
    from credsync.connectors.ad.connector import ActiveDirectoryConnector

__all__ = ["GROUP_FILTER", "PeopleReads", "group_kind", "query_filter", "to_group", "to_person"]

GROUP_FILTER = "(objectClass=group)"
PERSON_ATTRIBUTES = (
    "objectGUID", "userPrincipalName", "sAMAccountName", "displayName", "givenName", "sn",
    "mail", "department", "title", "c", "userAccountControl",
)  # fmt: skip
GROUP_ATTRIBUTES = (
    "objectGUID", "cn", "displayName", "sAMAccountName", "groupType", "mail", "description",
)  # fmt: skip
GROUP_SECURITY = 0x80000000
BATCH = 50  # ids / DNs a search
MEMBER_RANGE = 1500  # member values asked for at a time (Windows' MaxValRange)
_RANGE = re.compile(r"^member;range=(\d+)-(\d+|\*)$", re.IGNORECASE)
# What the DC answers to a filter it won't evaluate (not a denial, not a transient failure).
_REFUSED = (
    lx.LDAPProtocolErrorResult,
    lx.LDAPInappropriateMatchingResult,
    lx.LDAPUndefinedAttributeTypeResult,
    lx.LDAPInvalidAttributeSyntaxResult,
    lx.LDAPUnwillingToPerformResult,
    lx.LDAPOperationsErrorResult,
    lx.LDAPInvalidFilterError,
)

Raw = dict[str, list[bytes]]
_BAD_ESCAPE = re.compile(r"\\(?![0-9a-fA-F]{2})")


def _words(text: str, groups: bool) -> str:
    named = ("displayName", "cn") if groups else ("displayName",)
    names = (
        ("sAMAccountName", "mail") if groups else ("sAMAccountName", "userPrincipalName", "mail")
    )
    terms = []
    for word in text.split():
        value = escape_value(word)
        alternatives = [f"({n}={value}*)" for n in named] + [f"({n}=* {value}*)" for n in named]
        alternatives += [f"({name}={value}*)" for name in names]
        terms.append("(|" + "".join(alternatives) + ")")
    return "".join(terms)


def query_filter(query: str, groups: bool) -> str:
    """The LDAP filter of a query (the language in the module docstring)."""
    kind = GROUP_FILTER if groups else USER_FILTER
    text = query.strip()
    if not text:
        return kind
    if text.startswith("("):
        try:
            parse_filter(text, None, False, False, None, False)
        except lx.LDAPInvalidFilterError as exc:
            raise InvalidInput(
                f"{text!r} is not an LDAP filter (RFC 4515): {exc}", field="query"
            ) from None
        if _BAD_ESCAPE.search(text):
            raise InvalidInput(
                f"{text!r} is not an LDAP filter (RFC 4515): a backslash in a value is followed "
                "by two hex digits (\\2a for *, \\28 for (, \\5c for \\)",
                field="query",
            )
        return f"(&{kind}{text})"
    if "(" in text or ")" in text:
        raise InvalidInput(
            f"{text!r}: a search is words (no parentheses), or an LDAP filter such as "
            "(department=Sales)",
            field="query",
        )
    return f"(&{kind}{_words(text, groups)})"


def _text(entry: Raw, name: str) -> str:
    values = entry.get(name) or []
    return bytes(values[0]).decode("utf-8", "replace") if values else ""


def dns_domain(naming_context: str) -> str:
    """``DC=corp,DC=contoso,DC=com`` -> ``corp.contoso.com``."""
    parts = [p.strip() for p in naming_context.split(",")]
    return ".".join(p[3:] for p in parts if p[:3].upper() == "DC=")


def to_person(entry: Raw, domain: str) -> DirectoryPerson:
    upn = _text(entry, "userPrincipalName")
    sam = _text(entry, "sAMAccountName")
    country = _text(entry, "c").strip()
    uac = _text(entry, "userAccountControl")
    return DirectoryPerson(
        object_id=guid_text(entry["objectGUID"][0]),
        username=upn or (f"{sam}@{domain}" if sam and domain else sam),
        display_name=_text(entry, "displayName"),
        given_name=_text(entry, "givenName"),
        surname=_text(entry, "sn"),
        email=_text(entry, "mail"),
        usage_location=country.upper() if len(country) == 2 and country.isalpha() else "",
        department=_text(entry, "department"),
        job_title=_text(entry, "title"),
        enabled=not (int(uac or "0") & UF_ACCOUNTDISABLE),
    )


def group_kind(group_type: str) -> GroupKind:
    """groupType's security bit set: a security group; else a distribution group."""
    return "security" if int(group_type or "0") & GROUP_SECURITY else "distribution"


def to_group(entry: Raw) -> DirectoryGroup:
    return DirectoryGroup(
        object_id=guid_text(entry["objectGUID"][0]),
        name=_text(entry, "displayName") or _text(entry, "cn") or _text(entry, "sAMAccountName"),
        type=group_kind(_text(entry, "groupType")),
        email=_text(entry, "mail"),
        description=_text(entry, "description"),
    )


def _guid_terms(ids: Sequence[str]) -> list[str]:
    """The ids that are GUIDs, each once, in order, canonical."""
    found: list[str] = []
    for value in ids:
        try:
            text = str(uuid.UUID(value.strip()))
        except ValueError:
            continue
        if text not in found:
            found.append(text)
    return found


def _member_kind(classes: Sequence[bytes]) -> Literal["person", "group"] | None:
    names = {bytes(c).decode("ascii", "replace").lower() for c in classes}
    if "group" in names:
        return "group"
    if "user" in names and "computer" not in names:
        return "person"
    return None  # a contact, a computer, a foreign security principal...


class PeopleReads:
    """The ``people`` capability of :class:`ActiveDirectoryConnector` (a mixin: the reads live
    here to keep connector.py small)."""

    def _ad(self) -> ActiveDirectoryConnector:
        return cast("ActiveDirectoryConnector", self)

    async def _domain_name(self) -> str:
        ad = self._ad()
        await ad._facts()
        return dns_domain(ad._naming_context or ad._base)

    async def _paged(
        self, search_filter: str, attributes: Sequence[str], where: str, *, query: bool = False
    ) -> AsyncIterator[Raw]:
        """Each entry with an objectGUID the filter finds under the base DN, paged."""
        ad = self._ad()
        await ad._facts()
        cookie: bytes | None = None
        while True:
            try:
                entries, cookie = await ad._call(
                    f"{where} under {ad._base}", ad._client.search_page, ad._base,
                    search_filter, attributes, cookie, ad._page_size,
                    not_found=PermanentConnectorError,
                )  # fmt: skip
            except ConnectorError as err:
                if query and isinstance(err.__cause__, _REFUSED):
                    raise InvalidInput(
                        f"{ad._config.name}: the directory refused the query: {err}",
                        field="query",
                    ) from None
                raise
            for _, values in entries:
                if values.get("objectGUID"):
                    yield values
            if not cookie:
                return

    async def search_people(self, query: str) -> AsyncIterator[DirectoryPerson]:
        search_filter = query_filter(query, groups=False)
        domain = await self._domain_name()
        async for entry in self._paged(
            search_filter, PERSON_ATTRIBUTES, "search users", query=True
        ):
            yield to_person(entry, domain)

    async def search_groups(self, query: str) -> AsyncIterator[DirectoryGroup]:
        search_filter = query_filter(query, groups=True)
        async for entry in self._paged(
            search_filter, GROUP_ATTRIBUTES, "search groups", query=True
        ):
            yield to_group(entry)

    async def _by_ids(self, kind: str, ids: Sequence[str], attributes: Sequence[str]) -> list[Raw]:
        wanted = _guid_terms(ids)
        found: dict[str, Raw] = {}
        for start in range(0, len(wanted), BATCH):
            chunk = wanted[start : start + BATCH]
            terms = "".join(f"(objectGUID={guid_filter_value(i)})" for i in chunk)
            where = f"read {len(chunk)} {'groups' if kind == GROUP_FILTER else 'users'} by id"
            async for entry in self._paged(f"(&{kind}(|{terms}))", attributes, where):
                found[guid_text(entry["objectGUID"][0])] = entry
        return [found[i] for i in wanted if i in found]

    async def read_people(self, ids: Sequence[str]) -> list[DirectoryPerson]:
        entries = await self._by_ids(USER_FILTER, ids, PERSON_ATTRIBUTES)
        domain = await self._domain_name() if entries else ""
        return [to_person(e, domain) for e in entries]

    async def read_groups(self, ids: Sequence[str]) -> list[DirectoryGroup]:
        return [to_group(e) for e in await self._by_ids(GROUP_FILTER, ids, GROUP_ATTRIBUTES)]

    async def _member_dns(self, group_id: str) -> list[str]:
        """The group's ``member`` values, range by range (see the module docstring)."""
        ad = self._ad()
        await ad._facts()
        try:
            term = guid_filter_value(group_id)
        except ValueError:
            return []
        search_filter = f"(&{GROUP_FILTER}(objectGUID={term}))"
        step = int(ad._config.options.get("member_range", str(MEMBER_RANGE)))
        dns: list[str] = []
        start = 0
        while True:
            wanted = f"member;range={start}-{start + step - 1}"
            entries = await ad._call(
                f"read the members of group {group_id} under {ad._base}", ad._client.search,
                ad._base, search_filter, ["objectGUID", wanted], not_found=PermanentConnectorError,
            )  # fmt: skip
            if not entries:
                return dns
            end = "*"  # no member value at all: none (left)
            for name, got in entries[0][1].items():
                if name.lower() == "member":  # a DC that sends them all, without a range
                    return [*dns, *(bytes(v).decode("utf-8") for v in got)]
                matched = _RANGE.match(name)
                if matched:
                    dns.extend(bytes(v).decode("utf-8") for v in got)
                    end = matched.group(2)
            if end == "*":
                return dns
            start = int(end) + 1

    async def iter_members(self, group_id: str) -> AsyncIterator[DirectoryMember]:
        ad = self._ad()
        dns = await self._member_dns(group_id)
        root = ad._naming_context or ad._base
        for start in range(0, len(dns), BATCH):
            chunk = dns[start : start + BATCH]
            terms = "".join(f"(distinguishedName={escape_value(dn)})" for dn in chunk)
            entries = await ad._call(
                f"read {len(chunk)} members of group {group_id}", ad._client.search, root,
                f"(|{terms})", ["objectGUID", "objectClass", "displayName", "cn"],
                not_found=PermanentConnectorError,
            )  # fmt: skip
            by_dn = {dn.lower(): values for dn, values in entries}
            for dn in chunk:
                values = by_dn.get(dn.lower())
                if not values or not values.get("objectGUID"):
                    continue
                kind = _member_kind(values.get("objectClass") or [])
                if kind is None:
                    continue
                name = _text(values, "displayName") or _text(values, "cn")
                yield DirectoryMember(guid_text(values["objectGUID"][0]), kind, name)
