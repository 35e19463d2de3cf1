"""The blocking half of the local-accounts connector: impacket's SMB and SAMR calls.

:class:`SamrSession` is one administrator's SAMR session to one machine (``ncacn_np`` over
SMB, ``\\pipe\\samr``), kept warm between calls (and between runs, for as long as its
connector is kept open: the agent keeps one a directory) and serialised by a lock: the
connector runs its methods in a thread (``asyncio.to_thread``). A call that finds the session
broken (the server restarted, the connection dropped) connects again once. A session left
idle for ``idle_seconds`` (:data:`IDLE_SECONDS`) is closed by a watcher thread of its own,
cleanly: the domain and server handles closed, the pipe closed, the SMB session logged off;
the next call connects again. :func:`login` is a password
check: a fresh SMB connection and an NTLMv2 session setup as the account, nothing else.

Everything that comes out is a plain value (:class:`UserState`, :class:`UserName`); impacket's
exceptions go up as they are, for :mod:`._errors` to translate in the connector.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from impacket.dcerpc.v5 import samr, transport
from impacket.dcerpc.v5.dtypes import NULL
from impacket.dcerpc.v5.rpcrt import DCERPCException
from impacket.smbconnection import SMBConnection

from credsync.connectors.local_accounts import _ndr
from credsync.crypto.samr import aes_password_blob, rc4_password_blob

__all__ = [
    "LEVEL_AES",
    "LEVEL_RC4",
    "LoginAnswer",
    "SamrSession",
    "UserName",
    "UserState",
    "aes_unsupported",
    "filetime",
    "login",
]

T = TypeVar("T")

LEVEL_AES = 31  # UserInternal7Information
LEVEL_RC4 = 26  # UserInternal5InformationNew
NEVER = 0x7FFFFFFFFFFFFFFF
THRESHOLD_MAX_AGE = 60.0  # seconds a lockout threshold read is used for
# Seconds a warm session may stay idle before it is closed: above the agent's default interval
# (60 s, so its runs find the session warm), below Windows' SMB autodisconnect (15 min).
IDLE_SECONDS = 300.0
_STATUS_MORE_ENTRIES = 0x00000105


def filetime(value: Any) -> int:
    """An OLD_LARGE_INTEGER's value (100 ns since 1601)."""
    return (int(value["HighPart"]) << 32) | int(value["LowPart"])


@dataclass(frozen=True)
class UserName:
    rid: int
    name: str


@dataclass(frozen=True)
class UserState:
    """What SAMR's UserAllInformation says of an account."""

    rid: int
    name: str
    full_name: str
    uac: int  # SAMR's USER_* flags
    password_last_set: int  # FILETIME; 0: must change at next logon
    password_must_change: int  # FILETIME; NEVER when the password never expires
    bad_password_count: int


@dataclass(frozen=True)
class LoginAnswer:
    """A session setup's answer: ``status`` is None when it succeeded."""

    status: str | None
    detail: str = ""
    guest: bool = False


def login(
    host: str, port: int, machine: str, username: str, password: str, timeout: float
) -> LoginAnswer:
    """One NTLMv2 session setup as ``machine\\username`` on a connection of its own."""
    from impacket.smbconnection import SessionError

    conn = SMBConnection(host, host, sess_port=port, timeout=int(max(1, timeout)))
    try:
        try:
            conn.login(username, password, machine)
        except SessionError as exc:
            name = _status_name(exc.getErrorCode())
            return LoginAnswer(name, exc.getErrorString()[1] if exc.getErrorString() else name)
        if conn.isGuestSession():
            return LoginAnswer(
                "GUEST_SESSION",
                "the server took it as a guest login, not as this account's",
                guest=True,
            )
        return LoginAnswer(None)
    finally:
        with contextlib.suppress(Exception):  # a connection that may be gone already
            conn.close()


def _status_name(code: int) -> str:
    from impacket import nt_errors

    found = nt_errors.ERROR_MESSAGES.get(code)
    return found[0] if found else f"0x{code:08x}"


class SamrSession:
    """One admin's warm SAMR session to one machine (see the module docstring)."""

    def __init__(
        self,
        host: str,
        port: int,
        machine: str,
        username: str,
        password: str,
        timeout: float,
        idle_seconds: float = IDLE_SECONDS,
    ) -> None:
        self.host = host
        self.port = port
        self.machine = machine
        self._username = username
        self._password = password
        self._timeout = timeout
        self._lock = threading.Lock()
        self._dce: Any = None
        self._rpc: Any = None
        self._server: Any = None
        self._domain: Any = None
        self._idle = idle_seconds
        self._used = 0.0  # time.monotonic() of the last call's end
        self._closed: threading.Event | None = None  # set when this connection is closed
        self.connects = 0  # sessions opened (the bench and the tests read it)
        self.domain_sid = ""
        self.domains: tuple[str, ...] = ()
        self._threshold: tuple[int, float] | None = None  # (value, when read)
        self.aes = True  # until the server refuses level 31 once
        self.signing = False
        self.dialect = 0

    def __repr__(self) -> str:
        return f"SamrSession({self.host}:{self.port}, {self.machine}\\{self._username})"

    # --- the session ------------------------------------------------------------------------
    def _connect(self) -> None:
        # impacket leaks its socket when the TCP connect fails: find that out first.
        socket.create_connection((self.host, self.port), timeout=self._timeout).close()
        rpc = transport.DCERPCTransportFactory(rf"ncacn_np:{self.host}[\pipe\samr]")
        rpc.set_dport(self.port)
        rpc.set_connect_timeout(self._timeout)
        # Our own session setup first, so that a guest session is refused before anything else
        # is asked of it (the IPC$ tree connect would fail for it with a mere ACCESS_DENIED).
        smb = SMBConnection(self.host, self.host, sess_port=self.port, timeout=int(self._timeout))
        rpc.set_smb_connection(smb)
        dce = rpc.get_dce_rpc()
        try:
            smb.login(self._username, self._password, self.machine)
            if smb.isGuestSession():
                raise PermissionError(
                    "the server took the bind credential as a guest login (a wrong password "
                    "mapped to guest): it is not the admin account's password"
                )
            dce.connect()
            self.signing = bool(smb.isSigningRequired())
            self.dialect = int(smb.getDialect())
            dce.bind(samr.MSRPC_UUID_SAMR)
            server = samr.hSamrConnect(dce)["ServerHandle"]
            listed = samr.hSamrEnumerateDomainsInSamServer(dce, server)["Buffer"]["Buffer"]
            self.domains = tuple(str(d["Name"]) for d in listed)
            sid = samr.hSamrLookupDomainInSamServer(dce, server, self.machine)["DomainId"]
            self._domain = samr.hSamrOpenDomain(dce, server, domainId=sid)["DomainHandle"]
            self.domain_sid = sid.formatCanonical()
        except BaseException:
            _close_transport(rpc)
            raise
        self._dce, self._rpc, self._server = dce, rpc, server
        self.connects += 1
        self._used = time.monotonic()
        self._closed = closed = threading.Event()
        name = f"samr-idle {self.machine}@{self.host}:{self.port}"
        threading.Thread(target=self._watch, args=(closed,), name=name, daemon=True).start()

    def _watch(self, closed: threading.Event) -> None:
        """Close this connection once it was idle for ``idle_seconds`` (it ends with it)."""
        while not closed.wait(max(0.05, self._used + self._idle - time.monotonic())):
            with self._lock:
                if closed.is_set():
                    return
                if time.monotonic() - self._used >= self._idle:
                    self._drop(clean=True)
                    return

    def _drop(self, *, clean: bool = False) -> None:
        """Forget the connection; ``clean``: the server still answers, so close the SAM's
        handles and the pipe first (a broken one is only closed)."""
        rpc, dce, handles = self._rpc, self._dce, (self._domain, self._server)
        self._rpc = self._dce = self._domain = self._server = None
        if self._closed is not None:
            self._closed.set()
        if clean and dce is not None:
            with contextlib.suppress(Exception):  # best effort: the logoff below ends it all
                for handle in handles:
                    if handle is not None:
                        samr.hSamrCloseHandle(dce, handle)
                dce.disconnect()
        if rpc is not None:
            _close_transport(rpc)

    def call(self, work: Callable[[Any, Any], T]) -> T:
        """``work(dce, domain handle)`` on the warm session (connected first when needed);
        once more on a fresh one when the connection broke under it."""
        with self._lock:
            for attempt in (1, 2):
                fresh = self._dce is None
                if fresh:
                    self._connect()
                try:
                    return work(self._dce, self._domain)
                except (OSError, EOFError) as exc:
                    self._drop()
                    if fresh or attempt == 2:
                        raise
                    del exc
                except Exception as exc:
                    if fresh or not _broken(exc):
                        raise
                    self._drop()
                finally:
                    self._used = time.monotonic()
            raise AssertionError("unreachable")

    def connect(self) -> None:
        self.call(lambda dce, domain: None)

    def close(self) -> None:
        """Close the session cleanly (a later call connects again)."""
        with self._lock:
            self._drop(clean=True)

    @property
    def warm(self) -> bool:
        """Whether a session is open now."""
        return self._dce is not None

    def session_key(self) -> bytes:
        key: bytes = self._rpc.get_smb_connection().getSessionKey()
        return key

    # --- reads ------------------------------------------------------------------------------
    def lockout_threshold(self, max_age: float = THRESHOLD_MAX_AGE) -> int:
        """The machine's lockout threshold (0: no lockout), read again when the value at hand
        is older than ``max_age`` seconds: it is policy, it seldom changes, and a check
        spares the round trip (bench/README.md, local_accounts)."""
        known = self._threshold
        if known is not None and time.monotonic() - known[1] < max_age:
            return known[0]

        def work(dce: Any, domain: Any) -> int:
            info = samr.DOMAIN_INFORMATION_CLASS.DomainLockoutInformation
            answer = samr.hSamrQueryInformationDomain2(dce, domain, info)
            return int(answer["Buffer"]["Lockout"]["LockoutThreshold"])

        value = self.call(work)
        self._threshold = (value, time.monotonic())
        return value

    def names(self) -> list[UserName]:
        def work(dce: Any, domain: Any) -> list[UserName]:
            out: list[UserName] = []
            context = 0
            while True:
                try:
                    answer = samr.hSamrEnumerateUsersInDomain(
                        dce, domain, samr.USER_NORMAL_ACCOUNT, enumerationContext=context
                    )
                except samr.DCERPCSessionError as exc:
                    if exc.get_error_code() != _STATUS_MORE_ENTRIES:
                        raise
                    answer = exc.get_packet()
                for entry in answer["Buffer"]["Buffer"]:
                    out.append(UserName(int(entry["RelativeId"]), str(entry["Name"])))
                if answer["ErrorCode"] != _STATUS_MORE_ENTRIES:
                    return out
                context = answer["EnumerationContext"]

        return self.call(work)

    def lookup(self, name: str) -> int | None:
        """The RID of the account named ``name``, None when there is none."""

        def work(dce: Any, domain: Any) -> int | None:
            try:
                answer = samr.hSamrLookupNamesInDomain(dce, domain, [name])
            except samr.DCERPCSessionError as exc:
                if _status_name(exc.get_error_code()) == "STATUS_NONE_MAPPED":
                    return None
                raise
            return int(answer["RelativeIds"]["Element"][0]["Data"])

        return self.call(work)

    def user(self, rid: int) -> UserState | None:
        """The account with ``rid`` (None when there is none)."""
        return self.call(lambda dce, domain: _read_user(dce, domain, rid))

    def users(self, rids: Iterator[int]) -> list[UserState]:
        """The accounts of ``rids`` still there, read under one hold of the session."""
        wanted = list(rids)

        def work(dce: Any, domain: Any) -> list[UserState]:
            found = (_read_user(dce, domain, rid) for rid in wanted)
            return [state for state in found if state is not None]

        return self.call(work)

    # --- writes -----------------------------------------------------------------------------
    def set_password(self, rid: int, password: str, must_change: bool) -> tuple[int, UserState]:
        """An admin reset of ``rid``'s password: level 31 (AES) first, level 26 (RC4) when the
        server does not know 31; the level used and the account read back after it."""

        def work(dce: Any, domain: Any) -> tuple[int, UserState]:
            handle = _open_user(dce, domain, rid, samr.USER_FORCE_PASSWORD_CHANGE)
            try:
                level = self._reset(dce, handle, password, must_change)
            finally:
                samr.hSamrCloseHandle(dce, handle)
            state = _read_user(dce, domain, rid)
            if state is None:
                raise LookupError(f"RID {rid} is gone")
            return level, state

        return self.call(work)

    def _reset(self, dce: Any, handle: Any, password: str, must_change: bool) -> int:
        key = self.session_key()
        expired = 1 if must_change else 0
        if self.aes:
            try:
                _ndr.set_aes(dce, handle, aes_password_blob(key, password), expired)
                return LEVEL_AES
            except Exception as exc:
                if not aes_unsupported(exc):
                    raise  # a refusal of this password or this caller: as it is, never RC4
                self.aes = False
        request = samr.SamrSetInformationUser2()
        request["UserHandle"] = handle
        request["UserInformationClass"] = samr.USER_INFORMATION_CLASS.UserInternal5InformationNew
        request["Buffer"]["tag"] = samr.USER_INFORMATION_CLASS.UserInternal5InformationNew
        info = request["Buffer"]["Internal5New"]
        info["UserPassword"]["Buffer"] = rc4_password_blob(key, password)
        info["PasswordExpired"] = expired
        dce.request(request)
        return LEVEL_RC4

    def may_reset(self, rid: int) -> None:
        """Raises (ACCESS_DENIED) unless the session may reset ``rid``'s password: the open
        for USER_FORCE_PASSWORD_CHANGE is the right itself; nothing is changed."""

        def work(dce: Any, domain: Any) -> None:
            samr.hSamrCloseHandle(
                dce, _open_user(dce, domain, rid, samr.USER_FORCE_PASSWORD_CHANGE)
            )

        self.call(work)


# The answers of a server that cannot do level 31 itself, whatever the password or the caller
# (MS-SAMR 3.1.5.6.4 SamrSetInformationUser2, Opnum 58, and 3.1.5.6.4.1 "Common Processing",
# https://learn.microsoft.com/openspecs/windows_protocols/ms-samr/c00ca1dd-5a29-4655-bd6f-6e680e154bc9
# ; the NTSTATUS values as MS-ERREF 2.3.1 lists them,
# https://learn.microsoft.com/openspecs/windows_protocols/ms-erref/596a1078-e883-4972-9bbc-49e60bebca55
# ):
# STATUS_INVALID_INFO_CLASS 0xC0000003 (a class it does not know), STATUS_NOT_SUPPORTED
# 0xC00000BB, STATUS_INVALID_PARAMETER 0xC000000D; and the RPC runtime's faults when it cannot
# even unmarshal the union arm (rpc_x_bad_stub_data 0x6F7, nca_s_op_rng_error 0x1C010002).
_NO_AES = {"STATUS_INVALID_INFO_CLASS", "STATUS_NOT_SUPPORTED", "STATUS_INVALID_PARAMETER"}
_NO_AES_FAULTS = ("rpc_x_bad_stub_data", "nca_s_op_rng_error")


def aes_unsupported(exc: BaseException) -> bool:
    """Does ``exc``, raised by the level-31 (AES) reset, say the server cannot do level 31
    (then the session resets at level 26, RC4, from now on)? False for every other refusal:
    STATUS_PASSWORD_RESTRICTION (complexity, length, history), STATUS_ACCESS_DENIED,
    STATUS_WRONG_PASSWORD (a blob it could not open), a lost connection... go up as they are,
    and are never tried again with RC4 (the server's words reach the operator verbatim)."""
    if isinstance(exc, samr.DCERPCSessionError):
        return _status_name(exc.get_error_code()) in _NO_AES
    if isinstance(exc, DCERPCException):
        return any(fault in str(exc) for fault in _NO_AES_FAULTS)
    return False


def _close_transport(rpc: Any) -> None:
    """Close ``rpc``'s SMB connection (and its socket) whatever state it is in."""
    try:
        smb = rpc.get_smb_connection()
    except Exception:
        smb = None
    if smb is None:
        return
    try:
        smb.close()
    except Exception:
        with contextlib.suppress(Exception):  # nothing more to close
            smb.getSMBServer().get_socket().close()


def _broken(exc: Exception) -> bool:
    """Whether ``exc`` says the session itself is gone (not an answer to the call)."""
    text = f"{type(exc).__name__} {exc}".lower()
    return any(
        word in text
        for word in ("connection", "broken pipe", "netbios", "invalid_handle", "pipe_disconnected")
    )


def _open_user(dce: Any, domain: Any, rid: int, access: int) -> Any:
    return samr.hSamrOpenUser(dce, domain, access, rid)["UserHandle"]


def _read_user(dce: Any, domain: Any, rid: int) -> UserState | None:
    try:
        handle = _open_user(
            dce, domain, rid, samr.USER_READ_GENERAL | samr.USER_READ_ACCOUNT | samr.USER_READ_LOGON
        )
    except samr.DCERPCSessionError as exc:
        if _status_name(exc.get_error_code()) == "STATUS_NO_SUCH_USER":
            return None
        raise
    try:
        info = samr.hSamrQueryInformationUser2(
            dce, handle, samr.USER_INFORMATION_CLASS.UserAllInformation
        )["Buffer"]["All"]
    finally:
        samr.hSamrCloseHandle(dce, handle)
    full = info["FullName"]
    return UserState(
        rid=rid,
        name=str(info["UserName"]),
        full_name=str(full) if full not in (NULL, None) else "",
        uac=int(info["UserAccountControl"]),
        password_last_set=filetime(info["PasswordLastSet"]),
        password_must_change=filetime(info["PasswordMustChange"]),
        bad_password_count=int(info["BadPasswordCount"]),
    )
