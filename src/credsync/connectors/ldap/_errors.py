"""Every ldap3 failure turned into credsync's error tree, in this one place.

:func:`translate` checks the most specific cases first and keeps the server's own words
(``constraintViolation: Password fails quality checking policy``) in the message; the caller
raises the result ``from`` the ldap3 exception. No message here ever contains a secret: ldap3
puts none in its exception texts (they carry the server's diagnostic message, a result name or
a socket error), and we add only names, DNs and the password policy control's error name.

=====================================================  ==========================================
ldap3 / ssl                                            credsync
=====================================================  ==========================================
certificate check failed, handshake failed (ssl),      DirectoryTlsError (reason: unknown CA,
StartTLS refused, bad CA file                          name mismatch, expired, ...)
socket refused / reset / timeout, server went away     DirectoryUnreachable
busy, unavailable, time limit, admin limit             TransientConnectorError
invalidCredentials (bind)                              DirectoryAuthFailed
constraintViolation while setting a password           PolicyRejected (the server's reason, and
(quality, history, too young: ppolicy)                 the ppolicy control's error name)
insufficientAccessRights, strongerAuthRequired,        DirectoryDenied
confidentialityRequired, inappropriateAuthentication
noSuchObject                                           AccountNotFound (or the ``not_found`` given)
sizeLimitExceeded                                      PermanentConnectorError saying how to raise
                                                       the bind identity's limit
any other result or ldap3 error                        PermanentConnectorError
=====================================================  ==========================================
"""

from __future__ import annotations

from ldap3.core import exceptions as lx

from credsync.connectors._tls import flat_message, tls_reason
from credsync.connectors.ldap._controls import PPOLICY_OID, decode_policy_response
from credsync.errors import (
    AccountNotFound,
    ConnectorError,
    DirectoryAuthFailed,
    DirectoryDenied,
    DirectoryTlsError,
    DirectoryUnreachable,
    PermanentConnectorError,
    PolicyRejected,
    TransientConnectorError,
)

__all__ = ["policy_error_name", "server_words", "translate"]

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
SIZE_LIMIT_HINT = (
    "the server stopped the search at its size limit for the bind identity: raise that "
    "identity's limit (OpenLDAP: olcLimits with size.prtotal=unlimited, or size=unlimited)"
)


def server_words(exc: BaseException) -> str:
    """The server's result name and diagnostic message (``constraintViolation: Password is in
    history of old passwords``), or the innermost text of any other error."""
    if isinstance(exc, lx.LDAPOperationResult):
        parts = [str(exc.description or ""), str(exc.message or "")]
        return ": ".join(p for p in parts if p) or type(exc).__name__
    return flat_message(exc) or type(exc).__name__


def policy_error_name(exc: BaseException) -> str | None:
    """The password policy control's error name that came with a failure (``passwordTooShort``),
    or None (no control, no error, or a value we can't read)."""
    controls = getattr(exc, "response_controls", None) or {}
    raw = controls.get(PPOLICY_OID)
    if not raw:
        return None
    try:
        error = decode_policy_response(raw).error
    except ValueError:
        return None
    return error.words if error is not None else None


def translate(
    exc: BaseException,
    *,
    where: str,
    not_found: type[ConnectorError] = AccountNotFound,
    password_change: bool = False,
) -> ConnectorError:
    """The credsync error for ``exc``, which happened while doing ``where`` (e.g. ``"set
    password of uid=x,ou=y"``); ``password_change``: the operation set a password, so that a
    constraint violation is the policy refusing it. Call as ``raise translate(...) from exc``."""
    if isinstance(exc, ConnectorError):
        return exc
    said = server_words(exc)
    reason = tls_reason(exc)
    if reason is not None:
        return DirectoryTlsError(f"{where}: TLS failed: {reason}")
    if isinstance(exc, lx.LDAPInvalidCredentialsResult):
        return DirectoryAuthFailed(f"{where}: {said}")
    # ldap3's bind failure without a result class
    if isinstance(exc, lx.LDAPBindError) and "invalidCredentials" in said:
        return DirectoryAuthFailed(f"{where}: {said}")
    if password_change and isinstance(exc, lx.LDAPConstraintViolationResult):
        name = policy_error_name(exc)
        return PolicyRejected(f"{where}: {said}" + (f" (ppolicy: {name})" if name else ""))
    if isinstance(exc, _DENIED_RESULTS):
        return DirectoryDenied(f"{where}: {said}")
    if isinstance(exc, lx.LDAPNoSuchObjectResult):
        return not_found(f"{where}: {said}")
    if isinstance(exc, lx.LDAPSizeLimitExceededResult):
        return PermanentConnectorError(f"{where}: {said}: {SIZE_LIMIT_HINT}")
    if isinstance(exc, _TRANSIENT_RESULTS):
        return TransientConnectorError(f"{where}: {said}")
    if isinstance(exc, lx.LDAPOperationResult):
        return PermanentConnectorError(f"{where}: {said}")
    if isinstance(exc, _GONE):
        return DirectoryUnreachable(f"{where}: {said}")
    if isinstance(exc, lx.LDAPException):
        return PermanentConnectorError(f"{where}: {said}")
    return PermanentConnectorError(f"{where}: {type(exc).__name__}: {said}")
