"""Every ldap3 failure turned into credsync's error tree, in this one place.

:func:`translate` checks the most specific cases first and keeps the directory's own words
(``0000052D: Constraint violation - check_password_restrictions: ...``) in the message; the
caller raises the result ``from`` the ldap3 exception. No message here ever contains a secret:
ldap3 puts none in its exception texts (they carry the server's diagnostic message, a result
name or a socket error), and we add only names and DNs.

=====================================================  ==========================================
ldap3 / ssl                                            credsync
=====================================================  ==========================================
certificate check failed, handshake failed (ssl)       DirectoryTlsError (reason: unknown CA,
StartTLS refused, bad CA file                          name mismatch, expired, ...)
socket refused / reset / timeout, server went away     DirectoryUnreachable
busy, unavailable, time limit, admin limit             TransientConnectorError
invalidCredentials (bind)                              DirectoryAuthFailed (with AD's ``data 52e``)
constraintViolation / unwillingToPerform + 0000052D    PolicyRejected (AD's reason verbatim)
insufficientAccessRights, strongerAuthRequired,        DirectoryDenied
confidentialityRequired, inappropriateAuthentication
noSuchObject                                           AccountNotFound (or the ``not_found`` given)
any other result or ldap3 error                        PermanentConnectorError
=====================================================  ==========================================
"""

from __future__ import annotations

import re

from ldap3.core import exceptions as lx

from credsync.connectors._tls import flat_message as _flat
from credsync.connectors._tls import tls_reason
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

__all__ = ["AD_BIND_CODES", "bind_code", "tls_reason", "translate"]

# The "data NNN" sub-codes of AD's invalidCredentials answer (hex), as Samba also sends them.
AD_BIND_CODES = {
    "52e": "wrong password",
    "525": "no such user",
    "530": "not permitted to log on at this time",
    "531": "not permitted to log on from this workstation",
    "532": "password expired",
    "533": "account disabled",
    "701": "account expired",
    "773": "user must change password",
    "775": "account locked out",
}
_DATA = re.compile(r"\bdata ([0-9a-fA-F]{3,8})\b")

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


def bind_code(message: str) -> str | None:
    """AD's ``data NNN`` sub-code of a failed bind (``"52e"``), lower case, or None."""
    found = _DATA.search(message)
    return found.group(1).lower() if found else None


def _message(exc: BaseException) -> str:
    if isinstance(exc, lx.LDAPOperationResult):
        parts = [str(exc.description or ""), str(exc.message or "")]
        return ": ".join(p for p in parts if p) or type(exc).__name__
    return _flat(exc) or type(exc).__name__


def translate(
    exc: BaseException,
    *,
    where: str,
    not_found: type[ConnectorError] = AccountNotFound,
) -> ConnectorError:
    """The credsync error for ``exc``, which happened while doing ``where`` (e.g. ``"set
    password of CN=x,OU=y"``). Call as ``raise translate(exc, where=...) from exc``."""
    if isinstance(exc, ConnectorError):
        return exc
    said = _message(exc)
    reason = tls_reason(exc)
    if reason is not None:
        return DirectoryTlsError(f"{where}: TLS failed: {reason}")
    if isinstance(exc, lx.LDAPInvalidCredentialsResult):
        return DirectoryAuthFailed(f"{where}: {said}")
    if isinstance(exc, lx.LDAPBindError):  # ldap3's rebind failure without a result class
        code = bind_code(said)
        if code is not None or "invalidCredentials" in said:
            return DirectoryAuthFailed(f"{where}: {said}")
    if "0000052D" in said.upper() and isinstance(
        exc, lx.LDAPConstraintViolationResult | lx.LDAPUnwillingToPerformResult
    ):
        return PolicyRejected(f"{where}: {said}")
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
