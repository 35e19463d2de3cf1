"""The records of people's sign-in (:mod:`credsync.vault.person_auth`): a sign-in past its
password (and second factor), a person's MFA state and its reset, a new TOTP enrolment, the
actor a person's own actions are audited as."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from typing_extensions import TypedDict

from credsync.storage import people as people_rows
from credsync.storage import person_mfa as rows
from credsync.types import Secret
from credsync.vault.auth import Actor
from credsync.vault.mfa import totp_state

__all__ = [
    "PersonMfaResetJson",
    "PersonMfaStatus",
    "PersonMfaStatusJson",
    "PersonSignIn",
    "TotpEnrolment",
    "aad_id",
    "person_actor",
    "seed_state",
]


@dataclass(frozen=True)
class PersonSignIn:
    """A person past their password (``mfa``: and past their second factor)."""

    person_id: str
    client_id: str
    username: str
    display_name: str
    mfa: bool
    authenticated_at: dt.datetime
    mfa_enrolled: bool
    email: str = ""


class PersonMfaStatusJson(TypedDict):
    person_id: str
    totp: str
    """The authenticator app: ``on``, ``pending`` (a seed awaits its first code) or ``off``."""
    security_keys: int
    """How many security keys (WebAuthn) the person has."""


@dataclass(frozen=True)
class PersonMfaStatus:
    person_id: str
    totp: str  # on | pending | off
    security_keys: int

    @property
    def enrolled(self) -> bool:
        return self.totp == "on" or self.security_keys > 0

    def to_json(self) -> PersonMfaStatusJson:
        return PersonMfaStatusJson(
            person_id=self.person_id, totp=self.totp, security_keys=self.security_keys
        )


class PersonMfaResetJson(TypedDict):
    person_id: str
    username: str
    had_totp: bool
    """Whether an authenticator app (confirmed or pending) was removed."""
    security_keys: int
    """How many security keys were removed."""
    sessions_ended: int
    """How many of the person's portal sessions were ended."""


@dataclass(frozen=True)
class TotpEnrolment:
    """A new, pending seed: ``seed`` (base32) and ``uri`` (``otpauth://``) are shown once."""

    person_id: str
    username: str
    seed: Secret = field(repr=False)
    uri: Secret = field(repr=False)


def person_actor(person: people_rows.PersonRow) -> Actor:
    """The actor a person's own actions are audited as (no permission of an operator's)."""
    return Actor(None, person.username[:64], "person", frozenset(), "person")


def seed_state(found: rows.SeedRow | None) -> str:
    """The person's authenticator app: on, pending or off (as an operator's)."""
    return totp_state(found)


def aad_id(person_id: str) -> str:
    # Operators' seeds are bound to the operator's id; a person's to "person:<id>", so a seed
    # moved between the two tables fails to open as well.
    return f"person:{person_id}"
