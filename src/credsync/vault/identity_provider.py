"""The identity provider's sign-in and sign-out, per federated domain (README: identity
provider). The web layer (``/idp/{domain}/...``) parses nothing and decides nothing: it
hands what came to this service and renders what it answers.

1. :meth:`IdentityProvider.begin`: Entra's request (SAML AuthnRequest by redirect or POST,
   or WS-Federation ``wsignin1.0``) is checked (:mod:`credsync.vault.idp_requests`) and kept
   server-side in ``idp_requests`` (one-time, :data:`REQUEST_TTL`; shared by every server
   process on the database); the answer is the key the person's return names.
2. The person signs in at the person portal (password, then TOTP or a security key).
3. :meth:`IdentityProvider.complete`: the request is taken (once), the person's session is
   checked (MFA done; signed in after the request when it asked for a fresh sign-in), the
   person's :class:`~credsync.vault.federated_domains.FederatedIdentity` in the domain is
   found, and the signed response is built (:mod:`credsync.vault.idp_assertions`) with the
   client's current key, to be posted by the browser to the domain's ``login_url`` and
   nowhere else.

Every sign-in issued is audited (``idp.sign_in``: the person, the domain, the protocol and
the key's thumbprint: each use of the signing key is on record); every refusal too
(``idp.refused``: the check and the reason), at most once a minute for the same refusal and
:data:`REFUSALS_PER_MINUTE` in all per process (anyone can send requests; past the limit
they are logged only). A domain in the ``managed`` state answers nothing.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import secrets
import threading
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NoReturn
from urllib.parse import urlencode

from credsync import telemetry
from credsync.errors import InvalidInput, NotFound
from credsync.storage import Database
from credsync.storage import federation as rows
from credsync.vault._time import as_utc, utcnow
from credsync.vault.audit import AuditLog
from credsync.vault.auth import SYSTEM, Actor
from credsync.vault.federated_domains import (
    FederatedDomain,
    FederatedDomains,
    FederatedIdentity,
)
from credsync.vault.idp_assertions import saml2_logout_response, saml2_response, wsfed_response
from credsync.vault.idp_keys import IdpKeys
from credsync.vault.idp_metadata import metadata_xml
from credsync.vault.idp_requests import (
    AuthnRequest,
    IdpRequestRefused,
    LogoutRequest,
    parse_authn_request,
    parse_logout_request,
    parse_wsfed,
)

__all__ = [
    "REFUSALS_PER_MINUTE",
    "REQUEST_TTL",
    "IdentityProvider",
    "IdpAnswer",
    "IdpFreshSignInNeeded",
    "IdpRequestGone",
    "IdpSignInRefused",
    "PersonProof",
]

log = logging.getLogger("credsync.idp")

REQUEST_TTL = dt.timedelta(minutes=15)
REFUSALS_PER_MINUTE = 100
_SWEEP_EVERY = 200  # expired requests dropped every so many requests


class IdpSignInRefused(InvalidInput):
    """The person may not be signed in to Office 365 through this domain (no identity, no
    MFA, a stale sign-in, an expired or used request): the message says why, for the person."""

    code = "idp_sign_in_refused"


class IdpRequestGone(InvalidInput):
    """:meth:`IdentityProvider.complete` with ``prechecked``: the request is unknown, used
    or expired; nothing audited (what :meth:`IdentityProvider.pending` None says)."""

    code = "idp_request_gone"


class IdpFreshSignInNeeded(InvalidInput):
    """:meth:`IdentityProvider.complete` with ``prechecked``: the request asked for a fresh
    sign-in and the person's predates it; nothing audited (the caller sends them to sign in
    again)."""

    code = "idp_fresh_sign_in_needed"


@dataclass(frozen=True)
class PersonProof:
    """Who the person portal says signed in: the person, their client, when they
    authenticated and whether with a second factor."""

    person_id: str
    client_id: str
    username: str
    authenticated_at: dt.datetime
    mfa: bool


@dataclass(frozen=True)
class IdpAnswer:
    """What the browser is given: a form auto-posted to ``action`` with ``fields``
    (``method`` "post"), or a redirect to ``action`` (``method`` "redirect"), or a page
    saying it is done (``method`` "page")."""

    method: str
    action: str
    fields: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:  # the fields hold a signed assertion: a bearer token
        return f"IdpAnswer(method={self.method!r}, action={self.action!r})"


@dataclass(frozen=True)
class PendingSignIn:
    key: str
    domain: str
    protocol: str
    force_authn: bool
    created_at: dt.datetime


class _Refusals:
    """Which refusals were audited in the last minute (this process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[tuple[str, str, str], float] = {}

    def audit_now(self, key: tuple[str, str, str]) -> bool:
        now = time.monotonic()
        with self._lock:
            self._seen = {k: t for k, t in self._seen.items() if now - t < 60}
            if key in self._seen or len(self._seen) >= REFUSALS_PER_MINUTE:
                return False
            self._seen[key] = now
            return True


class IdentityProvider:
    def __init__(
        self, db: Database, audit: AuditLog, domains: FederatedDomains, keys: IdpKeys
    ) -> None:
        self._db = db
        self._audit = audit
        self._domains = domains
        self._keys = keys
        self._refusals = _Refusals()
        self._count = 0

    # -- lookups -----------------------------------------------------------------------------
    def domain(self, name: str) -> FederatedDomain:
        """The federated domain (not managed); NotFound otherwise."""
        found = self._domains.resolve(name)
        if found is None or found.state == "managed":
            raise NotFound(f"no domain {name.lower()!r} is federated to this vault")
        return found

    def metadata(self, name: str) -> bytes:
        found = self.domain(name)
        current, following = self._keys.certificates(found.client_id)
        return metadata_xml(found, current, following)

    # -- sign-in -----------------------------------------------------------------------------
    def begin(
        self,
        name: str,
        params: Mapping[str, str],
        *,
        redirect: bool,
        found: FederatedDomain | None = None,
    ) -> PendingSignIn:
        """Check Entra's request (``params``: the query string, or the form when posted:
        ``redirect`` False) and keep it; IdpRequestRefused (audited) when it is refused.
        ``found``: the domain, when the caller has just resolved it."""
        found = found or self.domain(name)
        try:
            request = self._parse_sign_in(found, params, redirect=redirect)
        except IdpRequestRefused as err:
            self.refuse(found, "request", str(err))
            raise
        now = utcnow()
        key = secrets.token_urlsafe(24)
        with self._db.write() as conn:
            rows.put_request(
                conn,
                rows.RequestRow(
                    id=key,
                    domain=found.domain,
                    protocol=request.protocol,
                    request_id=request.request_id,
                    relay_state=request.relay_state,
                    force_authn=request.force_authn,
                    created_at=now,
                    expires_at=now + REQUEST_TTL,
                ),
            )
            self._count += 1
            if self._count % _SWEEP_EVERY == 0:
                rows.drop_expired_requests(conn, now)
        return PendingSignIn(key, found.domain, request.protocol, request.force_authn, now)

    def _parse_sign_in(
        self, found: FederatedDomain, params: Mapping[str, str], *, redirect: bool
    ) -> AuthnRequest:
        if "SAMLRequest" in params:
            return parse_authn_request(
                params["SAMLRequest"],
                params.get("RelayState"),
                deflated=redirect,
                login_url=found.login_url,
            )
        if "wa" in params:
            parsed = parse_wsfed(params, login_url=found.login_url)
            if isinstance(parsed, AuthnRequest):
                return parsed
            raise IdpRequestRefused(
                "a sign-out request was sent to the sign-in address", field="wa"
            )
        raise IdpRequestRefused(
            "no sign-in request: expected SAMLRequest (SAML 2.0) or wa=wsignin1.0 (WS-Federation)",
            field="SAMLRequest",
        )

    def pending(self, name: str, key: str) -> PendingSignIn | None:
        """The pending request (not taken), None when unknown, used or expired."""
        with self._db.read() as conn:
            row = rows.peek_request(conn, key)
        if row is None or row.domain != name.lower() or as_utc(row.expires_at) < utcnow():
            return None
        return PendingSignIn(
            row.id, row.domain, row.protocol, bool(row.force_authn), as_utc(row.created_at)
        )

    def complete(
        self,
        name: str,
        key: str,
        person: PersonProof,
        *,
        found: FederatedDomain | None = None,
        prechecked: bool = False,
    ) -> IdpAnswer:
        """The signed response for the person, to post to the domain's ``login_url``.
        IdpSignInRefused (audited) when the request is gone or the person may not.
        ``prechecked``: the caller's :meth:`pending` checks made here, in this read (one
        transaction less for each sign-in): a request gone raises IdpRequestGone, a fresh
        sign-in asked for and not made IdpFreshSignInNeeded, neither audited, as the caller
        would have answered them after :meth:`pending`."""
        found = found or self.domain(name)
        now = utcnow()
        with self._db.read() as conn:  # one read: the request, the identity, the key
            row = rows.peek_request(conn, key)
            known = None if row is None else rows.identity(conn, found.domain, person.person_id)
            signer = None if known is None else self._keys.signer_in(conn, found.client_id)
        if row is None or row.domain != found.domain or as_utc(row.expires_at) < now:
            if prechecked:
                raise IdpRequestGone("the sign-in request is unknown, used or expired")
            self._gone(found)
        stale = bool(row.force_authn) and as_utc(person.authenticated_at) < as_utc(row.created_at)
        if prechecked and stale:
            raise IdpFreshSignInNeeded("a fresh sign-in was asked for")
        if person.client_id != found.client_id:
            self._refuse_person(found, person, "the person is not of the domain's client")
        if not person.mfa:
            self._refuse_person(found, person, "the person signed in without a second factor")
        if stale:
            self._refuse_person(found, person, "a fresh sign-in was asked for")
        if known is None:
            self._refuse_person(
                found,
                person,
                f"{person.username} is not set up for Office 365 sign-in through {found.domain}",
            )
        identity = FederatedIdentity(known.person_id, known.immutable_id, known.upn)
        signer = signer or self._keys.signer(found.client_id)  # None: the client's first key
        authn = as_utc(person.authenticated_at)
        if row.protocol == "wsFed":
            fields = {
                "wa": "wsignin1.0",
                "wresult": wsfed_response(
                    signer,
                    issuer=found.issuer_uri,
                    immutable_id=identity.immutable_id,
                    upn=identity.upn,
                    mfa=person.mfa,
                    authn_instant=authn,
                    now=now,
                ),
            }
            if row.relay_state:
                fields["wctx"] = row.relay_state
        else:
            xml = saml2_response(
                signer,
                issuer=found.issuer_uri,
                login_url=found.login_url,
                in_response_to=row.request_id,
                immutable_id=identity.immutable_id,
                upn=identity.upn,
                mfa=person.mfa,
                authn_instant=authn,
                now=now,
            )
            fields = {"SAMLResponse": base64.b64encode(xml).decode("ascii")}
            if row.relay_state:
                fields["RelayState"] = row.relay_state
        with self._db.write() as conn:
            # taken (one-time) in the transaction that audits the signature: a request taken
            # meanwhile by another tab gets nothing, and no response leaves unaudited
            if not rows.spend_request(conn, key):
                gone = True
            else:
                gone = False
                self._audit.append(
                    conn,
                    _person_actor(person),
                    "idp.sign_in",
                    target_type="person",
                    target_id=person.person_id,
                    client_id=found.client_id,
                    details={
                        "domain": found.domain,
                        "protocol": row.protocol,
                        "upn": identity.upn,
                        "key_id": signer.key_id,
                        "thumbprint": signer.thumbprint,
                        "mfa": person.mfa,
                    },
                )
        if gone:
            self._gone(found)
        telemetry.events().sign_in("federated", ok=True)
        return IdpAnswer("post", found.login_url, fields)

    def _gone(self, found: FederatedDomain) -> NoReturn:
        self.refuse(found, "request", "the sign-in request is unknown, used or expired")
        raise IdpSignInRefused(
            "this sign-in link was already used or has expired: start again from Office 365"
        )

    # -- sign-out ----------------------------------------------------------------------------
    def sign_out(self, name: str, params: Mapping[str, str], *, redirect: bool) -> IdpAnswer:
        """Entra's sign-out (SAML LogoutRequest, or ``wa=wsignout1.0``): the caller ends the
        person's session; the answer is a LogoutResponse redirected to the domain's
        ``login_url`` (SAML) or a signed-out page (WS-Federation)."""
        found = self.domain(name)
        try:
            request = self._parse_sign_out(found, params, redirect=redirect)
        except IdpRequestRefused as err:
            self.refuse(found, "sign-out", str(err))
            raise
        if request.protocol == "wsFed":
            return IdpAnswer("page", found.login_url)
        xml = saml2_logout_response(
            issuer=found.issuer_uri,
            destination=found.login_url,
            in_response_to=request.request_id,
            now=utcnow(),
        )
        deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
        packed = deflater.compress(xml) + deflater.flush()
        query = {"SAMLResponse": base64.b64encode(packed).decode("ascii")}
        if request.relay_state:
            query["RelayState"] = request.relay_state
        joiner = "&" if "?" in found.login_url else "?"
        return IdpAnswer("redirect", f"{found.login_url}{joiner}{urlencode(query)}")

    def _parse_sign_out(
        self, found: FederatedDomain, params: Mapping[str, str], *, redirect: bool
    ) -> LogoutRequest:
        if "SAMLRequest" in params:
            return parse_logout_request(
                params["SAMLRequest"], params.get("RelayState"), deflated=redirect
            )
        parsed = parse_wsfed(params, login_url=found.login_url)
        if isinstance(parsed, LogoutRequest):
            return parsed
        raise IdpRequestRefused("a sign-in request was sent to the sign-out address", field="wa")

    # -- refusals ----------------------------------------------------------------------------
    def _refuse_person(self, found: FederatedDomain, person: PersonProof, reason: str) -> NoReturn:
        self.refuse(found, "person", reason, person=person)
        raise IdpSignInRefused(reason)

    def refuse(
        self,
        found: FederatedDomain,
        check: str,
        reason: str,
        *,
        person: PersonProof | None = None,
    ) -> None:
        """Audit (``idp.refused``, rate-limited) and log a refusal; nothing secret."""
        who = None if person is None else person.person_id
        telemetry.events().sign_in("federated", ok=False)
        audited = self._refusals.audit_now((found.domain, check, f"{who}|{reason}"))
        log.warning(
            "identity provider: %s refused for %s (%s)%s",
            check,
            found.domain,
            reason,
            "" if audited else "; not audited (already, or too many this minute)",
        )
        if not audited:
            return
        with self._db.write() as conn:
            self._audit.append(
                conn,
                SYSTEM if person is None else _person_actor(person),
                "idp.refused",
                target_type="domain" if person is None else "person",
                target_id=found.domain if person is None else person.person_id,
                client_id=found.client_id,
                details={"domain": found.domain, "check": check, "reason": reason[:300]},
            )


def _person_actor(person: PersonProof) -> Actor:
    """Who an identity-provider event is by in the audit log: the person (no permission)."""
    return Actor(
        None,
        f"person {person.username}"[:64],
        "person",
        frozenset(),
        "idp",
        clients=frozenset({person.client_id}),
    )
