"""The exit status of the ``credsync`` command for each error class (the README's table).

An error exits with the status of its class, else of the nearest class above it in the tree
(along the MRO) that has one: :class:`~credsync.errors.RunInProgress` exits 5 as every
:class:`~credsync.errors.Conflict` does. Domain errors know nothing of exit statuses; this
table is the CLI's, as ``credsync.api.errors`` holds the API's HTTP statuses.

Statuses the CLI exits with besides these: 0 (success), 2 (command-line usage, from click),
10 (``import`` rejected some rows) and 130 (interrupted or aborted at a prompt).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from credsync.errors import (
    AuthError,
    ConfigError,
    Conflict,
    ConnectorError,
    CredsyncError,
    IntegrityError,
    InvalidInput,
    MailError,
    NotFound,
    StorageError,
    SyncError,
    VaultLocked,
    WrongPassphrase,
)

__all__ = ["EXIT_CODES", "exit_code_of"]

EXIT_CODES: Mapping[type[CredsyncError], int] = MappingProxyType(
    {
        CredsyncError: 1,
        ConfigError: 2,
        InvalidInput: 2,
        AuthError: 3,
        VaultLocked: 3,
        WrongPassphrase: 3,
        NotFound: 4,
        Conflict: 5,
        IntegrityError: 6,
        StorageError: 7,
        ConnectorError: 8,
        MailError: 8,
        SyncError: 9,
    }
)


def exit_code_of(error: CredsyncError | type[CredsyncError]) -> int:
    """The status the CLI exits with for ``error`` (an error or its class)."""
    cls = error if isinstance(error, type) else type(error)
    return next(EXIT_CODES[c] for c in cls.__mro__ if c in EXIT_CODES)
