"""ldap3's failures turned into credsync's error tree: what every LDAP-speaking kind means alike.

An :class:`ErrorMap` checks the most specific cases first, the kind's own among them (AD's
``data NNN`` bind sub-codes and ``0000052D`` refusals, ppolicy's errors: each kind's
``_errors.py``), and keeps the server's own words (``constraintViolation: Password fails
quality checking policy``) in the message; the caller raises the result ``from`` the ldap3
exception. No message here ever contains a secret: ldap3 puts none in its exception texts
(they carry the server's diagnostic message, a result name or a socket error), and the kinds
add only names, DNs and the server's error names.

=====================================================  ==========================================
ldap3 / ssl                                            credsync
=====================================================  ==========================================
a credsync error (already translated)                  itself
certificate check failed, handshake failed (ssl),      DirectoryTlsError (reason: unknown CA,
StartTLS refused, bad CA file                          name mismatch, expired, ...)
invalidCredentials (bind; ldap3's rebind failure       DirectoryAuthFailed
that names it)
*the kind's own cases*                                 *what the kind says*
insufficientAccessRights, strongerAuthRequired,        DirectoryDenied
confidentialityRequired, inappropriateAuthentication
noSuchObject                                           AccountNotFound (or the ``not_found`` given)
busy, unavailable, time limit, admin limit             TransientConnectorError
any other result                                       PermanentConnectorError
socket refused / reset / timeout, server went away     DirectoryUnreachable
any other ldap3 error, anything else                   PermanentConnectorError
=====================================================  ==========================================
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ldap3.core import exceptions as lx

from credsync.connectors._tls import flat_message, tls_reason
from credsync.errors import (
    AccountNotFound,
    ConnectorError,
    DirectoryAuthFailed,
    DirectoryDenied,
    DirectoryTlsError,
    DirectoryUnreachable,
    PermanentConnectorError,
    TransientConnectorError,
)

__all__ = ["ErrorMap", "OwnCases", "server_words"]

# The kind's own cases: (the exception, the server's words, whether the operation set a
# password) -> (the error class, the words after "where: "), or None when not the kind's.
OwnCases = Callable[[BaseException, str, bool], tuple[type[ConnectorError], str] | None]

_TRANSIENT_RESULTS: tuple[type[Exception], ...] = (
    lx.LDAPBusyResult,
    lx.LDAPUnavailableResult,
    lx.LDAPTimeLimitExceededResult,
    lx.LDAPAdminLimitExceededResult,
)
_DENIED_RESULTS: tuple[type[Exception], ...] = (
    lx.LDAPInsufficientAccessRightsResult,
    lx.LDAPStrongerAuthRequiredResult,
    lx.LDAPConfidentialityRequiredResult,
    lx.LDAPInappropriateAuthenticationResult,
)
_GONE: tuple[type[Exception], ...] = (
    lx.LDAPSocketOpenError,
    lx.LDAPSocketReceiveError,
    lx.LDAPSocketSendError,
    lx.LDAPSessionTerminatedByServerError,
    lx.LDAPSocketCloseError,
    lx.LDAPResponseTimeoutError,
    lx.LDAPCommunicationError,
    OSError,
)


def server_words(exc: BaseException) -> str:
    """The server's result name and diagnostic message (``constraintViolation: Password is in
    history of old passwords``), or the innermost text of any other error."""
    if isinstance(exc, lx.LDAPOperationResult):
        parts = [str(exc.description or ""), str(exc.message or "")]
        return ": ".join(p for p in parts if p) or type(exc).__name__
    return flat_message(exc) or type(exc).__name__


@dataclass(frozen=True)
class ErrorMap:
    """The table above with one kind's own cases in it (see the module docstring)."""

    own: OwnCases

    def translate(
        self,
        exc: BaseException,
        *,
        where: str,
        not_found: type[ConnectorError] = AccountNotFound,
        password_change: bool = False,
    ) -> ConnectorError:
        """The credsync error for ``exc``, which happened while doing ``where`` (e.g. ``"set
        password of uid=x,ou=y"``); ``password_change``: the operation set a password (so that
        the kind may read a constraint violation as its policy refusing it). Call as ``raise
        translate(...) from exc``."""
        if isinstance(exc, ConnectorError):
            return exc
        said = server_words(exc)
        reason = tls_reason(exc)
        if reason is not None:
            return DirectoryTlsError(f"{where}: TLS failed: {reason}")
        if isinstance(exc, lx.LDAPInvalidCredentialsResult) or (
            isinstance(exc, lx.LDAPBindError) and "invalidCredentials" in said
        ):
            return DirectoryAuthFailed(f"{where}: {said}")
        own = self.own(exc, said, password_change)
        if own is not None:
            error, words = own
            return error(f"{where}: {words}")
        if isinstance(exc, _DENIED_RESULTS):
            return DirectoryDenied(f"{where}: {said}")
        if isinstance(exc, lx.LDAPNoSuchObjectResult):
            return not_found(f"{where}: {said}")
        if isinstance(exc, _TRANSIENT_RESULTS):
            return TransientConnectorError(f"{where}: {said}")
        if isinstance(exc, lx.LDAPOperationResult):
            return PermanentConnectorError(f"{where}: {said}")
        if isinstance(exc, _GONE):
            return DirectoryUnreachable(f"{where}: {said}")
        if isinstance(exc, lx.LDAPException):
            return PermanentConnectorError(f"{where}: {said}")
        return PermanentConnectorError(f"{where}: {type(exc).__name__}: {said}")
