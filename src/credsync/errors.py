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
    │   │   ├── StaleVersion            an update was based on an old version of a record
    │   │   └── RunInProgress           a directory's run is under way (it holds the lease)
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

Messages name what was wrong and never contain a secret. ``code`` and ``http_status`` are how
the REST API answers an error of the class (``{"error": {"status", "code", "message"}}``), and
:func:`error_of_code` turns the code back into the class for a client of the API (the CLI
against a server), so that it raises what a local command would.
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
    "RunInProgress",
    "SchemaOutOfDate",
    "StaleVersion",
    "StorageError",
    "SyncAborted",
    "SyncError",
    "TransientConnectorError",
    "VaultError",
    "VaultLocked",
    "WrongPassphrase",
    "error_of_code",
]


class CredsyncError(Exception):
    """Base of every error credsync raises on purpose."""

    exit_code = 1
    code = "error"
    http_status = 500


class ConfigError(CredsyncError):
    """Settings or environment are wrong."""

    exit_code = 2
    code = "config_error"
    http_status = 500


class InvalidInput(CredsyncError):
    """A value given by a user, a file or the network is not acceptable. ``field`` names the
    input it concerns in the service's own terms (``"tenant_id"``, ``"title"``), or None; each
    boundary says it in its own words (a CLI flag, a JSON field, a form field)."""

    exit_code = 2
    code = "invalid_input"
    http_status = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class AuthError(CredsyncError):
    exit_code = 3
    code = "unauthenticated"
    http_status = 401


class AuthenticationFailed(AuthError):
    """The operator could not be authenticated."""


class PermissionDenied(AuthError):
    """The operator's role lacks a permission."""

    code = "forbidden"
    http_status = 403


class VaultError(CredsyncError):
    pass


class VaultLocked(VaultError):
    """An operation needs the master key and none was given."""

    exit_code = 3
    code = "vault_locked"
    http_status = 503


class WrongPassphrase(VaultError):
    """The master passphrase does not open this vault."""

    exit_code = 3
    code = "wrong_passphrase"
    http_status = 503


class NotFound(VaultError):
    exit_code = 4
    code = "not_found"
    http_status = 404


class Conflict(VaultError):
    exit_code = 5
    code = "conflict"
    http_status = 409


class AlreadyExists(Conflict):
    code = "already_exists"
    http_status = 409


class StaleVersion(Conflict):
    code = "stale_version"
    http_status = 409


class RunInProgress(Conflict):
    """Another run of the directory is under way and holds its lease: try again later."""

    code = "run_in_progress"
    http_status = 409


class IntegrityError(VaultError):
    """Stored data failed an integrity check (decryption, audit chain)."""

    exit_code = 6
    code = "integrity_error"
    http_status = 500


class StorageError(CredsyncError):
    exit_code = 7
    code = "storage_unavailable"
    http_status = 503


class SchemaOutOfDate(StorageError):
    pass


class ConnectorError(CredsyncError):
    exit_code = 8
    code = "directory_error"
    http_status = 502


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
    code = "policy_rejected"
    http_status = 422


class NotSupported(PermanentConnectorError):
    pass


class SyncError(CredsyncError):
    exit_code = 9
    code = "sync_error"
    http_status = 409


class SyncAborted(SyncError):
    pass


# Codes the API answers with for errors it finds itself (a malformed request, a body too
# large), and the error each is to a client.
_API_CODES: dict[str, type[CredsyncError]] = {
    "invalid_request": InvalidInput,
    "bad_request": InvalidInput,
    "too_large": InvalidInput,
    "unsupported_media_type": InvalidInput,
}


def _classes(root: type[CredsyncError]) -> list[type[CredsyncError]]:
    found = [root]
    for sub in root.__subclasses__():
        found.extend(_classes(sub))
    return found


def error_of_code(code: str) -> type[CredsyncError]:
    """The class of an error the API answered with ``code`` (CredsyncError when unknown)."""
    for cls in _classes(CredsyncError):
        if cls.__dict__.get("code") == code:
            return cls
    return _API_CODES.get(code, CredsyncError)
