"""The vault's TOTP clock held in the middle of a 30-second step for a test, and the codes made
at it: a test that crossed a step's end between two codes would see its "replayed" code
accepted as the next step's (the MFA tests' old flake)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pyotp

NOW = [0.0]  # the held time (read by the tests that move the vault's clock themselves)


def held(mfa: Any) -> Iterator[None]:
    """For an autouse fixture: ``mfa`` (the vault's MFA service) reads :data:`NOW`, set to the
    middle of the current step, until the test ends."""
    NOW[0] = (time.time() // 30) * 30 + 15
    mfa.clock = lambda: NOW[0]
    yield
    mfa.clock = time.time


def code(secret: str, offset: int = 0) -> str:
    """The code of the step ``offset`` steps from the held time."""
    return str(pyotp.TOTP(secret).at(NOW[0] + 30 * offset))
