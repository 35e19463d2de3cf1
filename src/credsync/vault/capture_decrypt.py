"""A capture batch's passwords decrypted: before the transaction that applies the batch (the
slow part, an RSA decryption each, kept out of the database's write lock), only for the
events that will need them. A password is a :class:`~credsync.types.Secret` from the moment
it is decrypted; what can't be decrypted says why (never quoting the input)."""

from __future__ import annotations

from credsync.crypto.openpgp import CaptureDecryptor
from credsync.errors import InvalidInput
from credsync.types import Secret
from credsync.vault.capture_batch import FORMATS, LSA_X25519, OPENPGP, X25519_HKDF, CaptureEvent
from credsync.vault.capture_lsa import open_lsa_event
from credsync.vault.capture_state import BatchView

__all__ = ["Prepared", "needs_decrypting", "open_event", "prepare"]

Prepared = dict[CaptureEvent, "Secret | str"]  # an event's password, or why it has none


def needs_decrypting(view: BatchView, event: CaptureEvent) -> bool:
    """Whether applying ``event`` will need its password: a password event in a known format,
    not received before, of an account linked in the directory."""
    if event.kind != "password" or event.ciphertext is None:
        return False
    if event.ciphertext_format not in FORMATS:
        return False
    if view.has_event(event.event_key):
        return False
    account = view.account(event.object_guid)
    return account.credential_id is not None and account.cached


def prepare(decryptor: CaptureDecryptor | None, events: list[CaptureEvent]) -> Prepared:
    """Each event's password decrypted (outside any transaction), or why it can't be."""
    return {event: open_event(decryptor, event) for event in events}


def open_event(decryptor: CaptureDecryptor | None, event: CaptureEvent) -> Secret | str:
    if decryptor is None:
        return "the directory has no capture key"
    assert event.ciphertext is not None  # noqa: S101 - only password events with one come here
    try:
        plain = _decrypt(decryptor, event, event.ciphertext)
        return Secret(plain.decode("utf-16-le"))
    except InvalidInput as exc:
        return f"undecryptable: {exc}"
    except UnicodeDecodeError:
        return "undecryptable: not UTF-16-LE text"


def _decrypt(decryptor: CaptureDecryptor, event: CaptureEvent, ciphertext: str) -> bytes:
    if event.ciphertext_format == OPENPGP:
        return decryptor.decrypt(ciphertext)
    if event.ciphertext_format == LSA_X25519:  # bound to what lsass knew: see capture_lsa
        return open_lsa_event(decryptor, event)
    # rsa-oaep-sha256+a256gcm or x25519-hkdf-sha256+a256gcm: bound to the account and the
    # change it reports
    aad = f"{event.object_guid}\n{event.pwd_last_set}".encode()
    if event.ciphertext_format == X25519_HKDF:
        return decryptor.decrypt_x25519(ciphertext, aad)
    return decryptor.decrypt_rsa_oaep(ciphertext, aad)
