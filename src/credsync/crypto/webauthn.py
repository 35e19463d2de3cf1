"""WebAuthn (security keys, passkeys) ceremonies through py_webauthn (Duo Labs' ``webauthn``):
the options a browser's ``navigator.credentials.create()`` / ``.get()`` takes, and the checks
of what it answers. Nothing above this module sees the library or its errors.

- Registration asks for no attestation (``"none"``): the key's make is not checked against any
  vendor's roots. What the browser sends is still verified as the library does (``none`` and
  self attestation, and a ``packed`` / ``fido-u2f`` / ``tpm`` / ``apple`` / ``android-key``
  statement when a key sends one anyway); the credential's public key must be ES256, EdDSA or
  RS256 and the relying party id and origin must be ours.
- Sign-in (an assertion): the signature under the stored public key over our challenge, the
  relying party id and origin, user presence. The sign count rule is the caller's (it audits
  a count that goes backwards): this module only reports the new count.
- Library failures become :class:`WebAuthnRejected`, whose message is the library's reason
  (never key material: it names fields, not values); malformed JSON becomes the same.
"""

from __future__ import annotations

import binascii
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import (
    InvalidAuthenticationResponse,
    InvalidCBORData,
    InvalidJSONStructure,
    InvalidRegistrationResponse,
    WebAuthnException,
)
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

__all__ = [
    "CHALLENGE_BYTES",
    "RP_NAME",
    "NewKey",
    "RelyingParty",
    "WebAuthnRejected",
    "authentication_options",
    "challenge_of",
    "credential_id_of",
    "new_challenge",
    "registration_options",
    "verify_assertion",
    "verify_registration",
]

RP_NAME = "credsync"
CHALLENGE_BYTES = 32
TIMEOUT_MS = 120_000
_TRANSPORTS = {t.value: t for t in AuthenticatorTransport}
_MAX_JSON = 64 * 1024


class WebAuthnRejected(Exception):
    """What the browser sent is no valid answer to our challenge (the reason, no values)."""


@dataclass(frozen=True)
class RelyingParty:
    """Who the keys are made for: ``id`` the host name the dashboard is served on, ``origin``
    the page's origin (scheme, host, port) the browser reports."""

    id: str
    origin: str


@dataclass(frozen=True)
class NewKey:
    """A verified registration: what is kept of the key (the public key is no secret)."""

    credential_id: str  # base64url
    public_key: bytes = field(repr=False)
    sign_count: int
    transports: tuple[str, ...]


def new_challenge() -> str:
    """A random challenge (base64url)."""
    return bytes_to_base64url(secrets.token_bytes(CHALLENGE_BYTES))


def registration_options(
    rp: RelyingParty,
    *,
    challenge: str,
    user_id: str,
    user_name: str,
    exclude: list[tuple[str, tuple[str, ...]]],
) -> str:
    """The JSON for ``navigator.credentials.create()``: attestation ``none``, user
    verification preferred, no resident key needed, the operator's keys excluded."""
    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=RP_NAME,
        user_name=user_name,
        user_id=user_id.encode(),
        challenge=base64url_to_bytes(challenge),
        timeout=TIMEOUT_MS,
        attestation=AttestationConveyancePreference.NONE,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.DISCOURAGED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=[_descriptor(c, t) for c, t in exclude],
    )
    return options_to_json(options)


def authentication_options(
    rp: RelyingParty, *, challenge: str, allow: list[tuple[str, tuple[str, ...]]]
) -> str:
    """The JSON for ``navigator.credentials.get()``: only the operator's keys
    (``allowCredentials``), user verification preferred."""
    options = generate_authentication_options(
        rp_id=rp.id,
        challenge=base64url_to_bytes(challenge),
        timeout=TIMEOUT_MS,
        allow_credentials=[_descriptor(c, t) for c, t in allow],
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    return options_to_json(options)


def _descriptor(credential_id: str, transports: tuple[str, ...]) -> PublicKeyCredentialDescriptor:
    known = [_TRANSPORTS[t] for t in transports if t in _TRANSPORTS]
    return PublicKeyCredentialDescriptor(
        id=base64url_to_bytes(credential_id), transports=known or None
    )


def _parsed(raw: str) -> dict[str, Any]:
    if not raw or len(raw) > _MAX_JSON:
        raise WebAuthnRejected("no answer of the security key, or one too long")
    try:
        found = json.loads(raw)
    except ValueError as exc:
        raise WebAuthnRejected("the security key's answer is not JSON") from exc
    if not isinstance(found, dict):
        raise WebAuthnRejected("the security key's answer is not a JSON object")
    return found


def challenge_of(raw: str) -> str:
    """The challenge (base64url) the browser says it signed: to look the stored one up with
    (the signature check then proves it)."""
    response = _parsed(raw).get("response")
    client_data = response.get("clientDataJSON") if isinstance(response, dict) else None
    if not isinstance(client_data, str) or len(client_data) > _MAX_JSON:
        raise WebAuthnRejected("the security key's answer has no clientDataJSON")
    try:
        data = json.loads(base64url_to_bytes(client_data))
    except (ValueError, binascii.Error) as exc:
        raise WebAuthnRejected("the security key's clientDataJSON is malformed") from exc
    challenge = data.get("challenge") if isinstance(data, dict) else None
    if not isinstance(challenge, str) or not 0 < len(challenge) <= 128:
        raise WebAuthnRejected("the security key's clientDataJSON has no challenge")
    return challenge


def credential_id_of(raw: str) -> str:
    """The id (base64url) of the key that made an assertion, as the browser says."""
    parsed = _parsed(raw)
    found = parsed.get("rawId") or parsed.get("id")
    if not isinstance(found, str) or not 0 < len(found) <= 1400:
        raise WebAuthnRejected("the security key's answer has no credential id")
    try:
        return bytes_to_base64url(base64url_to_bytes(found))
    except (ValueError, binascii.Error) as exc:
        raise WebAuthnRejected("the security key's credential id is malformed") from exc


def verify_registration(rp: RelyingParty, raw: str, challenge: str) -> NewKey:
    """Check a ``navigator.credentials.create()`` answer to ``challenge``."""
    credential = _parsed(raw)
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=base64url_to_bytes(challenge),
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
        )
    except (
        InvalidRegistrationResponse,
        InvalidJSONStructure,
        InvalidCBORData,
        WebAuthnException,
    ) as exc:
        raise WebAuthnRejected(f"the security key's registration was refused: {exc}") from exc
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise WebAuthnRejected("the security key's registration is malformed") from exc
    response = credential.get("response")
    listed = response.get("transports") if isinstance(response, dict) else None
    transports = tuple(t for t in (listed if isinstance(listed, list) else []) if t in _TRANSPORTS)
    return NewKey(
        bytes_to_base64url(verified.credential_id),
        verified.credential_public_key,
        verified.sign_count,
        transports,
    )


def verify_assertion(rp: RelyingParty, raw: str, challenge: str, public_key: bytes) -> int:
    """Check a ``navigator.credentials.get()`` answer to ``challenge`` made with the key of
    ``public_key``; the authenticator's new sign count."""
    try:
        verified = verify_authentication_response(
            credential=_parsed(raw),
            expected_challenge=base64url_to_bytes(challenge),
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
            credential_public_key=public_key,
            credential_current_sign_count=0,  # the caller applies the rule, and audits it
        )
    except (
        InvalidAuthenticationResponse,
        InvalidJSONStructure,
        InvalidCBORData,
        WebAuthnException,
    ) as exc:
        raise WebAuthnRejected(f"the security key's signature was refused: {exc}") from exc
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise WebAuthnRejected("the security key's answer is malformed") from exc
    return int(verified.new_sign_count)
