"""Every ldap3 failure turned into credsync's error tree, in this one place: the table all
LDAP-speaking kinds share (:mod:`credsync.connectors._ldap3_errors`) with AD's own cases in it.

:func:`translate` keeps the directory's own words (``0000052D: Constraint violation -
check_password_restrictions: ...``) in the message; the caller raises the result ``from`` the
ldap3 exception. No message here ever contains a secret.

=====================================================  ==========================================
AD's own cases (after TLS and invalidCredentials)      credsync
=====================================================  ==========================================
ldap3's rebind failure with AD's ``data NNN``          DirectoryAuthFailed (``data 52e``...)
constraintViolation / unwillingToPerform + 0000052D    PolicyRejected (AD's reason verbatim)
the rest: the shared table                             (see ``_ldap3_errors``)
=====================================================  ==========================================
"""

from __future__ import annotations

import re

from ldap3.core import exceptions as lx

from credsync.connectors._ldap3_errors import ErrorMap
from credsync.errors import ConnectorError, DirectoryAuthFailed, PolicyRejected

__all__ = ["AD_BIND_CODES", "ERRORS", "bind_code", "translate"]

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


def bind_code(message: str) -> str | None:
    """AD's ``data NNN`` sub-code of a failed bind (``"52e"``), lower case, or None."""
    found = _DATA.search(message)
    return found.group(1).lower() if found else None


def _own(
    exc: BaseException, said: str, password_change: bool
) -> tuple[type[ConnectorError], str] | None:
    """AD's cases (see the module docstring); ``password_change`` does not matter here: AD
    names a password its policy refused with 0000052D, whatever the operation."""
    if isinstance(exc, lx.LDAPBindError) and bind_code(said) is not None:
        return DirectoryAuthFailed, said
    if "0000052D" in said.upper() and isinstance(
        exc, lx.LDAPConstraintViolationResult | lx.LDAPUnwillingToPerformResult
    ):
        return PolicyRejected, said
    return None


ERRORS = ErrorMap(_own)
translate = ERRORS.translate
