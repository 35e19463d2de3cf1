"""The authorize request and the errors of the interactive flows (see ``_interactive``)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from jwt.utils import base64url_encode

from ._errors import AadError
from ._tenant import SimApp, SimTenant

__all__ = [
    "AuthorizeRequest",
    "PageError",
    "RedirectError",
    "grant_error",
    "missing",
    "pkce_challenge",
]

_PARAMS = (
    "client_id",
    "response_type",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "response_mode",
    "prompt",
    "login_hint",
)


def missing(name: str) -> AadError:
    return AadError(
        400,
        "invalid_request",
        900144,
        f"The request body must contain the following parameter: '{name}'.",
    )


def grant_error(number: int, text: str, error: str = "invalid_grant") -> AadError:
    return AadError(400, error, number, text)


class PageError(Exception):
    """An authorize error shown on the page (the redirect address is not trusted yet)."""

    def __init__(self, error: AadError) -> None:
        super().__init__(str(error))
        self.error = error


class RedirectError(Exception):
    """An authorize error sent back to the (checked) redirect address."""

    def __init__(self, location: str, error: AadError) -> None:
        super().__init__(str(error))
        self.location = location
        self.error = error


@dataclass(frozen=True)
class AuthorizeRequest:
    tenant: SimTenant
    app: SimApp
    params: dict[str, str]
    redirect_uri: str

    @property
    def hidden(self) -> dict[str, str]:
        """The request's parameters, as the sign-in form carries them back."""
        return {k: v for k, v in self.params.items() if k in _PARAMS and v}

    def reply(self, answer: Mapping[str, str]) -> str:
        separator = "&" if "?" in self.redirect_uri else "?"
        return f"{self.redirect_uri}{separator}{urlencode(dict(answer))}"


def pkce_challenge(verifier: str, method: str) -> str:
    if method == "plain":
        return verifier
    return base64url_encode(hashlib.sha256(verifier.encode()).digest()).decode()
