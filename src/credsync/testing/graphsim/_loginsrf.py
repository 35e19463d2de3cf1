"""``POST /login.srf``: the identity provider's answer for a federated domain, checked as Entra
checks it (https://learn.microsoft.com/en-us/entra/identity/hybrid/connect/how-to-connect-fed-saml-idp
for SAML 2.0; the WS-Federation passive profile for ``wa=wsignin1.0``).

The form: ``SAMLResponse`` (+ ``RelayState``), or ``wa=wsignin1.0`` + ``wresult`` (+ ``wctx``).
Checks, in order, each refusal an :class:`AadError` with Microsoft's number where its error
reference (https://learn.microsoft.com/entra/identity-platform/reference-error-codes, "ref")
names one:

1. Readable: base64 XML holding one Response/Assertion (SAML: AADSTS7500514, ref "A supported
   type of SAML response was not found"; WS-Fed: AADSTS90081 OrgIdWsFederationMessageInvalid,
   ref). A Response whose StatusCode is not Success: AADSTS20001 WsFedSignInResponseError ("an
   issue with your federated Identity Provider", ref; Microsoft names none for SAML itself).
2. Issuer: the assertion's Issuer must equal some federated domain's ``issuerUri`` **exactly**
   (a trailing slash differs): AADSTS50107 InvalidRealmUri "The requested federation realm
   object '{issuer}' does not exist." (ref, and
   https://learn.microsoft.com/en-us/troubleshoot/azure/active-directory/authentication-fails-with-error).
   When the response answers a request of ours, the realm must be that request's tenant.
3. Signature over the assertion against ``signingCertificate`` or ``nextSigningCertificate``:
   no signature, or one by a refused algorithm (SHA-1), AADSTS50008 InvalidSamlToken (ref);
   content changed after signing (digest) AADSTS50006 InvalidSignature (ref); signed by another
   key AADSTS5000811 "Unable to verify token signature. The signing key identifier does not
   match any valid registered keys." (not on ref; what Entra answers after an AD FS
   certificate change,
   https://blog.rmilne.ca/2021/11/29/sign-in-error-5000811-unable-to-verify-token-signature-the-signing-key-identifier-does-not-match-any-valid-registered-keys/).
4. Audience ``urn:federation:MicrosoftOnline``, SubjectConfirmationData Recipient and the
   Response's Destination = this ``login.srf``: AADSTS50008 InvalidSamlToken ("SAML assertion
   is missing or misconfigured", ref; Microsoft names no number per field: the text says which).
5. Time: NotBefore - ``CLOCK_SKEW`` <= now < NotOnOrAfter (+ skew), also SubjectConfirmationData's
   NotOnOrAfter: AADSTS500133 "Assertion isn't within its valid time range" (ref).
6. InResponseTo (SAML) / ``wctx`` (WS-Fed): when present it must name an outstanding request
   not yet spent nor expired, and is spent now; the assertion ID is single use too (an
   unsolicited, IdP-initiated response is accepted, as Entra accepts AD FS's
   ``idpinitiatedsignon``). Microsoft names no number for a replay: AADSTS50008 with a text
   saying so (the tests hold the text).
7. The user: NameID (SAML; ``.2B``-style escapes decoded, as the SAML IdP page describes) or
   the ImmutableID claim (WS-Fed; missing: AADSTS90020 "The SAML 1.1 Assertion is missing
   ImmutableID of the user.", ref) must be some live user's ``onPremisesImmutableId``, and
   IDPEmail / the UPN claim that user's ``userPrincipalName`` in the issuer's domain (or a
   subdomain of it): AADSTS51004 UserAccountNotInDirectory (ref; text as Entra shows it,
   IAmFrench/GSuite-as-identity-Provider-IdP-for-Office-365-or-Azure-Active-Directory#4).
8. The account enabled: AADSTS50057 UserDisabled (ref).
9. MFA: with ``federatedIdpMfaBehavior`` ``enforceMfaByFederatedIdp`` the assertion must carry
   ``authnmethodsreferences`` = ``multipleauthn``, else AADSTS50079 ("a federated user needs to
   get the multifactor claim from the federated identity provider", ref);
   ``acceptIfMfaDoneByFederatedIdp`` (the default) and ``rejectMfaByFederatedIdp`` do not ask
   for it (the claim is only recorded).

Every outcome writes a sign-in log entry (``_signins``; errorCode 0 or the number) when the
tenant is known. Success continues the authorize flow the request belongs to (a code for the
app's redirect URI, as a password sign-in) or, without one, a "signed in" page.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from lxml import etree

from . import _saml
from ._errors import AadError
from ._realm import Federation, Outstanding
from ._signins import record_sign_in
from ._tenant import SimTenant

__all__ = ["CLOCK_SKEW", "Accepted", "Refused", "complete"]

CLOCK_SKEW = timedelta(minutes=5)
ENFORCE_MFA = "enforceMfaByFederatedIdp"
_ESCAPE = re.compile(r"\.([0-9A-Fa-f]{2})")


@dataclass(frozen=True)
class Accepted:
    tenant: SimTenant
    user: dict[str, Any] = field(repr=False)
    request: Outstanding | None
    protocol: str
    mfa: bool
    session_index: str


class Refused(Exception):
    """A refusal: the AADSTS error and the tenant it concerns (None: no realm found)."""

    def __init__(self, error: AadError, tenant: SimTenant | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.tenant = tenant


def _invalid(text: str) -> AadError:
    return AadError(400, "invalid_request", 50008, f"SAML token is invalid. {text}")


def _realm(
    tenants: Iterable[SimTenant], issuer: str
) -> tuple[SimTenant, str, dict[str, Any]] | None:
    for tenant in tenants:
        with tenant.store.lock:
            for domain, config in tenant.federation.items():
                if config.get("issuerUri") == issuer:
                    return tenant, domain, dict(config)
    return None


def _decode_name_id(value: str) -> str:
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), value)


def _user(tenant: SimTenant, domain: str, immutable: str, upn: str | None) -> dict[str, Any]:
    not_found = AadError(
        400,
        "invalid_request",
        51004,
        f"The user account {{EUII Hidden}} does not exist in the {tenant.id} directory. To "
        "sign into this application, the account must be added to the directory.",
    )
    wanted = {immutable, _decode_name_id(immutable)}
    with tenant.store.lock:
        found = [
            r
            for r in tenant.store.users.lookup("onPremisesImmutableId", sorted(wanted))
            # the index compares ignoring case; an immutable id (base64) is compared exactly
            if r["id"] in tenant.store.users.live and r.get("onPremisesImmutableId") in wanted
        ]
        if len(found) != 1 or not upn:
            raise not_found
        record = dict(found[0])
    name = str(record["userPrincipalName"])
    user_domain = name.rsplit("@", 1)[-1].lower()
    if name.lower() != upn.strip().lower():
        raise not_found
    if user_domain != domain and not user_domain.endswith("." + domain):
        raise not_found
    return record


def _read(
    form: Mapping[str, str],
) -> tuple[_saml.Assertion, etree._Element | None, str | None]:
    """(unverified facts, the assertion's element, the request id the answer names)."""
    if form.get("SAMLResponse"):
        try:
            facts, raw = _saml.read_saml2(form["SAMLResponse"])
        except _saml.Unreadable as exc:
            raise Refused(
                AadError(
                    400,
                    "invalid_request",
                    7500514,
                    "A supported type of SAML response was not found. The supported response "
                    "types are 'Response' (in XML namespace 'urn:oasis:names:tc:SAML:2.0:"
                    "protocol') or 'Assertion' (in XML namespace 'urn:oasis:names:tc:SAML:2.0:"
                    f"assertion'). ({exc})",
                )
            ) from None
        return facts, raw, facts.in_response_to or facts.response_in_response_to
    if form.get("wa") == "wsignin1.0" and form.get("wresult"):
        try:
            facts, raw = _saml.read_wsfed(form["wresult"])
        except _saml.Unreadable as exc:
            raise Refused(
                AadError(
                    400,
                    "invalid_request",
                    90081,
                    f"An error occurred when the service tried to process a WS-Federation "
                    f"message. The message is not valid. ({exc})",
                )
            ) from None
        return facts, raw, form.get("wctx") or None
    raise Refused(
        AadError(
            400,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'SAMLResponse' (or "
            "'wresult' with wa=wsignin1.0).",
        )
    )


def complete(
    federation: Federation,
    tenants: Callable[[], list[SimTenant]],
    login_srf: str,
    form: Mapping[str, str],
) -> Accepted:
    """Check the answer (the rules above); :class:`Refused` with the error otherwise. The
    sign-in log entry is written either way."""
    tenant: SimTenant | None = None
    user: dict[str, Any] | None = None
    try:
        facts, raw, request_id = _read(form)
        pending = federation.peek(request_id)
        if pending is not None:
            tenant = next((t for t in tenants() if t.id == pending.tenant_id), None)
        if facts.status != _saml.SUCCESS:
            raise AadError(
                400,
                "invalid_request",
                20001,
                "There's an issue with your federated Identity Provider: its response status "
                f"is '{facts.status}'.",
            )
        realm = _realm(tenants(), facts.issuer)
        if realm is None or (tenant is not None and realm[0] is not tenant):
            raise AadError(
                400,
                "invalid_request",
                50107,
                f"The requested federation realm object '{facts.issuer}' does not exist.",
            )
        tenant, domain, config = realm
        facts = _signed(facts, raw, config)
        _check_envelope(facts, login_srf, tenant)
        accepted = _check_request(federation, facts, request_id, tenant)
        immutable = facts.name_id if facts.protocol == "saml" else facts.immutable_id
        if not immutable:
            if facts.protocol == "wsFed":
                raise AadError(
                    400,
                    "invalid_request",
                    90020,
                    "The SAML 1.1 Assertion is missing ImmutableID of the user.",
                )
            raise _invalid("The assertion has no NameID.")
        user = _user(tenant, domain, immutable, facts.upn)
        if user.get("accountEnabled") is False:
            raise AadError(400, "invalid_grant", 50057, "The user account is disabled.")
        if config.get("federatedIdpMfaBehavior") == ENFORCE_MFA and not facts.mfa:
            raise AadError(
                400,
                "interaction_required",
                50079,
                "Due to a configuration change made by your administrator, you must use "
                "multi-factor authentication: a federated user needs to get the multifactor "
                "claim from the federated identity provider.",
            )
    except AadError as err:
        if tenant is not None:
            record_sign_in(tenant, user, error=err.number, reason=err.text)
        raise Refused(err, tenant) from None
    except Refused as refused:
        if tenant is not None:
            record_sign_in(tenant, None, error=refused.error.number, reason=refused.error.text)
        raise Refused(refused.error, tenant) from None
    record_sign_in(tenant, user, idp=facts.issuer)
    return Accepted(tenant, user, accepted, facts.protocol, facts.mfa, facts.id)


def _signed(
    facts: _saml.Assertion, raw: etree._Element | None, config: Mapping[str, Any]
) -> _saml.Assertion:
    certificates = [
        str(c)
        for c in (config.get("signingCertificate"), config.get("nextSigningCertificate"))
        if c
    ]
    try:
        signed, _index = _saml.verify(raw, facts.protocol, certificates)
    except _saml.BadSignature as bad:
        if bad.kind == "unsigned":
            raise _invalid("The assertion is not signed.") from None
        if bad.kind == "algorithm":
            raise _invalid(
                "The assertion's signature uses an algorithm that is not accepted (SHA-1 is "
                "deprecated: sign with RSA-SHA256) or is malformed."
            ) from None
        if bad.kind == "digest":
            raise AadError(
                400,
                "invalid_request",
                50006,
                "Signature verification failed because of an invalid signature.",
            ) from None
        raise AadError(
            400,
            "invalid_request",
            5000811,
            "Unable to verify token signature. The signing key identifier does not match any "
            "valid registered keys.",
        ) from None
    if signed.issuer != facts.issuer:
        raise _invalid("The signed assertion's issuer differs.")
    # the envelope's (unsigned) facts ride along; every claim comes from the signed element
    return replace(
        signed,
        destination=facts.destination,
        response_in_response_to=facts.response_in_response_to,
        status=facts.status,
    )


def _check_envelope(facts: _saml.Assertion, login_srf: str, tenant: SimTenant) -> None:
    if _saml.AUDIENCE not in facts.audiences:
        raise _invalid(
            f"The audience '{', '.join(facts.audiences) or '(none)'}' is not '{_saml.AUDIENCE}'."
        )
    if facts.protocol == "saml":
        if facts.recipient != login_srf:
            raise _invalid(f"The recipient '{facts.recipient}' is not '{login_srf}'.")
        if facts.destination is not None and facts.destination != login_srf:
            raise _invalid(f"The destination '{facts.destination}' is not '{login_srf}'.")
        if (
            facts.response_in_response_to
            and facts.in_response_to
            and facts.response_in_response_to != facts.in_response_to
        ):
            raise _invalid("The Response and its assertion answer different requests.")
    now: datetime = tenant.clock.now()
    ends = [t for t in (facts.not_on_or_after, facts.confirmation_not_on_or_after) if t]
    starts_ok = facts.not_before is None or facts.not_before - CLOCK_SKEW <= now
    if not ends or not starts_ok or any(now >= end + CLOCK_SKEW for end in ends):
        end = min(ends).isoformat() if ends else "(none)"
        raise AadError(
            400,
            "invalid_grant",
            500133,
            f"Assertion is not within its valid time range. Current time: {now.isoformat()}, "
            f"expiry time of assertion {end}.",
        )


def _check_request(
    federation: Federation, facts: _saml.Assertion, request_id: str | None, tenant: SimTenant
) -> Outstanding | None:
    spent: Outstanding | None = None
    if request_id:
        spent = federation.spend(request_id)
        if spent is None or spent.tenant_id != tenant.id:
            raise _invalid(
                f"The response answers '{request_id}', which is not an outstanding request "
                "(unknown, expired or already answered: a replay)."
            )
    until = max((t.timestamp() for t in (facts.not_on_or_after,) if t), default=0.0)
    if not facts.id or not federation.first_use(facts.id, until + CLOCK_SKEW.total_seconds()):
        raise _invalid(f"The assertion '{facts.id}' was already used (a replay).")
    return spent
