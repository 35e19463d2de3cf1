"""The identity provider's token-signing keys, per client (README: identity provider).

Whoever holds a client's signing key can sign in as anyone of its federated domains (the
"golden SAML" pattern), so the key is the vault's most powerful secret:

- It is made in the vault (:func:`credsync.crypto.idp_keys.new_idp_key`: RSA 2048, or 3072
  for a key valid past 2030, a self-signed SHA-256 certificate valid three years), sealed at
  once by the master key (bound to the client and the key's id; re-wrapped when the master
  key is rotated) and
  unwrapped only by :meth:`IdpKeys.signer`, into a :class:`~credsync.crypto.idp_keys.XmlSigner`
  that never shows it.
- A client's first key is made on first need (:meth:`IdpKeys.certificates`), audited
  (``idp.key_created``).
- Rotation with an overlap: :meth:`IdpKeys.begin_rotation` makes a ``next`` key (published in
  the metadata and as Graph's ``nextSigningCertificate``; it signs nothing yet),
  :meth:`IdpKeys.finish_rotation` makes it ``current`` and retires the old one (which never
  signs again), :meth:`IdpKeys.cancel_rotation` drops the next key. All three need
  ``directory.setup`` and are audited (``idp.rotation_begun`` / ``_finished`` /
  ``_cancelled``).
"""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass

from sqlalchemy.engine import Connection

from credsync.crypto.idp_keys import XmlSigner, new_idp_key, thumbprint
from credsync.errors import Conflict, NotFound, VaultLocked
from credsync.storage import Database
from credsync.storage import idp_keys as rows
from credsync.types import new_id
from credsync.vault._time import as_utc, utcnow
from credsync.vault.audit import AuditLog
from credsync.vault.auth import SYSTEM, Actor, Permission
from credsync.vault.clients import find_client_row
from credsync.vault.keyring import KeyRing

__all__ = ["IdpKeys", "SigningCertificate"]

_SIGNER_CACHE = 256  # unwrapped signers kept per process (by key id: a retired key isn't asked)


@dataclass(frozen=True)
class SigningCertificate:
    key_id: str
    der: bytes
    """The X.509 certificate, DER."""
    b64: str
    """Base64 of ``der``: Graph's ``signingCertificate`` / ``nextSigningCertificate``."""
    thumbprint: str
    """SHA-256 of ``der``, hex."""
    not_before: dt.datetime
    not_after: dt.datetime
    state: str
    """``current`` | ``next`` | ``retired``."""

    def __repr__(self) -> str:
        return (
            f"SigningCertificate(key_id={self.key_id!r}, state={self.state!r}, "
            f"thumbprint={self.thumbprint!r})"
        )


def _certificate(row: rows.IdpKeyRow) -> SigningCertificate:
    der = bytes(row.cert_der)
    return SigningCertificate(
        key_id=row.id,
        der=der,
        b64=base64.b64encode(der).decode("ascii"),
        thumbprint=row.thumbprint,
        not_before=as_utc(row.not_before),
        not_after=as_utc(row.not_after),
        state=row.state,
    )


class IdpKeys:
    """``keys``: the key ring that wraps and unwraps (the server's, installed by
    :meth:`attach`); each method also takes one explicitly."""

    def __init__(self, db: Database, audit: AuditLog) -> None:
        self._db = db
        self._audit = audit
        self._keys: KeyRing | None = None
        self._signers: dict[str, XmlSigner] = {}

    def attach(self, keys: KeyRing) -> None:
        """Use ``keys`` (an unlocked server's key ring) when a method is given none."""
        self._keys = keys

    def _ring(self, keys: KeyRing | None) -> KeyRing:
        ring = keys or self._keys
        if ring is None:
            raise VaultLocked("the identity provider's keys need the vault unlocked")
        return ring

    # -- reading -----------------------------------------------------------------------------
    def certificates(
        self, client_id: str, *, keys: KeyRing | None = None
    ) -> tuple[SigningCertificate, SigningCertificate | None]:
        """(current, next). Makes the client's first key pair when it has none (audited
        ``idp.key_created``, by the system)."""
        with self._db.read() as conn:
            live = rows.live_of(conn, client_id)
        if not live:
            self._make(SYSTEM, client_id, "current", keys)
            with self._db.read() as conn:
                live = rows.live_of(conn, client_id)
        current = next((r for r in live if r.state == "current"), None)
        if current is None:  # pragma: no cover - the service never leaves a lone next key
            raise Conflict(f"client {client_id} has a next signing key but no current one")
        following = next((r for r in live if r.state == "next"), None)
        return _certificate(current), None if following is None else _certificate(following)

    def history(self, actor: Actor, client_ref: str) -> list[SigningCertificate]:
        """Every key of the client, retired ones too, newest first (vault.read)."""
        actor.require(Permission.VAULT_READ)
        with self._db.read() as conn:
            client = find_client_row(conn, client_ref, actor)
            return [_certificate(r) for r in rows.of_client(conn, client.id)]

    def signer(self, client_id: str, *, keys: KeyRing | None = None) -> XmlSigner:
        """What signs with the client's CURRENT key (made first when it has none). The
        private key is unwrapped here only; every signature it makes is audited by the
        caller (the identity provider's sign-in)."""
        with self._db.read() as conn:
            found = self.signer_in(conn, client_id, keys=keys)
        if found is not None:
            return found
        self.certificates(client_id, keys=keys)  # the client's first key
        with self._db.read() as conn:
            found = self.signer_in(conn, client_id, keys=keys)
        if found is None:  # pragma: no cover - certificates() just made it
            raise Conflict("the signing key changed meanwhile: try again")
        return found

    def signer_in(
        self, conn: Connection, client_id: str, *, keys: KeyRing | None = None
    ) -> XmlSigner | None:
        """:meth:`signer` within the caller's transaction (the identity provider reads its
        request, the person's identity and the key in one): None when the client has no
        key yet. The current key's id is read every time (a rotation finished by another
        server process is seen at once); the unwrapped key is kept in this process's memory
        only, per key id, never on disk."""
        live = rows.live_of(conn, client_id)
        row = next((r for r in live if r.state == "current"), None)
        if row is None:
            return None
        cached = self._signers.get(row.id)
        if cached is not None:
            return cached
        kek = self._ring(keys).kek()
        made = XmlSigner(
            row.id,
            kek.unwrap_idp_key(client_id, row.id, bytes(row.wrapped_key)),
            bytes(row.cert_der),
        )
        if len(self._signers) >= _SIGNER_CACHE:
            self._signers.clear()
        self._signers[row.id] = made
        return made

    # -- rotation ----------------------------------------------------------------------------
    def begin_rotation(
        self, actor: Actor, client_ref: str, *, keys: KeyRing | None = None
    ) -> SigningCertificate:
        """A new ``next`` key (directory.setup): publish it (metadata, Graph's
        ``nextSigningCertificate``) before :meth:`finish_rotation`. Conflict when a rotation
        is already under way."""
        actor.require(Permission.DIRECTORY_SETUP)
        with self._db.read() as conn:
            client = find_client_row(conn, client_ref, actor)
        self.certificates(client.id, keys=keys)  # the first key, when there is none
        return self._make(actor, client.id, "next", keys)

    def finish_rotation(self, actor: Actor, client_ref: str) -> SigningCertificate:
        """next -> current; the old current -> retired, never to sign again
        (directory.setup). Conflict when no rotation is under way."""
        actor.require(Permission.DIRECTORY_SETUP)
        now = utcnow()
        with self._db.write() as conn:
            client = find_client_row(conn, client_ref, actor)
            live = rows.live_of(conn, client.id, lock=True)
            following = next((r for r in live if r.state == "next"), None)
            current = next((r for r in live if r.state == "current"), None)
            if following is None or current is None:
                raise Conflict(
                    f"client {client.name!r} has no signing-key rotation under way: begin one first"
                )
            rows.set_state(conn, current.id, "retired", at=now, by=actor.name)
            rows.set_state(conn, following.id, "current", at=now, by=actor.name)
            self._audit.append(
                conn,
                actor,
                "idp.rotation_finished",
                target_type="client",
                target_id=client.id,
                client_id=client.id,
                details={"retired": current.thumbprint, "current": following.thumbprint},
            )
            done = rows.get(conn, following.id)
        self._signers.pop(current.id, None)
        assert done is not None  # noqa: S101 - just written
        return _certificate(done)

    def cancel_rotation(self, actor: Actor, client_ref: str) -> None:
        """Drop the ``next`` key (directory.setup); NotFound when there is none."""
        actor.require(Permission.DIRECTORY_SETUP)
        with self._db.write() as conn:
            client = find_client_row(conn, client_ref, actor)
            live = rows.live_of(conn, client.id, lock=True)
            following = next((r for r in live if r.state == "next"), None)
            if following is None:
                raise NotFound(f"client {client.name!r} has no next signing key to cancel")
            rows.delete(conn, following.id)
            self._audit.append(
                conn,
                actor,
                "idp.rotation_cancelled",
                target_type="client",
                target_id=client.id,
                client_id=client.id,
                details={"dropped": following.thumbprint},
            )

    def _make(
        self, actor: Actor, client_id: str, state: str, keys: KeyRing | None
    ) -> SigningCertificate:
        kek = self._ring(keys).kek()
        with self._db.read() as conn:
            client = find_client_row(conn, client_id, SYSTEM)
        if client.id != client_id:
            raise NotFound(f"no client with id {client_id}")
        now = utcnow()
        made = new_idp_key(f"credsync idp {client.name}", now)  # slow: outside a write
        key_id = new_id()
        with self._db.write() as conn:
            live = rows.live_of(conn, client_id, lock=True)
            if any(r.state == state for r in live) or (state == "current" and live):
                if state == "next":
                    raise Conflict(
                        f"client {client.name!r} already has a signing-key rotation under "
                        "way: finish or cancel it first"
                    )
                return _certificate(live[0])  # another request made the first key meanwhile
            row = rows.IdpKeyRow(
                id=key_id,
                client_id=client_id,
                state=state,
                wrapped_key=kek.wrap_idp_key(client_id, key_id, made.private_der),
                cert_der=made.cert_der,
                thumbprint=thumbprint(made.cert_der),
                not_before=made.not_before,
                not_after=made.not_after,
                created_at=now,
                created_by=actor.name,
                rotated_at=None,
                rotated_by=None,
            )
            rows.add(conn, row)
            self._audit.append(
                conn,
                actor,
                "idp.key_created" if state == "current" else "idp.rotation_begun",
                target_type="client",
                target_id=client_id,
                client_id=client_id,
                details={
                    "key_id": key_id,
                    "state": state,
                    "thumbprint": row.thumbprint,
                    "not_after": made.not_after.isoformat(),
                },
            )
        return _certificate(row)
