"""Signing in to the dashboard with Microsoft (in-process, against the Graph simulator as the
MSP's tenant): the button shows only once the tenant is connected; a linked operator signs in
(a session, audited ``auth.web_login`` via microsoft); refused, with the sign-in page saying
why: no flow cookie (another browser), a changed state, a replayed code, a tampered cookie,
an unknown user (audited ``auth.failed``), a disabled operator, a tenant answering with an
error."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from fastapi.testclient import TestClient

from credsync.testing.graphsim import GraphSimulator, SimTenant, authorize
from credsync.types import Secret

from .conftest import WebWorld, operator_name, page_text

PASSWORD = "Dashboard-Microsoft-1!"
REDIRECT = "https://vault.example.test/sign-in/microsoft/callback"


@pytest.fixture(scope="module")
def sim() -> Iterator[GraphSimulator]:
    with GraphSimulator(port=0, seed=23) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def msp(sim: GraphSimulator) -> SimTenant:
    tenant = sim.add_tenant(users=0, groups=0, domain="msp-web.test")
    sim.add_redirect_uri(tenant, REDIRECT)
    for alias in ("tech", "stranger", "gone"):
        tenant.create_user(upn=f"{alias}@{tenant.domain}", password=PASSWORD, display_name=alias)
    return tenant


def _oid(tenant: SimTenant, alias: str) -> str:
    user = tenant.store.user(f"{alias}@{tenant.domain}")
    assert user is not None
    return str(user["id"])


@pytest.fixture
def connected(web: WebWorld, sim: GraphSimulator, msp: SimTenant) -> WebWorld:
    """The web world's vault connected to the MSP tenant, op-technician linked to tech."""
    world = web.world
    world.vault.operator_sign_in.setup(
        world.admin,
        world.keys,
        tenant_id=msp.id,
        client_id=msp.default_app.client_id,
        client_secret=Secret(msp.default_app.client_secret),
        redirect_uri=REDIRECT,
        authority=sim.url,
        ca_pem=sim.ca_pem,
    )
    world.vault.operator_sign_in.link(
        world.admin, operator_name("technician"), _oid(msp, "tech"), username="tech"
    )
    return web


def _start(browser: TestClient) -> str:
    """Press the button: where the browser is sent (Microsoft's authorize page)."""
    answer = browser.get("/sign-in/microsoft", params={"next": "/clients"})
    assert answer.status_code == 303, answer.text
    return str(answer.headers["location"])


def _callback(browser: TestClient, location: str) -> Any:
    """Follow Microsoft's redirect back to the dashboard (the redirect URI's path)."""
    parts = urlsplit(location)
    return browser.get(f"{parts.path}?{parts.query}")


def _sign_in(browser: TestClient, sim: GraphSimulator, msp: SimTenant, alias: str) -> Any:
    location = authorize(sim, _start(browser), f"{alias}@{msp.domain}", PASSWORD)
    return _callback(browser, location)


def test_the_button_shows_once_the_tenant_is_connected(web: WebWorld, sim, msp) -> None:
    assert "Sign in with Microsoft" not in web.http.get("/sign-in").text
    answer = web.http.get("/sign-in/microsoft")
    assert answer.status_code == 404
    assert "not set up" in page_text(answer.text)


def test_a_linked_operator_signs_in(connected: WebWorld, sim, msp) -> None:
    browser = connected.http
    page = browser.get("/sign-in")
    assert 'id="sign-in-microsoft"' in page.text
    location = _start(browser)
    assert location.startswith(f"{sim.url}/{msp.id}/oauth2/v2.0/authorize?")
    query = parse_qs(urlsplit(location).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["redirect_uri"] == [REDIRECT]
    assert {"state", "nonce", "code_challenge"} <= query.keys()
    done = _callback(browser, authorize(sim, location, f"tech@{msp.domain}", PASSWORD))
    assert done.status_code == 200, page_text(done.text)
    assert '<meta http-equiv="refresh" content="0;url=/clients">' in done.text
    assert browser.cookies.get("credsync_session")
    home = browser.get("/")
    assert home.status_code == 200
    assert operator_name("technician") in home.text
    world = connected.world
    login = world.vault.audit.list(world.admin, action="auth.web_login", limit=1)[0]
    assert login.details["via"] == "microsoft"
    assert login.details["mfa"] == "none"


def test_without_the_flow_cookie_it_is_refused(connected: WebWorld, sim, msp) -> None:
    location = authorize(sim, _start(connected.http), f"tech@{msp.domain}", PASSWORD)
    elsewhere = connected.http  # another browser: no flow cookie
    answer = _callback(elsewhere, location)
    assert answer.status_code == 401
    assert "another browser" in page_text(answer.text)
    assert not elsewhere.cookies.get("credsync_session")


def test_a_changed_state_is_refused(connected: WebWorld, sim, msp) -> None:
    browser = connected.http
    location = authorize(sim, _start(browser), f"tech@{msp.domain}", PASSWORD)
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    query["state"] = "forged-state"
    answer = browser.get(f"{urlsplit(location).path}?{urlencode(query)}")
    assert answer.status_code == 401
    assert "does not match" in page_text(answer.text)
    assert not browser.cookies.get("credsync_session")


def test_a_replayed_code_is_refused(connected: WebWorld, sim, msp) -> None:
    browser = connected.http
    location = authorize(sim, _start(browser), f"tech@{msp.domain}", PASSWORD)
    flow_cookie = browser.cookies.get("credsync_ms_flow")
    assert _callback(browser, location).status_code == 200
    replay = connected.http
    replay.cookies.set("credsync_ms_flow", flow_cookie or "", path="/sign-in/microsoft/callback")
    answer = _callback(replay, location)
    assert answer.status_code == 401
    assert "AADSTS54005" in page_text(answer.text)


def test_a_tampered_flow_cookie_is_refused(connected: WebWorld, sim, msp) -> None:
    browser = connected.http
    location = authorize(sim, _start(browser), f"tech@{msp.domain}", PASSWORD)
    cookie = browser.cookies.get("credsync_ms_flow") or ""
    body, _, mac = cookie.partition(".")
    browser.cookies.clear()
    browser.cookies.set(
        "credsync_ms_flow", body[:-2] + "AA." + mac, path="/sign-in/microsoft/callback"
    )
    assert _callback(browser, location).status_code == 401


def test_an_unknown_user_is_refused_and_audited(connected: WebWorld, sim, msp) -> None:
    browser = connected.http
    answer = _sign_in(browser, sim, msp, "stranger")
    assert answer.status_code == 401
    assert "no operator is linked" in page_text(answer.text)
    assert not browser.cookies.get("credsync_session")
    world = connected.world
    failed = world.vault.audit.list(world.admin, action="auth.failed", limit=1)[0]
    assert failed.details == {"reason": "no operator is linked to it", "via": "microsoft"}


def test_a_disabled_operator_is_refused(connected: WebWorld, sim, msp) -> None:
    world = connected.world
    world.vault.operators.set_disabled(world.admin, operator_name("technician"), True)
    answer = _sign_in(connected.http, sim, msp, "tech")
    assert answer.status_code == 401
    assert "is disabled" in page_text(answer.text)


def test_an_unlinked_operator_is_refused(connected: WebWorld, sim, msp) -> None:
    world = connected.world
    world.vault.operator_sign_in.unlink(world.admin, operator_name("technician"))
    assert _sign_in(connected.http, sim, msp, "tech").status_code == 401


def test_a_wrong_password_stays_on_microsofts_page(connected: WebWorld, sim, msp) -> None:
    with pytest.raises(ValueError, match="AADSTS50126"):
        authorize(sim, _start(connected.http), f"tech@{msp.domain}", "wrong")


def test_microsofts_error_redirect_is_shown(connected: WebWorld, sim, msp) -> None:
    browser = connected.http
    location = _start(browser)
    state = parse_qs(urlsplit(location).query)["state"][0]
    answer = browser.get(
        "/sign-in/microsoft/callback",
        params={
            "error": "access_denied",
            "error_description": "AADSTS65004: User declined to consent.",
            "state": state,
        },
    )
    assert answer.status_code == 401
    assert "AADSTS65004" in page_text(answer.text)


# -- the admin's page ----------------------------------------------------------------------------
def test_an_admin_sets_up_links_and_unlinks_on_the_page(web: WebWorld, sim, msp) -> None:
    admin = web.signed_in("admin")
    page = admin.get("/microsoft-sign-in")
    assert page.status_code == 200
    assert "Not set up yet" in page_text(page.text)
    csrf = web.csrf(admin)
    fields = {
        "csrf_token": csrf,
        "tenant_id": "not-a-guid",
        "client_id": msp.default_app.client_id,
        "client_secret": msp.default_app.client_secret,
        "redirect_uri": REDIRECT,
        "authority": sim.url,
        "ca_pem": sim.ca_pem,
    }
    refused = admin.post("/microsoft-sign-in", data=fields)
    assert refused.status_code == 400
    assert 'id="tenant_id"' in refused.text
    assert "aria-invalid" in refused.text
    assert msp.default_app.client_secret not in refused.text
    done = admin.post("/microsoft-sign-in", data={**fields, "tenant_id": msp.id})
    assert done.status_code == 303
    shown = admin.get("/microsoft-sign-in")
    assert msp.id in shown.text
    assert msp.default_app.client_secret not in shown.text
    linked = admin.post(
        "/microsoft-sign-in/link",
        data={"csrf_token": csrf, "operator": "op-viewer", "object_id": _oid(msp, "tech")},
    )
    assert linked.status_code == 303
    assert _oid(msp, "tech") in admin.get("/microsoft-sign-in").text
    bad = admin.post(
        "/microsoft-sign-in/link",
        data={"csrf_token": csrf, "operator": "op-auditor", "object_id": _oid(msp, "tech")},
    )
    assert bad.status_code == 400
    assert "linked to operator" in page_text(bad.text)
    # the viewer now signs in with Microsoft, as user tech
    browser = web.http
    assert _sign_in(browser, sim, msp, "tech").status_code == 200
    assert "op-viewer" in browser.get("/").text
    gone = admin.post(
        "/microsoft-sign-in/unlink", data={"csrf_token": csrf, "operator": "op-viewer"}
    )
    assert gone.status_code == 303
    assert web.world.vault.operator_sign_in.links(web.world.admin) == []


def test_an_admin_imports_operators_on_the_page(connected: WebWorld, sim, msp) -> None:
    admin = connected.signed_in("admin")
    csrf = connected.csrf(admin)
    found = admin.get("/microsoft-sign-in/import", params={"q": "stranger"})
    assert found.status_code == 200, page_text(found.text)
    stranger = _oid(msp, "stranger")
    assert f'name="user_{stranger}"' in found.text
    done = admin.post(
        "/microsoft-sign-in/import",
        data={"csrf_token": csrf, f"user_{stranger}": "on", "role": "auditor"},
    )
    assert done.status_code == 200
    assert "created" in page_text(done.text)
    world = connected.world
    op = world.vault.operators.get(world.admin, f"stranger@{msp.domain}")
    assert op.role == "auditor"
    group = msp.create_group("Web helpdesk", members=[_oid(msp, "gone")])
    mapped = admin.post(
        "/microsoft-sign-in/groups", data={"csrf_token": csrf, "group_id": group, "role": "viewer"}
    )
    assert mapped.status_code == 303
    assert "Web helpdesk" in admin.get("/microsoft-sign-in/import").text
    synced = admin.post("/microsoft-sign-in/import", data={"csrf_token": csrf, "role": "viewer"})
    assert f"gone@{msp.domain}" in page_text(synced.text)
    msp.disable(_oid(msp, "gone"))
    again = admin.post("/microsoft-sign-in/import", data={"csrf_token": csrf, "role": "viewer"})
    assert "disabled in the tenant" in page_text(again.text)
    assert "disabled in the tenant" in page_text(admin.get("/microsoft-sign-in").text)
    msp.enable(_oid(msp, "gone"))
    unmapped = admin.post(
        "/microsoft-sign-in/groups/unmap", data={"csrf_token": csrf, "group_id": group}
    )
    assert unmapped.status_code == 303
    assert world.vault.operator_groups.list(world.admin) == []
