"""The whole exception tree of credsync, grouped by what a caller can do about it.

::

    CredsyncError                       base; ``exit_code`` is what the CLI exits with
    ├── ConfigError                     settings or environment are wrong: fix them and rerun
    ├── InvalidInput                    a value given by a user or a file is wrong: fix the input
    ├── AuthError                       who you are or what you may do
    │   ├── AuthenticationFailed        wrong operator/password, bad or expired token or session
    │   └── PermissionDenied            authenticated, but the role lacks a permission
    ├── VaultError
    │   ├── VaultLocked                 no master key available (no passphrase, no session)
    │   ├── WrongPassphrase             the master passphrase does not open this vault
    │   ├── NotFound                    no such client / credential / operator / ...
    │   ├── Conflict                    the state changed underneath: reload and retry
    │   │   ├── AlreadyExists           a name that must be unique is taken
    │   │   └── StaleVersion            an update was based on an old version of a record
    │   └── IntegrityError              tampering or corruption (failed decryption, broken chain)
    ├── StorageError                    the database could not be reached or used
    │   └── SchemaOutOfDate             the database needs ``credsync db upgrade``
    ├── ConnectorError                  a directory connector failed
    │   ├── TransientConnectorError     retry later (``retry_after`` seconds, when known)
    │   │   └── DirectoryUnreachable    no answer: DNS, TCP, timeout, the server went away
    │   └── PermanentConnectorError     retrying will not help
    │       ├── DirectoryAuthFailed     the directory refused our bind credential
    │       ├── DirectoryTlsError       TLS failed: untrusted certificate, wrong name, handshake
    │       ├── DirectoryDenied         our bind credential lacks a right (read, reset password)
    │       ├── AccountNotFound         the account is gone from the directory
    │       ├── PolicyRejected          the directory refused a password (complexity, history)
    │       └── NotSupported            the connector lacks this capability
    └── SyncError                       a sync run could not complete
        └── SyncAborted                 the run stopped; its cursor was left untouched

Messages name what was wrong and never contain a secret.
"""

from __future__ import annotations

__all__ = [
    "AccountNotFound",
    "AlreadyExists",
    "AuthError",
    "AuthenticationFailed",
    "ConfigError",
    "Conflict",
    "ConnectorError",
    "CredsyncError",
    "DirectoryAuthFailed",
    "DirectoryDenied",
    "DirectoryTlsError",
    "DirectoryUnreachable",
    "IntegrityError",
    "InvalidInput",
    "NotFound",
    "NotSupported",
    "PermanentConnectorError",
    "PermissionDenied",
    "PolicyRejected",
    "SchemaOutOfDate",
    "StaleVersion",
    "StorageError",
    "SyncAborted",
    "SyncError",
    "TransientConnectorError",
    "VaultError",
    "VaultLocked",
    "WrongPassphrase",
]


class CredsyncError(Exception):
    """Base of every error credsync raises on purpose."""

    exit_code = 1


class ConfigError(CredsyncError):
    """Settings or environment are wrong."""

    exit_code = 2


class InvalidInput(CredsyncError):
    """A value given by a user, a file or the network is not acceptable."""

    exit_code = 2


class AuthError(CredsyncError):
    exit_code = 3


class AuthenticationFailed(AuthError):
    """The operator could not be authenticated."""


class PermissionDenied(AuthError):
    """The operator's role lacks a permission."""


class VaultError(CredsyncError):
    pass


class VaultLocked(VaultError):
    """An operation needs the master key and none was given."""

    exit_code = 3


class WrongPassphrase(VaultError):
    """The master passphrase does not open this vault."""

    exit_code = 3


class NotFound(VaultError):
    exit_code = 4


class Conflict(VaultError):
    exit_code = 5


class AlreadyExists(Conflict):
    pass


class StaleVersion(Conflict):
    pass


class IntegrityError(VaultError):
    """Stored data failed an integrity check (decryption, audit chain)."""

    exit_code = 6


class StorageError(CredsyncError):
    exit_code = 7


class SchemaOutOfDate(StorageError):
    pass


class ConnectorError(CredsyncError):
    exit_code = 8


class TransientConnectorError(ConnectorError):
    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class DirectoryUnreachable(TransientConnectorError):
    pass


class PermanentConnectorError(ConnectorError):
    pass


class DirectoryAuthFailed(PermanentConnectorError):
    pass


class DirectoryTlsError(PermanentConnectorError):
    pass


class DirectoryDenied(PermanentConnectorError):
    pass


class AccountNotFound(PermanentConnectorError):
    pass


class PolicyRejected(PermanentConnectorError):
    pass


class NotSupported(PermanentConnectorError):
    pass


class SyncError(CredsyncError):
    exit_code = 9


class SyncAborted(SyncError):
    pass
