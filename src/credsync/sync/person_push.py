"""A person's vault password pushed to one of their directory accounts, and what the vault
records of it: the one path the self-service push (:mod:`credsync.sync.self_service`) and
defederation's push (:mod:`credsync.sync.federation_passwords`) share.

- :func:`push_to_account`: set the password on the account (the connector's own
  ``set_password``, no change forced at next sign-in), then record it: the credential's link to
  the directory, where it has one, confirmed at the new secret version and the directory's new
  password stamp (so the next sync run sees both sides agree, instead of a password "changed
  in the directory"), and the credential's open flags there closed.
- :func:`flag_failed`: a push the directory refused or could not take, flagged on the
  credential in that directory (``policy_rejected``, ``account_missing``, ``tls_error``,
  ``denied``, ``unreachable``, else ``error``) for an operator to push again.

The password is never in a flag, a detail or an error (the connector scrubs its errors).
"""

from __future__ import annotations

from dataclasses import dataclass

from credsync.connectors.base import Account, Connector, PasswordOptions
from credsync.errors import (
    AccountNotFound,
    ConnectorError,
    DirectoryAuthFailed,
    DirectoryDenied,
    DirectoryTlsError,
    PolicyRejected,
    TransientConnectorError,
)
from credsync.storage import Database
from credsync.storage import flags as flag_rows
from credsync.storage import links as link_rows
from credsync.sync.model import Status
from credsync.types import Secret
from credsync.vault._time import utcnow

__all__ = ["PushTarget", "flag_failed", "flag_status", "push_to_account"]

_FLAG_OF = {
    PolicyRejected: Status.POLICY_REJECTED,
    AccountNotFound: Status.ACCOUNT_MISSING,
    DirectoryTlsError: Status.TLS_ERROR,
    DirectoryAuthFailed: Status.DENIED,
    DirectoryDenied: Status.DENIED,
    TransientConnectorError: Status.UNREACHABLE,
}


@dataclass(frozen=True)
class PushTarget:
    """Whose password goes where: the person's primary credential at ``secret_version``, and
    their account ``object_id`` in the directory ``directory_id`` of ``client_id``. ``by``
    names the push in the link's detail and the flags' resolution ("self-service",
    "defederation")."""

    client_id: str
    credential_id: str
    secret_version: int
    directory_id: str
    object_id: str
    by: str


def flag_status(exc: ConnectorError) -> str:
    return next(
        (str(status) for cls, status in _FLAG_OF.items() if isinstance(exc, cls)), Status.ERROR
    )


async def push_to_account(
    db: Database, connector: Connector, account: Account, password: Secret, target: PushTarget
) -> Account:
    """Set ``password`` on ``account`` and record it (see the module docstring); the
    directory's ConnectorError as it is (nothing recorded: the caller flags it or not)."""
    after = await connector.set_password(account, password, PasswordOptions())
    now = utcnow()
    with db.write() as conn:
        if link_rows.get(conn, target.credential_id, target.directory_id) is not None:
            link_rows.confirm(
                conn, target.credential_id, target.directory_id, stamp=after.password_stamp,
                secret_version=target.secret_version, status=Status.IN_SYNC,
                detail=f"pushed by {target.by}", now=now,
            )  # fmt: skip
        flag_rows.close_of(
            conn, target.credential_id, target.directory_id, status=tuple(Status),
            by=target.by, resolution="pushed", now=now,
        )  # fmt: skip
    return after


def flag_failed(db: Database, target: PushTarget, exc: ConnectorError, *, what: str) -> str:
    """Flag the failed push on the credential (``what``: the push, in words, e.g.
    "self-service password change"); the flag's status."""
    status = flag_status(exc)
    with db.write() as conn:
        flag_rows.raise_flag(
            conn, client_id=target.client_id, credential_id=target.credential_id,
            directory_id=target.directory_id, account_id=target.object_id, status=status,
            detail=f"{what} not pushed: {exc}", now=utcnow(),
        )  # fmt: skip
    return status
