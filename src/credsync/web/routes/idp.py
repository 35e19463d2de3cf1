"""The identity provider's public endpoints, per federated domain (people, not operators):

- ``GET /idp/{domain}/metadata``: the SAML metadata (signing certificates, endpoints).
- ``GET|POST /idp/{domain}/sign-in``: Entra's request (SAMLRequest by redirect or POST, or
  ``wa=wsignin1.0``), checked and kept by the vault's identity provider;
  the browser goes on to ``/my/{client}/idp/{domain}/continue/{key}``.
- ``GET /my/{client}/idp/{domain}/continue/{key}``: under the person portal's path, so that
  the person's session cookie (path ``/my/{client}``) is sent: signed out (or not fresh
  enough when a fresh sign-in was asked for) -> the portal's sign-in, back here after; signed
  in -> the page that posts the signed response to the domain's ``login_url``.
- ``GET /idp/{domain}/sign-out`` -> ``/my/{client}/idp/{domain}/sign-out``: the person's
  session ends and Entra gets its LogoutResponse (SAML) or a signed-out page (WS-Fed).

A refused request is a 400 page saying why; a domain not federated here, a 404.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode, urlsplit

from fastapi import Request, Response
from fastapi.responses import HTMLResponse

from credsync.api.deps import State
from credsync.errors import NotFound
from credsync.vault.identity_provider import (
    IdpAnswer,
    IdpFreshSignInNeeded,
    IdpRequestGone,
    IdpSignInRefused,
    PersonProof,
)
from credsync.vault.idp_requests import IdpRequestRefused
from credsync.web.pages import page, page_router, redirect
from credsync.web.person_session import (
    current_person,
    end_session,
    portal_path,
    sign_in_url,
)
from credsync.web.session import Fields

__all__ = ["router"]

router = page_router()
_MAX_FIELDS = 16


def _message(
    request: Request, status: int, title: str, message: str, client_name: str = ""
) -> HTMLResponse:
    return page(
        request, "idp_message.html", None, status=status, title=title, message=message,
        client_name=client_name or "Sign-in",
    )  # fmt: skip


def _continue_path(client_id: str, domain: str, key: str) -> str:
    return portal_path(client_id, f"idp/{quote(domain, safe='')}/continue/{quote(key, safe='')}")


@router.get("/idp/{domain}/metadata")
def metadata(state: State, domain: str) -> Response:
    try:
        xml = state.vault.identity_provider.metadata(domain)
    except NotFound:
        return Response("no such federated domain\n", status_code=404, media_type="text/plain")
    return Response(xml, media_type="application/samlmetadata+xml")


def _params(values: dict[str, str]) -> dict[str, str]:
    """At most :data:`_MAX_FIELDS` parameters (Entra sends three or four)."""
    return dict(list(values.items())[:_MAX_FIELDS])


def _begin(
    request: Request, state: State, domain: str, params: dict[str, str], *, redirect_binding: bool
) -> Response:
    idp = state.vault.identity_provider
    try:
        found = idp.domain(domain)
        pending = idp.begin(found.domain, params, redirect=redirect_binding, found=found)
    except NotFound:
        return _message(request, 404, "Not found", f"No domain {domain!r} signs in here.")
    except IdpRequestRefused as err:
        return _message(request, 400, "Sign-in refused", f"The sign-in request was refused: {err}")
    return redirect(request, _continue_path(found.client_id, found.domain, pending.key))


@router.get("/idp/{domain}/sign-in")
def sign_in_get(request: Request, state: State, domain: str) -> Response:
    return _begin(
        request, state, domain, _params(dict(request.query_params)), redirect_binding=True
    )


@router.post("/idp/{domain}/sign-in")
def sign_in_post(request: Request, state: State, domain: str, fields: Fields) -> Response:
    """Entra's HTTP-POST binding (no CSRF token: the post comes from Microsoft's page, and
    it only starts a sign-in the person still has to complete)."""
    merged = _params({**dict(request.query_params), **fields})
    return _begin(request, state, domain, merged, redirect_binding=False)


@router.get("/my/{client_id}/idp/{domain}/continue/{key}")
def continue_sign_in(
    request: Request, state: State, client_id: str, domain: str, key: str
) -> Response:
    # the domain, the person's session and the request in one read transaction (three
    # before); the signature's audited spend is its own write, as always
    with state.vault.db.one_read():
        return _continue(request, state, client_id, domain, key)


def _continue(request: Request, state: State, client_id: str, domain: str, key: str) -> Response:
    idp = state.vault.identity_provider
    here = _continue_path(client_id, domain, key)
    try:
        found = idp.domain(domain)
    except NotFound:
        return _message(request, 404, "Not found", f"No domain {domain!r} signs in here.")
    if found.client_id != client_id:
        return _message(request, 404, "Not found", f"No domain {domain!r} signs in here.")
    person = current_person(request, client_id)
    if person is None:
        if idp.pending(found.domain, key) is None:
            return _expired(request, found.client_name)
        return redirect(request, sign_in_url(client_id, here))
    proof = PersonProof(
        person.person_id, person.client_id, person.username, person.authenticated_at, person.mfa
    )
    try:
        # the request's checks (gone; a fresh sign-in asked for) in complete's one read
        answer = idp.complete(found.domain, key, proof, found=found, prechecked=True)
    except IdpRequestGone:
        return _expired(request, found.client_name)
    except IdpFreshSignInNeeded:
        response = redirect(request, sign_in_url(client_id, here))
        end_session(request, response, person)  # a fresh sign-in was asked for
        return response
    except IdpSignInRefused as err:
        return _message(request, 403, "Not signed in to Office 365", str(err), found.client_name)
    return _auto_post(request, answer)


def _expired(request: Request, client_name: str) -> HTMLResponse:
    return _message(
        request, 400, "Sign-in expired",
        "This sign-in link was already used or has expired: start again from Office 365.",
        client_name,
    )  # fmt: skip


def _auto_post(request: Request, answer: IdpAnswer) -> Response:
    target = urlsplit(answer.action)
    origin = f"{target.scheme}://{target.netloc}"
    response = page(
        request, "idp_post.html", None, title="Signing you in", action=answer.action,
        fields=answer.fields, client_name="Office 365",
    )  # fmt: skip
    # form-action also governs the redirects that follow the post (CSP 3: Chromium and
    # Firefox enforce it), and Microsoft's login.srf may send the browser on to the app that
    # asked: any https address, then, besides the login_url's own origin
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; "
        f"form-action {origin} https:; frame-ancestors 'none'; base-uri 'none'"
    )
    return response


@router.get("/idp/{domain}/sign-out")
def sign_out_public(request: Request, state: State, domain: str) -> Response:
    """On to the portal's path (where the person's cookie is), with the request as it came."""
    try:
        found = state.vault.identity_provider.domain(domain)
    except NotFound:
        return _message(request, 404, "Not found", f"No domain {domain!r} signs in here.")
    query = urlencode(_params(dict(request.query_params)))
    path = portal_path(found.client_id, f"idp/{quote(found.domain, safe='')}/sign-out")
    return redirect(request, f"{path}?{query}" if query else path)


@router.get("/my/{client_id}/idp/{domain}/sign-out")
def sign_out(request: Request, state: State, client_id: str, domain: str) -> Response:
    idp = state.vault.identity_provider
    try:
        found = idp.domain(domain)
        if found.client_id != client_id:
            raise NotFound(domain)
        answer = idp.sign_out(found.domain, _params(dict(request.query_params)), redirect=True)
    except NotFound:
        return _message(request, 404, "Not found", f"No domain {domain!r} signs in here.")
    except IdpRequestRefused as err:
        return _message(
            request, 400, "Sign-out refused", f"The sign-out request was refused: {err}"
        )
    if answer.method == "redirect":
        response: Response = redirect(request, answer.action)
    else:
        response = _message(request, 200, "Signed out", "You are signed out.", found.client_name)
    person = current_person(request, client_id)
    if person is not None:
        end_session(request, response, person)
    return response
