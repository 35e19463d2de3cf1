"""Every impacket failure turned into credsync's error tree, in this one place; the caller
raises the result ``from`` the original. Messages keep the server's own words (the NTSTATUS
name and its description) and never a secret: only names and RIDs are added.

================================================  =============================================
impacket / socket                                 credsync
================================================  =============================================
socket errors, timeouts, NetBIOS (connection)     DirectoryUnreachable
STATUS_LOGON_FAILURE, _ACCOUNT_LOCKED_OUT,        DirectoryAuthFailed (the bind credential was
_ACCOUNT_DISABLED, _PASSWORD_EXPIRED,             refused)
_PASSWORD_MUST_CHANGE, a guest session
STATUS_ACCESS_DENIED (also a PermissionError)     DirectoryDenied
STATUS_PASSWORD_RESTRICTION, _ILL_FORMED_PASSWORD PolicyRejected (complexity, length, history)
STATUS_NO_SUCH_USER, _NONE_MAPPED                 AccountNotFound
STATUS_NO_SUCH_DOMAIN                             PermanentConnectorError naming the machine's
                                                  SAM domains (the ``machine`` setting is wrong)
anything else                                     PermanentConnectorError
================================================  =============================================
"""

from __future__ import annotations

import socket

from impacket import nt_errors
from impacket.dcerpc.v5.rpcrt import DCERPCException
from impacket.nmb import NetBIOSError, NetBIOSTimeout
from impacket.smbconnection import SessionError

from credsync.errors import (
    AccountNotFound,
    ConnectorError,
    DirectoryAuthFailed,
    DirectoryDenied,
    DirectoryUnreachable,
    PermanentConnectorError,
    PolicyRejected,
)

__all__ = ["AUTH_REFUSED", "status_of", "translate"]

AUTH_REFUSED = frozenset(
    {
        "STATUS_LOGON_FAILURE",
        "STATUS_ACCOUNT_LOCKED_OUT",
        "STATUS_ACCOUNT_DISABLED",
        "STATUS_PASSWORD_EXPIRED",
        "STATUS_PASSWORD_MUST_CHANGE",
        "STATUS_ACCOUNT_RESTRICTION",
        "STATUS_INVALID_LOGON_HOURS",
        "STATUS_INVALID_WORKSTATION",
    }
)
_POLICY = frozenset({"STATUS_PASSWORD_RESTRICTION", "STATUS_ILL_FORMED_PASSWORD"})
_MISSING = frozenset({"STATUS_NO_SUCH_USER", "STATUS_NONE_MAPPED"})


def status_of(exc: BaseException) -> tuple[str, str] | None:
    """(NTSTATUS name, its description) of an SMB or DCE/RPC error, None for other errors."""
    code: int | None = None
    if isinstance(exc, SessionError):
        code = exc.getErrorCode()
    elif isinstance(exc, DCERPCException):
        raw = exc.get_error_code()
        code = int(raw) if raw is not None else None
    if code is None:
        return None
    name, words = nt_errors.ERROR_MESSAGES.get(code, (f"0x{code:08x}", ""))
    return name, words


def translate(exc: BaseException, *, where: str) -> ConnectorError:
    """The credsync error for ``exc`` met while doing ``where`` (see the module docstring)."""
    if isinstance(exc, ConnectorError):
        return exc
    status = status_of(exc)
    if status is not None:
        name, words = status
        said = f"{where}: {name}" + (f": {words}" if words else "")
        if name in AUTH_REFUSED:
            return DirectoryAuthFailed(said)
        if name == "STATUS_ACCESS_DENIED":
            return DirectoryDenied(said)
        if name in _POLICY:
            return PolicyRejected(said)
        if name in _MISSING:
            return AccountNotFound(said)
        return PermanentConnectorError(said)
    if isinstance(exc, PermissionError):
        return DirectoryAuthFailed(f"{where}: {exc}")
    if isinstance(exc, NetBIOSTimeout | TimeoutError | socket.timeout):
        return DirectoryUnreachable(f"{where}: timed out")
    if isinstance(exc, NetBIOSError | OSError | EOFError):
        return DirectoryUnreachable(f"{where}: {type(exc).__name__}: {exc}")
    if isinstance(exc, DCERPCException):
        return PermanentConnectorError(f"{where}: {exc}")
    return PermanentConnectorError(f"{where}: {type(exc).__name__}: {exc}")
