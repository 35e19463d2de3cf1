"""The local-accounts connector's ``test_connection`` steps, each a check that says in the
server's words what failed: tcp, smb (negotiate: dialect and signing), ntlm (the admin's
NTLMv2 session setup; a guest session is a failure), samr (bind to ``\\pipe\\samr``, the
machine's SAM domain, its lockout threshold), reset password right (the admin's own account
opened for USER_FORCE_PASSWORD_CHANGE: the right itself; nothing is changed)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from credsync.connectors.base import StepOutcome
from credsync.connectors.local_accounts._client import SamrSession, login
from credsync.errors import DirectoryAuthFailed, DirectoryUnreachable

if TYPE_CHECKING:
    from credsync.connectors.local_accounts.connector import LocalAccountsConnector

__all__ = ["Steps"]

_DIALECTS = {0x0202: "2.0.2", 0x0210: "2.1", 0x0300: "3.0", 0x0302: "3.0.2", 0x0311: "3.1.1"}

Result = tuple[StepOutcome, str]


class Steps:
    def __init__(self, connector: LocalAccountsConnector, session: SamrSession) -> None:
        self.conn = connector
        self.session = session
        self.timeout = connector.config.timeout

    async def tcp(self) -> Result:
        host, port = self.conn.host, self.conn.port
        try:
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(host, port), timeout=self.timeout
            )
        except (OSError, TimeoutError) as exc:
            raise DirectoryUnreachable(f"TCP {host}:{port}: {exc or 'timed out'}") from exc
        writer.close()
        await writer.wait_closed()
        return StepOutcome.OK, f"{host}:{port} accepts connections"

    async def smb(self) -> Result:
        def negotiate() -> tuple[int, bool]:
            from impacket.smbconnection import SMBConnection

            conn = SMBConnection(
                self.conn.host, self.conn.host, sess_port=self.conn.port,
                timeout=int(max(1, self.timeout)),
            )  # fmt: skip
            try:
                return int(conn.getDialect()), bool(conn.isSigningRequired())
            finally:
                conn.close()

        dialect, signing = await self.conn._call("SMB negotiate", negotiate)
        shown = _DIALECTS.get(dialect, f"0x{dialect:x}")
        if dialect < 0x0202:
            return StepOutcome.WARNING, f"SMB dialect {shown}: SMB1 only; SMB2 or later expected"
        detail = f"SMB {shown}, signing {'required' if signing else 'enabled when offered'}"
        return StepOutcome.OK, detail

    async def ntlm(self) -> Result:
        who = f"{self.conn.machine}\\{self.conn.admin}"
        answer = await self.conn._call(
            f"NTLM sign-in as {who}",
            lambda: login(
                self.conn.host, self.conn.port, self.conn.machine, self.conn.admin,
                self.conn.config.bind_password.reveal(), self.timeout,
            ),
        )  # fmt: skip
        if answer.status is not None:
            raise DirectoryAuthFailed(f"NTLM sign-in as {who}: {answer.status}: {answer.detail}")
        return StepOutcome.OK, f"signed in as {who} (NTLMv2)"

    async def samr(self) -> Result:
        await self.conn._call(f"open the SAM of {self.conn.machine}", self.session.connect)
        threshold = await self.conn._call(
            "read the lockout policy", lambda: self.session.lockout_threshold(max_age=0)
        )
        policy = f"locks out after {threshold} bad passwords" if threshold else "no lockout"
        return StepOutcome.OK, f"SAM {self.conn.machine} ({self.session.domain_sid}); {policy}"

    async def reset_right(self) -> Result:
        admin = self.conn.admin
        account = await self.conn.account_named(admin)
        rid = int(account.id.rsplit("-", 1)[1])
        await self.conn._call(
            f"open {self.conn.machine}\\{admin} to reset its password",
            lambda: self.session.may_reset(rid),
        )
        return StepOutcome.OK, f"{admin} may reset passwords on {self.conn.machine}"
