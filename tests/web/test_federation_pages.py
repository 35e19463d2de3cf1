"""A client's federation on the dashboard, in-process, against the Graph simulator: the
Federation page, the confirmation pages that say what will happen (the 2-hour window, the
password push), enabling (the settings made in the tenant), a refusal shown on the page (the
default domain), a rotation step, defederation with its report, and who may: a technician's
and a viewer's posts and confirmation pages are refused with nothing written."""

from __future__ import annotations

from typing import Any

import pytest

from credsync.testing.graphsim import sign_in
from sync.federation_world import FedWorld, build

from .conftest import WebWorld, csrf_of, page_text
from .entra_pages import client_id, graph_sim

__all__ = ["graph_sim"]  # the fixture, shared with tests/sync

URL = "https://vault.example"


@pytest.fixture
def fw(web: WebWorld, graph_sim: Any) -> FedWorld:
    return build(web.world, graph_sim)


def _post(browser: Any, path: str, **data: str) -> Any:
    return browser.post(path, data={"csrf_token": csrf_of(browser.get("/").text), **data})


def test_enable_rotate_and_disable_through_the_confirmation_pages(
    web: WebWorld, fw: FedWorld
) -> None:
    admin = web.signed_in("directory_manager")
    client = client_id(fw.ew)
    base = f"/clients/{client}/federation"
    assert f'href="{base}"' in admin.get(f"/clients/{client}").text
    first = admin.get(base)
    assert first.status_code == 200
    assert "No domain is federated to the vault." in page_text(first.text)

    confirm = admin.get(f"{base}/enable", params={"domain": fw.domain, "url": URL})
    assert confirm.status_code == 200
    assert "up to 2 hours" in page_text(confirm.text)
    assert fw.ew.tenant.federation == {}  # the confirmation writes nothing

    refused = _post(admin, f"{base}/enable", domain=fw.ew.tenant.domain, url=URL)
    assert refused.status_code == 400
    assert "default domain" in page_text(refused.text)

    done = _post(admin, f"{base}/enable", domain=fw.domain, url=URL, protocol="saml",
                 mfa="enforce")  # fmt: skip
    assert done.status_code == 200, done.text
    assert f"{URL}/idp/{fw.domain}" in page_text(done.text)
    assert fw.config["issuerUri"] == f"{URL}/idp/{fw.domain}"
    shown = page_text(admin.get(base).text)
    assert fw.domain in shown
    assert "current:" in shown

    assert "next one" in page_text(admin.get(f"{base}/rotate", params={"step": "begin"}).text)
    rotated = _post(admin, f"{base}/rotate", step="begin")
    assert rotated.status_code == 303
    assert "Rotation step 'begin' done." in page_text(admin.get(rotated.headers["location"]).text)
    assert fw.config["nextSigningCertificate"]

    warned = page_text(admin.get(f"{base}/disable", params={"domain": fw.domain}).text)
    assert "vault password is set as their Office 365 password" in warned
    report = _post(admin, f"{base}/disable", domain=fw.domain)
    assert report.status_code == 200, report.text
    text = page_text(report.text)
    assert fw.users["cid"] in text
    assert "no password" in text
    assert fw.domain not in fw.ew.tenant.federation
    assert sign_in(fw.ew.sim, fw.users["ann"], fw.passwords["ann"] or "").ok


@pytest.mark.parametrize("role", ["viewer", "technician"])
def test_who_may_not(web: WebWorld, fw: FedWorld, role: str) -> None:
    browser = web.signed_in(role)
    base = f"/clients/{client_id(fw.ew)}/federation"
    assert browser.get(base).status_code == 200  # vault.read sees the page
    assert "Federate a domain" not in page_text(browser.get(base).text)
    for path, data in (
        ("/enable", {"domain": fw.domain, "url": URL}),
        ("/rotate", {"step": "begin"}),
        ("/disable", {"domain": fw.domain}),
    ):
        answer = _post(browser, base + path, **data)
        assert answer.status_code == 403, path
        assert browser.get(base + path, params=data).status_code == 403
    assert fw.ew.tenant.federation == {}
