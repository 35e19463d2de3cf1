"""The unlocked master key, the client data keys opened with it and the keys of keyed digests
derived from it, for one process."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.engine import Connection

from credsync.crypto import DataKey, KdfParams, KeyEncryptionKey, MacKey, derive_kek
from credsync.errors import NotFound, VaultLocked, WrongPassphrase
from credsync.storage import Database, meta
from credsync.storage import clients as client_rows
from credsync.types import Secret

__all__ = ["KeyRing", "derive_and_check", "read_kdf_params"]


def read_kdf_params(conn: Connection) -> tuple[KdfParams, bytes, int]:
    state = meta.key_state(conn)
    return state.params, state.kek_check, state.key_generation


def derive_and_check(db: Database, passphrase: Secret) -> KeyEncryptionKey:
    with db.read() as conn:
        params, check, _ = read_kdf_params(conn)
    kek = derive_kek(passphrase, params)
    if not kek.matches_check(check):
        raise WrongPassphrase("the master passphrase does not open this vault")
    return kek


class KeyRing:
    """Gives out the key-encryption key on first need (from ``source``) and caches data keys
    and the keys of keyed digests (:meth:`mac_key`).

    ``source`` is called at most once; it may derive from a passphrase, open a session, or raise
    :class:`VaultLocked`. Operations that need no secret never call it.
    """

    def __init__(self, source: Callable[[], KeyEncryptionKey] | None) -> None:
        self._source = source
        self._kek: KeyEncryptionKey | None = None
        self._data_keys: dict[str, DataKey] = {}
        self._mac_keys: dict[str, MacKey] = {}

    @classmethod
    def of(cls, kek: KeyEncryptionKey) -> KeyRing:
        ring = cls(None)
        ring._kek = kek
        return ring

    @property
    def unlocked(self) -> bool:
        return self._kek is not None

    def kek(self) -> KeyEncryptionKey:
        if self._kek is None:
            if self._source is None:
                raise VaultLocked(
                    "the vault is locked: set CREDSYNC_PASSPHRASE, or CREDSYNC_SESSION from "
                    "`credsync unlock`"
                )
            self._kek = self._source()
            self._source = None
        return self._kek

    def data_key(self, conn: Connection, client_id: str) -> DataKey:
        key = self._data_keys.get(client_id)
        if key is None:
            wrapped = client_rows.wrapped_key(conn, client_id)
            if wrapped is None:
                raise NotFound(f"no client with id {client_id}")
            key = self.kek().unwrap_data_key(client_id, wrapped)
            self._data_keys[client_id] = key
        return key

    def mac_key(self, purpose: str) -> MacKey:
        """The vault's key for the keyed digests of ``purpose`` (see
        :meth:`KeyEncryptionKey.mac_key`): it needs the vault unlocked."""
        key = self._mac_keys.get(purpose)
        if key is None:
            key = self._mac_keys[purpose] = self.kek().mac_key(purpose)
        return key

    def forget(self) -> None:
        self._kek = None
        self._data_keys.clear()
        self._mac_keys.clear()
