"""test_connection()'s steps for the Active Directory connector (see :mod:`.connector` for
what each checks): tcp and tls (those of every ldap3 connector, see
:class:`~credsync.connectors._ldap3_connector.TransportSteps`), bind, search, and the right to
reset passwords (a best-effort but real reading of the DACL, see :mod:`._acl`).

Each step returns (outcome, detail) or raises a ConnectorError, which fails it
(:func:`~credsync.connectors.base.run_test_steps`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ldap3.protocol.microsoft import security_descriptor_control
from ldap3.utils.conv import escape_filter_chars

from credsync.connectors._ldap3_connector import Step, TransportSteps
from credsync.connectors.ad import _acl
from credsync.connectors.ad._mapping import USER_FILTER
from credsync.connectors.base import StepOutcome
from credsync.errors import DirectoryDenied, PermanentConnectorError

if TYPE_CHECKING:
    from credsync.connectors.ad.connector import ActiveDirectoryConnector

__all__ = ["Steps"]

_PRIVILEGED_RIDS = {"512": "Domain Admins", "519": "Enterprise Admins"}
_PRIVILEGED_SIDS = {"S-1-5-32-544": "Administrators", "S-1-5-32-548": "Account Operators"}


class Steps(TransportSteps):
    """The steps, on the connector's own connections (this module is the connector's too, and
    uses its private parts)."""

    def __init__(self, connector: ActiveDirectoryConnector) -> None:
        super().__init__(connector)
        self._c = connector

    async def bind(self) -> Step:
        await self._c._call("bind", self._client.bind_admin)
        await self._c._facts()
        return StepOutcome.OK, f"bound as {self._config.bind_username}"

    async def search(self) -> Step:
        count = 0
        cookie: bytes | None = None
        while True:
            entries, cookie = await self._c._call(
                f"search users under {self._c._base}", self._client.search_page, self._c._base,
                USER_FILTER, ["1.1"], cookie, self._c._page_size, not_found=PermanentConnectorError,
            )  # fmt: skip
            count += len(entries)
            if not cookie:
                break
        return StepOutcome.OK, f"{count} user accounts under {self._c._base}"

    async def _bind_identity(self) -> tuple[str, list[str]] | None:
        """The bind identity's DN and its SIDs (objectSid + tokenGroups), or None."""
        name = self._config.bind_username
        if "=" in name:
            dn: str | None = name
        else:
            # Filter values escaped as RFC 4515 says (``*()\\`` and NUL; other text as it is).
            if "\\" in name:
                sam = escape_filter_chars(name.split("\\", 1)[1])
                query = f"(sAMAccountName={sam})"
            else:
                upn, sam = escape_filter_chars(name), escape_filter_chars(name.split("@", 1)[0])
                query = f"(|(userPrincipalName={upn})(sAMAccountName={sam}))"
            root = self._c._naming_context or self._c._base
            found = await self._c._call("find the bind identity", self._client.search, root,
                                        f"(&(objectClass=user){query})", ["1.1"])  # fmt: skip
            dn = found[0][0] if len(found) == 1 else None
        if dn is None:
            return None
        entry = await self._c._call(
            "read the bind identity's groups", self._client.read, dn, ["objectSid", "tokenGroups"]
        )
        if entry is None:
            return None
        raw = [*entry[1].get("objectSid", []), *entry[1].get("tokenGroups", [])]
        return dn, [_acl.sid_text(bytes(s)) for s in raw]

    async def reset_right(self) -> Step:
        identity = await self._bind_identity()
        if identity is None:
            return StepOutcome.WARNING, "could not find the bind identity to check its rights"
        dn, sids = identity
        privileged = [name for name in map(_privileged_group, sids) if name]
        sample = await self._c._call(
            "find an account to check", self._client.search, self._c._base,
            f"(&{USER_FILTER}(!(adminCount=1)))", ["1.1"], size_limit=1,
            not_found=PermanentConnectorError,
        )  # fmt: skip
        target, on_container = (sample[0][0], False) if sample else (self._c._base, True)
        try:
            entry = await self._c._call(
                f"read the security descriptor of {target}", self._client.read, target,
                ["nTSecurityDescriptor"], security_descriptor_control(sdflags=0x04),
            )  # fmt: skip
        except DirectoryDenied as err:
            entry, why = None, str(err)
        else:
            why = "no security descriptor returned"
        descriptor = (entry[1].get("nTSecurityDescriptor") or [b""])[0] if entry else b""
        if not descriptor:
            if privileged:
                return StepOutcome.OK, f"{dn} is a member of {', '.join(privileged)}"
            return StepOutcome.WARNING, f"cannot tell: {why}"
        decision = _acl.reset_password_decision(
            _acl.parse_dacl(bytes(descriptor)), sids, on_container=on_container
        )
        where = f"{'accounts under ' if on_container else ''}{target}"
        sid = decision.sid or ""
        holder = f"{_privileged_group(sid)} {sid}" if _privileged_group(sid) else sid
        if decision.allowed:
            return StepOutcome.OK, f"{dn} may reset passwords of {where} (granted to {holder})"
        if decision.allowed is False:
            return StepOutcome.FAILED, f"{dn} is denied Reset Password on {where} ({holder})"
        return StepOutcome.WARNING, f"no ACE grants {dn} Reset Password on {where} (best effort)"


def _privileged_group(sid: str) -> str | None:
    """The name of a group whose members may reset passwords by default, else None."""
    if sid in _PRIVILEGED_SIDS:
        return _PRIVILEGED_SIDS[sid]
    if sid.startswith("S-1-5-21-"):
        return _PRIVILEGED_RIDS.get(sid.rsplit("-", 1)[-1])
    return None
