"""Every ldap3 failure turned into credsync's error tree, in this one place: the table all
LDAP-speaking kinds share (:mod:`credsync.connectors._ldap3_errors`) with the password policy
overlay's cases in it.

:func:`translate` keeps the server's own words (``constraintViolation: Password fails quality
checking policy``) in the message; the caller raises the result ``from`` the ldap3 exception.
No message here ever contains a secret: we add only names, DNs and the password policy
control's error name.

=====================================================  ==========================================
LDAP's own cases (after TLS and invalidCredentials)    credsync
=====================================================  ==========================================
constraintViolation while setting a password           PolicyRejected (the server's reason, and
(quality, history, too young: ppolicy)                 the ppolicy control's error name)
sizeLimitExceeded                                      PermanentConnectorError saying how to raise
                                                       the bind identity's limit
the rest: the shared table                             (see ``_ldap3_errors``)
=====================================================  ==========================================
"""

from __future__ import annotations

from ldap3.core import exceptions as lx

from credsync.connectors._ldap3_errors import ErrorMap
from credsync.connectors.ldap._controls import PPOLICY_OID, decode_policy_response
from credsync.errors import ConnectorError, PermanentConnectorError, PolicyRejected

__all__ = ["ERRORS", "SIZE_LIMIT_HINT", "policy_error_name", "translate"]

SIZE_LIMIT_HINT = (
    "the server stopped the search at its size limit for the bind identity: raise that "
    "identity's limit (OpenLDAP: olcLimits with size.prtotal=unlimited, or size=unlimited)"
)


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


def _own(
    exc: BaseException, said: str, password_change: bool
) -> tuple[type[ConnectorError], str] | None:
    """LDAP's cases (see the module docstring)."""
    if password_change and isinstance(exc, lx.LDAPConstraintViolationResult):
        name = policy_error_name(exc)
        return PolicyRejected, said + (f" (ppolicy: {name})" if name else "")
    if isinstance(exc, lx.LDAPSizeLimitExceededResult):
        return PermanentConnectorError, f"{said}: {SIZE_LIMIT_HINT}"
    return None


ERRORS = ErrorMap(_own)
translate = ERRORS.translate
