"""test_connection()'s steps for the LDAP connector (see :mod:`.connector` for what each checks):
tcp and tls (those of every ldap3 connector, see
:class:`~credsync.connectors._ldap3_connector.TransportSteps`), bind, search, password policy,
password change right.

Each step returns (outcome, detail) or raises a ConnectorError, which fails it
(:func:`~credsync.connectors.base.run_test_steps`).
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from ldap3 import MODIFY_DELETE

from credsync.connectors._ldap3_connector import Step, TransportSteps
from credsync.connectors.base import Account, StepOutcome
from credsync.connectors.ldap._mapping import Policy, policy_dn_of
from credsync.errors import DirectoryDenied, PermanentConnectorError

if TYPE_CHECKING:
    from credsync.connectors.ldap.connector import LdapConnector

__all__ = ["Steps"]


class Steps(TransportSteps):
    """The steps, on the connector's own connections (this module is the connector's too, and
    uses its private parts)."""

    def __init__(self, connector: LdapConnector) -> None:
        super().__init__(connector)
        self._connector = connector

    async def _sample(self) -> Account | None:
        """One account in scope (for the steps that look at one), or None."""
        conn = self._connector
        base = conn._base
        entries = await conn._call(
            f"find an account under {base}", self._client.search, base, conn._filter,
            conn._attributes, size_limit=1, not_found=PermanentConnectorError,
        )  # fmt: skip
        found = await conn._accounts(entries[:1])
        return found[0] if found else None

    async def _policy_of(self, account: Account | None) -> Policy | None:
        """The policy that applies to the account (or the default one, for None)."""
        conn = self._connector
        if account is None or not account.dn:
            return await conn._policy(conn._default_policy)
        entry = await conn._call(
            f"read {account.dn}", self._client.read, account.dn, ["pwdPolicySubentry"]
        )
        return await conn._policy(policy_dn_of(entry[1] if entry else {}, conn._default_policy))

    async def bind(self) -> Step:
        await self._connector._call("bind", self._client.bind_admin)
        dse = await self._connector._facts()
        vendor = b" ".join(dse.get("vendorName") or []).decode(errors="replace")
        where = f" ({vendor})" if vendor else ""
        return StepOutcome.OK, f"bound as {self._config.bind_username}{where}"

    async def search(self) -> Step:
        conn = self._connector
        count = 0
        async for page in conn._pages(conn._filter, ["1.1"]):
            count += len(page)
        return StepOutcome.OK, f"{count} accounts {conn._filter} under {conn._base}"

    async def policy(self) -> Step:
        default = self._connector._default_policy
        if not self._connector._has_ppolicy:
            return StepOutcome.WARNING, (
                "the server has no password policy (ppolicy): it keeps no pwdChangedTime, so "
                "a password can only be checked by binding"
            )
        sample = await self._sample()
        if sample is not None and sample.password_stamp is None:
            return StepOutcome.WARNING, (
                f"{sample.dn} has no pwdChangedTime (the policy has no pwdMaxAge and its "
                "password was not changed since, or no policy applies to it)"
            )
        policy = await self._policy_of(sample)
        if policy is None:
            said = (
                f"the policy {default} could not be read"
                if default
                else "the default policy's DN is not set (password_policy_dn)"
            )
            return StepOutcome.WARNING, (
                f"pwdChangedTime is kept, but {said}: expiry by age and the end of "
                "lockouts can't be computed"
            )
        lockout = (
            f"lockout after {policy.max_failure} failures"
            if policy.lockout and policy.max_failure
            else "no lockout"
        )
        return StepOutcome.OK, f"pwdChangedTime is kept; policy {policy.dn}: {lockout}"

    async def change_right(self) -> Step:
        sample = await self._sample()
        target = sample.dn if sample is not None and sample.dn else self._connector._base
        where = target if sample is not None else f"{target} (no account in scope yet)"
        # Delete a userPassword value the entry cannot have: the server checks the right to
        # write userPassword first, then finds no such value. Nothing changes either way.
        value = "credsync-right-check-" + secrets.token_hex(16)
        changes = {"userPassword": [(MODIFY_DELETE, [value])]}
        doing = f"check the right to set passwords of {target}"
        try:
            await self._connector._call(doing, self._client.modify, target, changes)
        except DirectoryDenied as err:
            return StepOutcome.FAILED, f"may not set passwords: {err}"
        except PermanentConnectorError as err:
            if "noSuchAttribute" not in str(err):
                return StepOutcome.WARNING, f"cannot tell: {err}"
        return StepOutcome.OK, (
            f"may set passwords: write access to userPassword of {where}, checked without "
            "changing it"
        )
