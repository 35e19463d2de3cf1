"""A client of the simulator's password grant, so a test can prove that a password works in
the tenant the way a user would: by signing in with it (over HTTPS, at the token endpoint).

    assert sign_in(sim, "ada@contoso.test", "N3w-Secret!")          # it works
    assert sign_in(sim, "ada@contoso.test", "old").code == 50126    # it does not

and a user at the simulator's pages (over HTTP, no browser): :func:`authorize` signs in at an
authorize URL and returns the redirect; :func:`approve_device` completes a device code.
"""

from __future__ import annotations

import html
import re
import ssl
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import httpx

if TYPE_CHECKING:
    from ._simulator import GraphSimulator
    from ._tenant import SimApp, SimTenant

__all__ = ["SignIn", "approve_device", "authorize", "sign_in"]

SCOPE = "openid profile https://graph.microsoft.com/User.Read"


@dataclass(frozen=True)
class SignIn:
    """The answer: true when the sign-in worked; else the OAuth ``error`` and AADSTS ``code``."""

    ok: bool
    error: str | None = None  # e.g. "invalid_grant"
    code: int | None = None  # e.g. 50126
    description: str = field(default="", repr=False)

    def __bool__(self) -> bool:
        return self.ok


def sign_in(
    sim: GraphSimulator,
    upn: str,
    password: str,
    *,
    tenant: SimTenant | None = None,
    app: SimApp | None = None,
    scope: str = SCOPE,
) -> SignIn:
    """Sign ``upn`` in with ``password`` (ROPC) at ``tenant`` (default: the tenant of the UPN's
    domain) through ``app`` (default: the tenant's own, with its secret)."""
    if tenant is None:
        tenant = sim.find_tenant(upn.rsplit("@", 1)[-1])
        if tenant is None:
            raise ValueError(f"no tenant of this simulator has the domain of {upn!r}")
    app = app or tenant.default_app
    context = ssl.create_default_context(cafile=str(sim.ca_file))
    with httpx.Client(verify=context, trust_env=False, timeout=30) as http:
        answer = http.post(
            f"{sim.authority_url(tenant)}/oauth2/v2.0/token",
            data={
                "grant_type": "password",
                "client_id": app.client_id,
                "client_secret": app.client_secret,
                "scope": scope,
                "username": upn,
                "password": password,
            },
        )
    body = answer.json()
    if answer.status_code == 200 and "access_token" in body:
        return SignIn(True)
    codes = body.get("error_codes") or [None]
    return SignIn(False, body.get("error"), codes[0], body.get("error_description", ""))


def _client(sim: GraphSimulator) -> httpx.Client:
    context = ssl.create_default_context(cafile=str(sim.ca_file))
    return httpx.Client(verify=context, trust_env=False, timeout=30)


def authorize(sim: GraphSimulator, authorize_url: str, upn: str, password: str) -> str:
    """Play the user at the sign-in page of ``authorize_url`` (an authorize request as an app
    built it): open it, post the form with ``upn`` and ``password``, and return where the page
    sends the browser (the app's redirect URI with ``code`` and ``state``, or ``error``; for
    ``response_mode=form_post``, the redirect URI with the fields the page would post as its
    query). ValueError with the page's AADSTS text when the page refuses (wrong password...)."""
    with _client(sim) as http:
        page = http.get(authorize_url)
        if page.status_code in (301, 302, 303):
            return page.headers["location"]
        if page.status_code != 200:
            raise ValueError(_page_error(page.text))
        answer = http.post(authorize_url, data={"login": upn, "passwd": password})
    if answer.status_code in (301, 302, 303):
        return str(answer.headers["location"])
    posted = re.search(r'<form method="post" action="([^"]*)">(.*?)</form>', answer.text, re.S)
    if posted and "Working..." in answer.text:
        fields = re.findall(r'name="([^"]*)" value="([^"]*)"', posted.group(2))
        query = urlencode({html.unescape(k): html.unescape(v) for k, v in fields})
        return f"{html.unescape(posted.group(1))}?{query}"
    raise ValueError(_page_error(answer.text))


def approve_device(
    sim: GraphSimulator, user_code: str, upn: str, password: str, *, decline: bool = False
) -> str:
    """Play the user at ``/devicelogin``: enter ``user_code``, sign in as ``upn`` (or cancel,
    ``decline``). Returns the final page's text; ValueError with the AADSTS text on refusal."""
    with _client(sim) as http:
        url = f"{sim.url}/devicelogin"
        first = http.post(url, data={"otc": user_code})
        if 'name="passwd"' not in first.text:
            raise ValueError(_page_error(first.text))
        action = "decline" if decline else "continue"
        answer = http.post(
            url, data={"otc": user_code, "login": upn, "passwd": password, "action": action}
        )
    if 'id="done"' not in answer.text:
        raise ValueError(_page_error(answer.text))
    return answer.text


def _page_error(text: str) -> str:
    match = re.search(r'<p id="error" role="alert">(.*?)</p>', text, re.DOTALL)
    return html.unescape(match.group(1)) if match else "the page gave no error text"
