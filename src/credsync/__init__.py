"""credsync: a self-hosted credential vault that keeps passwords in step with directories.

This facade stays light (the CLI imports it on every start); the vault, storage and crypto
layers are imported where they are used.
"""

from credsync.errors import (
    AuthenticationFailed,
    ConfigError,
    Conflict,
    CredsyncError,
    IntegrityError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    StaleVersion,
    StorageError,
    VaultLocked,
    WrongPassphrase,
)
from credsync.types import CredentialType, Secret, SyncMode

__version__ = "0.1.0"

__all__ = [
    "AuthenticationFailed",
    "ConfigError",
    "Conflict",
    "CredentialType",
    "CredsyncError",
    "IntegrityError",
    "InvalidInput",
    "NotFound",
    "PermissionDenied",
    "Secret",
    "StaleVersion",
    "StorageError",
    "SyncMode",
    "VaultLocked",
    "WrongPassphrase",
    "__version__",
]
