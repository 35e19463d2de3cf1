"""The identity provider's protocol, on both backends: Entra's requests checked and kept
once, the signed SAML 2.0 and WS-Federation answers (verified here with the published
certificate, as Entra does), the refusals (audited) and sign-out."""

from __future__ import annotations

import base64
import datetime as dt
import zlib
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography import x509
from lxml import etree
from signxml.exceptions import InvalidDigest, InvalidSignature
from signxml.verifier import SignatureConfiguration, XMLVerifier

from credsync.errors import NotFound
from credsync.vault.identity_provider import IdpSignInRefused
from credsync.vault.idp_assertions import MULTIPLE_AUTHN, name_id
from credsync.vault.idp_requests import IdpRequestRefused

from .helpers import Ctx
from .idp_world import (
    IMMUTABLE,
    LOGIN,
    authn_request,
    federate,
    post_encoded,
    redirect_encoded,
)

A = "{urn:oasis:names:tc:SAML:2.0:assertion}"
S1 = "{urn:oasis:names:tc:SAML:1.0:assertion}"


def _cert(ctx: Ctx) -> x509.Certificate:
    current, _ = ctx.vault.idp_keys.certificates(ctx.client.id)
    return x509.load_der_x509_certificate(current.der)


def _verify(xml: bytes, cert: x509.Certificate, id_attribute: str = "ID") -> etree._Element:
    result = XMLVerifier().verify(
        xml,
        x509_cert=cert,
        id_attribute=id_attribute,
        expect_config=SignatureConfiguration(default_reference_c14n_method=None),  # type: ignore[arg-type]
    )
    assert not isinstance(result, list)
    signed: etree._Element = result.signed_xml
    return signed


def test_a_saml_sign_in_answers_a_signed_response_as_microsoft_wants_it(ctx: Ctx) -> None:
    fed = federate(ctx)
    idp = ctx.vault.identity_provider
    pending = idp.begin(
        fed.domain,
        {"SAMLRequest": redirect_encoded(authn_request()), "RelayState": "rs-1"},
        redirect=True,
    )
    assert idp.pending(fed.domain, pending.key) is not None
    answer = idp.complete(fed.domain, pending.key, fed.proof(ctx))
    assert (answer.method, answer.action) == ("post", LOGIN)
    assert answer.fields["RelayState"] == "rs-1"
    assert "SAMLResponse" not in repr(answer)
    xml = base64.b64decode(answer.fields["SAMLResponse"])
    response = etree.fromstring(xml)
    assert response.get("InResponseTo") == "_req1"
    assert response.get("Destination") == LOGIN
    assertion = _verify(xml, _cert(ctx))
    assert etree.QName(assertion).localname == "Assertion"
    issuer = f"https://vault.example.test/idp/{fed.domain}"
    assert assertion.findtext(f"{A}Issuer") == issuer
    # the signature sits right after the Assertion's Issuer
    raw_assertion = response.find(f"{A}Assertion")
    assert raw_assertion is not None
    assert etree.QName(raw_assertion[1]).localname == "Signature"
    nid = assertion.find(f"{A}Subject/{A}NameID")
    assert nid is not None
    assert nid.text == name_id(IMMUTABLE) == "AbC.2BdEf/123=="
    assert nid.get("Format") == "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
    data = assertion.find(f"{A}Subject/{A}SubjectConfirmation/{A}SubjectConfirmationData")
    assert data is not None
    assert (data.get("Recipient"), data.get("InResponseTo")) == (LOGIN, "_req1")
    assert data.get("NotOnOrAfter")
    assert assertion.findtext(f"{A}Conditions/{A}AudienceRestriction/{A}Audience") == (
        "urn:federation:MicrosoftOnline"
    )
    values = {
        a.get("Name"): a.findtext(f"{A}AttributeValue") for a in assertion.iter(f"{A}Attribute")
    }
    assert values["IDPEmail"] == fed.upn
    assert values["http://schemas.microsoft.com/claims/authnmethodsreferences"] == MULTIPLE_AUTHN
    assert assertion.findtext(f"{A}AuthnStatement/{A}AuthnContext/{A}AuthnContextClassRef") == (
        MULTIPLE_AUTHN
    )
    [entry] = ctx.audit("idp.sign_in", fed.person_id)
    current, _ = ctx.vault.idp_keys.certificates(ctx.client.id)
    assert entry.details["thumbprint"] == current.thumbprint
    assert entry.details["domain"] == fed.domain
    # one-time: the same request can't be completed twice
    with pytest.raises(IdpSignInRefused, match="already used or has expired"):
        idp.complete(fed.domain, pending.key, fed.proof(ctx))


def test_a_tampered_response_or_another_certificate_fails_verification(ctx: Ctx) -> None:
    fed = federate(ctx)
    idp = ctx.vault.identity_provider
    pending = idp.begin(fed.domain, {"SAMLRequest": post_encoded(authn_request())}, redirect=False)
    xml = base64.b64decode(
        idp.complete(fed.domain, pending.key, fed.proof(ctx)).fields["SAMLResponse"]
    )
    tampered = xml.replace(fed.upn.encode(), b"admin@" + fed.domain.encode())
    with pytest.raises(InvalidDigest):
        _verify(tampered, _cert(ctx))
    other = ctx.other_client()
    foreign, _ = ctx.vault.idp_keys.certificates(other.id, keys=ctx.keys)
    with pytest.raises(InvalidSignature):
        _verify(xml, x509.load_der_x509_certificate(foreign.der))


def test_a_ws_federation_sign_in_answers_a_signed_saml_1_1_token(ctx: Ctx) -> None:
    fed = federate(ctx, "wsFed")
    idp = ctx.vault.identity_provider
    params = {
        "wa": "wsignin1.0",
        "wtrealm": "urn:federation:MicrosoftOnline",
        "wctx": "LoginOptions=3&x=1",
    }
    pending = idp.begin(fed.domain, params, redirect=True)
    answer = idp.complete(fed.domain, pending.key, fed.proof(ctx))
    assert answer.fields["wa"] == "wsignin1.0"
    assert answer.fields["wctx"] == "LoginOptions=3&x=1"
    rstr = etree.fromstring(answer.fields["wresult"].encode())
    assertion = rstr.find(f".//{S1}Assertion")
    assert assertion is not None
    signed = _verify(etree.tostring(assertion), _cert(ctx), "AssertionID")
    assert signed.get("Issuer") == f"https://vault.example.test/idp/{fed.domain}"
    assert signed.findtext(f".//{S1}NameIdentifier") == IMMUTABLE
    claims = {
        a.get("AttributeName"): a.findtext(f"{S1}AttributeValue")
        for a in signed.iter(f"{S1}Attribute")
    }
    assert claims == {
        "UPN": fed.upn,
        "ImmutableID": IMMUTABLE,
        "authnmethodsreferences": MULTIPLE_AUTHN,
    }
    statement = signed.find(f"{S1}AuthenticationStatement")
    assert statement is not None
    assert statement.get("AuthenticationMethod") == MULTIPLE_AUTHN


@pytest.mark.parametrize(
    ("params", "redirect", "match"),
    [
        (
            {"SAMLRequest": redirect_encoded(authn_request(acs="https://evil.example/acs"))},
            True,
            "not at the domain's sign-in URL",
        ),
        (
            {"SAMLRequest": redirect_encoded(authn_request(issuer="urn:someone:else"))},
            True,
            "not urn:federation:MicrosoftOnline",
        ),
        (
            {"SAMLRequest": post_encoded(authn_request(extra='<!DOCTYPE x [<!ENTITY e "boom">]>'))},
            False,
            "DOCTYPE",
        ),
        ({"SAMLRequest": "A" * 70000}, True, "longer than"),
        (
            {"SAMLRequest": redirect_encoded(b"<a>" + b"x" * 300000 + b"</a>")},
            True,
            "inflates past",
        ),
        ({"SAMLRequest": post_encoded(b"not xml")}, False, "not XML"),
        ({"wa": "wsignin1.0", "wtrealm": "urn:other"}, True, "wtrealm"),
        (
            {
                "wa": "wsignin1.0",
                "wtrealm": "urn:federation:MicrosoftOnline",
                "wreply": "https://evil.example/",
            },
            True,
            "wreply",
        ),
        ({}, True, "no sign-in request"),
    ],
)
def test_bad_requests_are_refused_and_audited(
    ctx: Ctx, params: dict[str, str], redirect: bool, match: str
) -> None:
    fed = federate(ctx)
    with pytest.raises(IdpRequestRefused, match=match):
        ctx.vault.identity_provider.begin(fed.domain, params, redirect=redirect)
    [entry] = ctx.audit("idp.refused", fed.domain)
    assert entry.details["check"] == "request"


def test_an_unknown_or_managed_domain_answers_not_found(ctx: Ctx) -> None:
    fed = federate(ctx)
    idp = ctx.vault.identity_provider
    with pytest.raises(NotFound):
        idp.metadata("nobody.example")
    ctx.vault.federated_domains.set_state(ctx.admin, ctx.name, fed.domain, "managed")
    with pytest.raises(NotFound):
        idp.begin(fed.domain, {"SAMLRequest": redirect_encoded(authn_request())}, redirect=True)


def test_the_person_must_have_done_mfa_be_set_up_and_fresh_when_asked(ctx: Ctx) -> None:
    fed = federate(ctx)
    idp = ctx.vault.identity_provider

    def start(force: bool = False) -> str:
        encoded = redirect_encoded(authn_request(force=force))
        return idp.begin(fed.domain, {"SAMLRequest": encoded}, redirect=True).key

    with pytest.raises(IdpSignInRefused, match="without a second factor"):
        idp.complete(fed.domain, start(), fed.proof(ctx, mfa=False))
    stale = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    with pytest.raises(IdpSignInRefused, match="fresh sign-in"):
        idp.complete(fed.domain, start(force=True), fed.proof(ctx, at=stale))
    idp.complete(fed.domain, start(force=False), fed.proof(ctx, at=stale))  # not asked: fine
    ctx.vault.federated_domains.set_identities(ctx.admin, ctx.name, fed.domain, [])
    with pytest.raises(IdpSignInRefused, match="not set up for Office 365 sign-in"):
        idp.complete(fed.domain, start(), fed.proof(ctx))
    reasons = {e.details["reason"] for e in ctx.audit("idp.refused", fed.person_id)}
    assert any("second factor" in r for r in reasons)
    assert any("not set up" in r for r in reasons)


def test_signing_uses_the_new_key_after_a_rotation_and_metadata_shows_both_during_it(
    ctx: Ctx,
) -> None:
    fed = federate(ctx)
    idp = ctx.vault.identity_provider
    old, _ = ctx.vault.idp_keys.certificates(ctx.client.id)
    new = ctx.vault.idp_keys.begin_rotation(ctx.admin, ctx.name)
    meta = etree.fromstring(idp.metadata(fed.domain))
    ds = "{http://www.w3.org/2000/09/xmldsig#}"
    published = [c.text for c in meta.iter(f"{ds}X509Certificate")]
    assert published == [old.b64, new.b64]
    assert meta.get("entityID") == f"https://vault.example.test/idp/{fed.domain}"
    ctx.vault.idp_keys.finish_rotation(ctx.admin, ctx.name)
    pending = idp.begin(
        fed.domain, {"SAMLRequest": redirect_encoded(authn_request())}, redirect=True
    )
    xml = base64.b64decode(
        idp.complete(fed.domain, pending.key, fed.proof(ctx)).fields["SAMLResponse"]
    )
    _verify(xml, x509.load_der_x509_certificate(new.der))
    with pytest.raises(InvalidSignature):
        _verify(xml, x509.load_der_x509_certificate(old.der))


def test_sign_out_answers_a_logout_response_by_redirect(ctx: Ctx) -> None:
    fed = federate(ctx)
    logout = (
        b'<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_out1" '
        b'Version="2.0" IssueInstant="2026-12-07T01:00:00Z"><saml:Issuer '
        b'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">urn:federation:MicrosoftOnline'
        b"</saml:Issuer></samlp:LogoutRequest>"
    )
    answer = ctx.vault.identity_provider.sign_out(
        fed.domain, {"SAMLRequest": redirect_encoded(logout), "RelayState": "r"}, redirect=True
    )
    assert answer.method == "redirect"
    query = parse_qs(urlsplit(answer.action).query)
    xml = zlib.decompress(base64.b64decode(query["SAMLResponse"][0]), -15)
    response = etree.fromstring(xml)
    assert response.get("InResponseTo") == "_out1"
    assert query["RelayState"] == ["r"]
    ws = ctx.vault.identity_provider.sign_out(fed.domain, {"wa": "wsignout1.0"}, redirect=True)
    assert ws.method == "page"
