"""The secrets one run sends (:class:`RunSecrets`): decrypted a chunk at a time, and the
version restored when the directory refused a push. Made by the engine, used by the run
recorder (:mod:`credsync.sync.recorder`) and the push journal."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy.engine import Connection

from credsync.sync.executor import Rejection
from credsync.sync.model import Action, PlanItem
from credsync.types import Secret
from credsync.vault.auth import Actor
from credsync.vault.keyring import KeyRing
from credsync.vault.secrets import read_secrets, write_secret_version
from credsync.vault.service import Vault

__all__ = ["RunSecrets"]


class RunSecrets:
    """The secrets one run sends: decrypted for a chunk at a time (the caller drops them after
    the chunk), and the version restored when the directory refused a push."""

    def __init__(self, vault: Vault, keys: KeyRing, actor: Actor, client_id: str) -> None:
        self._vault = vault
        self._keys = keys
        self._actor = actor
        self._client_id = client_id

    def for_chunk(
        self, items: Iterable[PlanItem], versions: Mapping[str, int]
    ) -> dict[str, tuple[int, Secret]]:
        """(secret version, secret) of each credential of ``items`` that verifies or pushes,
        at its version in ``versions``."""
        wanted = {
            i.credential_id: versions[i.credential_id]
            for i in items
            if i.credential_id and i.action in (Action.VERIFY, Action.PUSH)
        }
        if not wanted:  # a chunk of items in step: nothing to decrypt, no transaction
            return {}
        with self._vault.db.read() as conn:
            secrets = read_secrets(conn, self._keys, self._client_id, wanted)
        return {cid: (version, secrets[cid]) for cid, version in wanted.items()}

    def restore(self, conn: Connection, rejection: Rejection, working_version: int) -> int:
        """The version the directory still has becomes the credential's current secret again
        (a new version, in the caller's transaction); returns that version."""
        working = read_secrets(
            conn, self._keys, self._client_id, {rejection.credential_id: working_version}
        )[rejection.credential_id]
        return write_secret_version(
            conn,
            self._vault.audit,
            self._actor,
            self._keys,
            rejection.credential_id,
            working,
            source="sync",
            reason=(
                f"restored version {working_version}, the password the directory still "
                f"has: it refused version {rejection.attempted_version}: {rejection.detail}"
            ),
        )
