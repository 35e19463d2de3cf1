"""The local-accounts connector: a workgroup machine's own accounts (``MACHINE\\user``: a file
server's Administrator, a NAS, a standalone Hyper-V host, a kiosk) over SMB and SAMR.

Configuration (:class:`~credsync.connectors.base.DirectoryConfig`): ``url``
``smb://HOST[:PORT]`` (445 by default), ``options["machine"]`` the machine's NetBIOS name (its
SAM domain, and the domain of every NTLM login), ``bind_username``/``bind_password`` a local
administrator of that machine (a ``directory_admin`` credential; on Windows the built-in
Administrator, RID 500, or any local admin with LocalAccountTokenFilterPolicy=1), ``timeout``.

Decisions, and why:

* **Transport**: impacket, blocking, in ``asyncio.to_thread``. One administrator's SAMR
  session (``ncacn_np`` on ``\\pipe\\samr``, SMB signed) is kept warm for every read and
  reset and serialised by a lock (:class:`._client.SamrSession`); a password check is a login
  of its own and runs beside it. The session outlives a run while the connector stays open
  (the agent keeps one a directory between its runs): closed cleanly after
  ``IDLE_SECONDS`` idle and by :meth:`close`, opened again when the machine dropped it.
* **Account** (see :mod:`._mapping`): id = the account's SID, username = its SAM name,
  domain = the machine (so ``MACHINE\\user`` links; the SID then keeps the link),
  ``password_stamp`` = PasswordLastSet as the server keeps it.
* **verify_password, lockout-safe**: the account is read first over the admin session
  (PasswordLastSet, BadPasswordCount, the flags, and the machine's lockout threshold, read
  again after a minute: it is policy). A
  disabled or locked account is reported as such without a login (a locked account refuses
  the right password as well). No login is tried when BadPasswordCount is within two of the
  threshold (TransientConnectorError: a login could lock the account out), nor a second time
  after a failed one for the same PasswordLastSet (this connector remembers; the engine
  remembers across runs). Otherwise one NTLMv2 session setup as ``MACHINE\\user`` on a fresh
  SMB connection: success only when the session is not a guest session (a server that maps
  bad passwords to guest "accepts" any password); PASSWORD_MUST_CHANGE/EXPIRED mean the
  password was right.
* **set_password**: an administrator's reset, SamrSetInformationUser2 with the password
  encrypted to the SMB session key: level 31 (AES-256-CBC-HMAC-SHA512, our own NDR:
  :mod:`._ndr`, :mod:`credsync.crypto.samr`) first, level 26 (RC4) when the server does not
  know 31 (then remembered for the session); PasswordExpired = 0 (1 only for ``must_change``).
  Never the change-password calls: Windows 11 24H2 / Server 2025 block those remotely by
  default, and they would need the old password. A refusal comes back as PolicyRejected with
  the server's NTSTATUS and its words. The account is read back for its new stamp. A reset
  does not unlock an account.
* **test_connection** steps: tcp, smb (negotiate: dialect, signing), ntlm (the admin's
  session setup, guest refused), samr (bind, the machine's SAM domain, the lockout policy),
  reset password right (the admin's own account opened for USER_FORCE_PASSWORD_CHANGE: the
  right itself, nothing changed).
* No incremental reads: a run lists the accounts (one enumeration and three calls an
  account); the engine compares stamps, so an unchanged account costs no login. SAMR's
  DomainModifiedCount would be the cheap "nothing changed" signal, but Samba answers its
  clock there (docs/local-accounts.md), so it is not used.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import TypeVar
from urllib.parse import urlsplit

from credsync.connectors.base import (
    Account,
    Capability,
    ChangeSet,
    DirectoryConfig,
    PasswordOptions,
    TestStep,
    VerifyOutcome,
    VerifyResult,
    run_test_steps,
)
from credsync.connectors.local_accounts._client import (
    LEVEL_AES,
    LoginAnswer,
    SamrSession,
    UserState,
    login,
)
from credsync.connectors.local_accounts._errors import status_of, translate
from credsync.connectors.local_accounts._mapping import rid_of, to_account
from credsync.errors import (
    AccountNotFound,
    ConfigError,
    NotSupported,
    PermanentConnectorError,
    TransientConnectorError,
)
from credsync.types import Secret

__all__ = ["LocalAccountsConnector"]

log = logging.getLogger(__name__)
T = TypeVar("T")

_RIGHT = {"STATUS_PASSWORD_MUST_CHANGE", "STATUS_PASSWORD_EXPIRED"}
MARGIN = 2  # no login when BadPasswordCount >= threshold - MARGIN


def _endpoint(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme != "smb" or not parts.hostname:
        raise ConfigError(f"local-accounts url {url!r} must be smb://HOST[:PORT]")
    return parts.hostname, parts.port or 445


def _user_of(bind_username: str, machine: str) -> str:
    """The admin's SAM name from ``MACHINE\\user``, ``.\\user`` or ``user``."""
    domain, sep, name = bind_username.rpartition("\\")
    if sep and domain not in (".", "") and domain.casefold() != machine.casefold():
        raise ConfigError(
            f"the bind credential's username {bind_username!r} names another machine than "
            f"{machine}: local accounts sign in as an account of the machine itself"
        )
    return name if sep else bind_username


class LocalAccountsConnector:
    """One machine's local accounts behind :class:`~credsync.connectors.base.Connector`
    (see the module docstring). ``session`` is the I/O seam (a :class:`SamrSession` by
    default); ``clock`` gives "now" for expiry."""

    kind = "local_accounts"
    capabilities: frozenset[Capability] = frozenset(
        {Capability.VERIFY_BIND, Capability.SET_PASSWORD, Capability.PASSWORD_TIMESTAMP}
    )

    def __init__(
        self,
        config: DirectoryConfig,
        *,
        session: SamrSession | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._config = config
        self.host, self.port = _endpoint(config.url)
        self.machine = (config.options.get("machine") or "").strip().upper()
        if not self.machine:
            raise ConfigError("a local-accounts directory needs its machine (NetBIOS name)")
        self._admin = _user_of(config.bind_username, self.machine)
        self._session = session or SamrSession(
            self.host,
            self.port,
            self.machine,
            self._admin,
            config.bind_password.reveal(),
            config.timeout,
        )
        self._clock = clock
        self._failed: set[tuple[int, str]] = set()  # (RID, PasswordLastSet) of failed logins

    def __repr__(self) -> str:
        return f"LocalAccountsConnector({self.machine} at {self.host}:{self.port})"

    # --- plumbing ---------------------------------------------------------------------------
    async def _call(self, where: str, work: Callable[[], T]) -> T:
        try:
            return await asyncio.to_thread(work)
        except Exception as exc:
            status = status_of(exc)
            if status is not None and status[0] == "STATUS_NO_SUCH_DOMAIN":
                known = ", ".join(d for d in self._session.domains if d.lower() != "builtin")
                raise PermanentConnectorError(
                    f"{where}: the machine's SAM is named {known or 'otherwise'}, not "
                    f"{self.machine}: set the directory's machine to its NetBIOS name"
                ) from exc
            raise translate(exc, where=where) from exc

    async def _sid(self) -> str:
        if not self._session.domain_sid:
            await self._call(f"open the SAM of {self.machine}", self._session.connect)
        return self._session.domain_sid

    def _account(self, state: UserState) -> Account:
        return to_account(
            state, domain_sid=self._session.domain_sid, machine=self.machine, now=self._clock()
        )

    async def _rid(self, account_id: str) -> int:
        rid = rid_of(account_id, await self._sid())
        if rid is None:
            raise AccountNotFound(f"{account_id!r} is not an account SID of {self.machine}")
        return rid

    # --- reading ----------------------------------------------------------------------------
    async def iter_accounts(self) -> AsyncIterator[Account]:
        await self._sid()
        names = await self._call(f"list the accounts of {self.machine}", self._session.names)
        rids = [n.rid for n in names]
        states = await self._call(
            f"read the accounts of {self.machine}", lambda: self._session.users(iter(rids))
        )
        for state in states:
            yield self._account(state)

    async def get_account(self, account_id: str) -> Account:
        rid = await self._rid(account_id)
        state = await self._call(
            f"read account {rid} of {self.machine}", lambda: self._session.user(rid)
        )
        if state is None:
            raise AccountNotFound(f"no account with RID {rid} on {self.machine}")
        return self._account(state)

    async def account_named(self, name: str) -> Account:
        """The account ``name`` (or ``MACHINE\\name``) by its SAM name."""
        plain = name.rpartition("\\")[2]
        await self._sid()
        rid = await self._call(
            f"look up {plain} on {self.machine}", lambda: self._session.lookup(plain)
        )
        if rid is None:
            raise AccountNotFound(f"no account named {plain} on {self.machine}")
        return await self.get_account(f"{self._session.domain_sid}-{rid}")

    # --- passwords --------------------------------------------------------------------------
    async def verify_password(self, account: Account, secret: Secret) -> VerifyResult:
        rid = await self._rid(account.id)
        where = f"check the password of {self.machine}\\{account.username}"
        state = await self._call(where, lambda: self._session.user(rid))
        if state is None:
            raise AccountNotFound(f"{where}: no account with RID {rid}")
        threshold = await self._call(where, self._session.lockout_threshold)
        current = self._account(state)
        if not current.enabled:
            return VerifyResult(
                VerifyOutcome.ACCOUNT_DISABLED,
                f"the account is disabled on {self.machine} (UserAccountControl "
                f"0x{state.uac:x}): no login tried",
            )
        if current.locked_out:
            return VerifyResult(
                VerifyOutcome.LOCKED_OUT,
                f"the account is locked out on {self.machine} (BadPasswordCount "
                f"{state.bad_password_count} of {threshold}): no login tried",
            )
        key = (rid, str(state.password_last_set))
        if key in self._failed:
            raise TransientConnectorError(
                f"{where}: not tried again: a login already failed since PasswordLastSet "
                f"{state.password_last_set}; one failed login per password stamp at most"
            )
        if threshold > 0 and state.bad_password_count >= threshold - MARGIN:
            raise TransientConnectorError(
                f"{where}: not tried: BadPasswordCount {state.bad_password_count} is within "
                f"{MARGIN} of the lockout threshold {threshold}, so a login could lock the "
                "account out; it is tried once the count is reset"
            )
        if not secret.reveal():
            return VerifyResult(VerifyOutcome.WRONG_PASSWORD, "an empty password is never tried")
        answer: LoginAnswer = await self._call(
            where,
            lambda: login(
                self.host, self.port, self.machine, state.name, secret.reveal(),
                self._config.timeout,
            ),
        )  # fmt: skip
        if answer.status is None:
            self._failed.discard(key)
            return VerifyResult(VerifyOutcome.OK)
        said = f"{answer.status}: {answer.detail}" if answer.detail else answer.status
        if answer.status in _RIGHT:
            return VerifyResult(VerifyOutcome.PASSWORD_EXPIRED, said)
        if answer.status == "STATUS_ACCOUNT_DISABLED":
            return VerifyResult(VerifyOutcome.ACCOUNT_DISABLED, said)
        if answer.status == "STATUS_ACCOUNT_LOCKED_OUT":
            return VerifyResult(VerifyOutcome.LOCKED_OUT, said)
        if answer.status in ("STATUS_LOGON_FAILURE", "GUEST_SESSION"):
            self._failed.add(key)
            return VerifyResult(VerifyOutcome.WRONG_PASSWORD, said)
        raise PermanentConnectorError(f"{where}: {said}")

    async def set_password(
        self, account: Account, secret: Secret, options: PasswordOptions
    ) -> Account:
        rid = await self._rid(account.id)
        where = f"set the password of {self.machine}\\{account.username}"
        level, state = await self._call(
            where, lambda: self._session.set_password(rid, secret.reveal(), options.must_change)
        )
        log.debug("%s: level %s (%s)", where, level, "AES" if level == LEVEL_AES else "RC4")
        self._failed = {k for k in self._failed if k[0] != rid}
        return self._account(state)

    async def changes_since(self, cursor: str | None) -> ChangeSet:
        raise NotSupported(
            "local accounts have no incremental reads: a run lists the machine's accounts"
        )

    # --- test_connection --------------------------------------------------------------------
    async def test_connection(self) -> list[TestStep]:
        from credsync.connectors.local_accounts import _steps

        steps = _steps.Steps(self, self._session)
        return await run_test_steps(
            [
                ("tcp", steps.tcp),
                ("smb", steps.smb),
                ("ntlm", steps.ntlm),
                ("samr", steps.samr),
                ("reset password right", steps.reset_right),
            ]
        )

    async def close(self) -> None:
        await asyncio.to_thread(self._session.close)

    async def __aenter__(self) -> LocalAccountsConnector:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # for the steps
    @property
    def admin(self) -> str:
        return self._admin

    @property
    def config(self) -> DirectoryConfig:
        return self._config
