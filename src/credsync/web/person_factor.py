"""The person's second factor as the portal's pages ask for it: the sign-in's second step and
the self-service change and reset pages (``/my/{client_id}/...``) offer the same choices and
check the answer the same way.

- :func:`factor_choices`: what the page offers, the code field of their authenticator app
  (``has_app``) and a security key's challenge (``key_options``: the JSON for
  ``navigator.credentials.get()``, kept by the vault; empty without keys).
- :func:`check_factor`: the form's answer, a security key's (field ``credential``, filled by
  ``webauthn.js``) or else the app's code (field ``code``), checked by
  :meth:`credsync.vault.person_auth.PersonAuth.second_factor` (the same limits and audit as
  the sign-in's).
"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from credsync.api.deps import State
from credsync.errors import InvalidInput
from credsync.vault.person_auth import PersonSignIn
from credsync.web.mfa_step import relying_party

__all__ = ["MAX_ANSWER", "check_factor", "factor_choices"]

MAX_ANSWER = 64 * 1024  # a security key's answer (JSON) is a few hundred bytes


def factor_choices(request: Request, state: State, signed: PersonSignIn | None) -> dict[str, Any]:
    """``has_app`` and ``key_options`` for the page's template (nothing for no person)."""
    if signed is None:
        return {"has_app": False, "key_options": ""}
    auth = state.vault.person_auth
    options = auth.security_keys.sign_in_options(signed, relying_party(request))
    return {"has_app": auth.mfa_status(signed.person_id).totp == "on", "key_options": options or ""}


def check_factor(
    request: Request, state: State, signed: PersonSignIn, fields: dict[str, str], *, address: str
) -> PersonSignIn:
    """``signed`` past the second factor the form brought (see the module docstring)."""
    answer = fields.get("credential", "").strip()
    code = fields.get("code", "")
    if len(answer) > MAX_ANSWER or len(code) > 64:
        raise InvalidInput("that second factor's answer is too long", field="code")
    return state.vault.person_auth.second_factor(
        signed, code=code, key_answer=answer, rp=relying_party(request), address=address
    )
