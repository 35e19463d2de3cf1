"""The flags page in-process: more than 1,000 open flags a page at a time with "next" links
and filters; "push selected" and "accept selected" (and the single actions) through a
confirmation page naming what they overwrite or leave unknown, then the same service calls as
the API's, each flag checked on its own; roles without the permissions refused before
anything; a credential whose directory password was accepted without it shows
password_unknown and is listed on its client's page."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from sync.entra import EntraWorld, build_entra_world
from vault.flag_seed import Seeded, seed_flags

from .conftest import WebWorld

COUNT = 1_030
_PICK = re.compile(r'name="flag" value="([0-9a-f-]{36})" form="selected"')
_NEXT = re.compile(r'<a href="(/flags\?[^"]*after=[^"]+)">Next \d+ flags</a>')


@pytest.fixture
def seeded(web: WebWorld) -> Seeded:
    return seed_flags(web.world, "Contoso", COUNT, directory="contoso-ad")


def _picks(page: str) -> list[str]:
    return _PICK.findall(page)


def test_every_flag_a_page_at_a_time(web: WebWorld, seeded: Seeded) -> None:
    browser = web.signed_in("admin")
    page = browser.get("/flags")
    assert page.status_code == 200
    assert f"{COUNT} open flags, the most recently opened first: 100 on this page" in page.text
    seen: list[str] = []
    pages = 0
    while True:
        pages += 1
        picks = _picks(page.text)
        assert len(picks) == (100 if pages <= COUNT // 100 else COUNT % 100)
        seen += picks
        found = _NEXT.search(page.text)
        if not found:
            break
        page = browser.get(html.unescape(found.group(1)))
        assert page.status_code == 200
        assert "First page" in page.text
    assert len(seen) == len(set(seen)) == COUNT
    assert pages == COUNT // 100 + 1


def test_filters_narrow_the_list(web: WebWorld, seeded: Seeded) -> None:
    browser = web.signed_in("viewer")
    mismatch = browser.get("/flags", params={"status": "mismatch", "directory": "contoso-ad"})
    total = len(range(0, COUNT, 3))
    assert f"{total} open flags match" in mismatch.text
    assert "Clear the filters" in mismatch.text
    assert 'value="mismatch"' in mismatch.text
    assert "changed_in_directory</span>" not in mismatch.text
    recent = browser.get("/flags", params={"since": "1d"})
    assert "100 open flags match" in recent.text
    assert _NEXT.search(recent.text) is None
    older = browser.get("/flags", params={"older_than": "10d", "client": web.ids["client"]})
    assert f"{COUNT - 1000} open flags match" in older.text
    none = browser.get("/flags", params={"status": "locked_out"})
    assert "No open flag matches these filters." in none.text
    bad = browser.get("/flags", params={"older_than": "soon"})
    assert bad.status_code == 400
    assert "Older than &#39;soon&#39; is neither an age" in bad.text
    # A viewer reads them but has no way to act on them.
    assert _picks(mismatch.text) == []
    assert "Resolving needs vault.write and directory_admin.use." in mismatch.text


@pytest.mark.parametrize(
    ("role", "missing"), [("viewer", "vault.write"), ("technician", "directory_admin.use")]
)
def test_acting_on_selected_flags_needs_the_permissions(
    web: WebWorld, seeded: Seeded, role: str, missing: str
) -> None:
    ids = _picks(web.signed_in("admin").get("/flags").text)[:3]
    browser = web.signed_in(role)
    token = web.csrf(browser)
    before = web.world.vault.audit.list(web.world.admin, limit=1)[0].seq
    for action in ("push", "accept"):
        for confirmed in ("", "yes"):
            data = {"csrf_token": token, "action": action, "flag": ids, "confirmed": confirmed}
            refused = browser.post("/flags/selected", data=data)
            assert refused.status_code == 403, refused.text
            assert missing in refused.text
        single = browser.post(f"/flags/{ids[0]}/{action}", data={"csrf_token": token})
        assert single.status_code == 403
    since = web.world.vault.audit.list(web.world.admin, limit=20)
    assert {e.action for e in since if e.seq > before} <= {"permission.denied"}  # only those
    assert all(f.open for f in web.world.vault.flags.of_ids(web.world.admin, ids))


def test_a_confirmation_page_first_then_each_flag_on_its_own(web: WebWorld, seeded: Seeded) -> None:
    """Flags of a directory never read: the confirmation page lists them, and acting on them
    refuses each with the reason (the vault knows no state of theirs to accept)."""
    browser = web.signed_in("admin")
    ids = _picks(browser.get("/flags").text)[:2]
    token = web.csrf(browser)
    data = {"csrf_token": token, "action": "accept", "flag": [*ids, "0" * 36], "back": "/flags"}
    confirm = browser.post("/flags/selected", data=data)
    assert confirm.status_code == 200
    assert "<h1>Accept the directory&#39;s state?</h1>" in confirm.text
    assert "these 2 flags close" in confirm.text
    assert confirm.text.count('name="flag" value=') == 2
    assert "no such flag" in confirm.text
    assert 'name="confirmed" value="yes"' in confirm.text
    assert all(f.open for f in web.world.vault.flags.of_ids(web.world.admin, ids))  # not yet
    done = browser.post("/flags/selected", data={**data, "flag": ids, "confirmed": "yes"})
    assert done.status_code == 303
    shown = browser.get(done.headers["location"])
    assert "2 not resolved" in shown.text
    assert "is not known" in html.unescape(shown.text)
    nothing = browser.post("/flags/selected", data={"csrf_token": token, "action": "push"})
    assert nothing.status_code == 303
    assert "Tick the flags" in browser.get(nothing.headers["location"]).text


# -- against the Graph simulator ---------------------------------------------------------------
@pytest.fixture(scope="module")
def sim() -> Iterator[Any]:
    from credsync.testing.graphsim import GraphSimulator

    with GraphSimulator(port=0, seed=29) as simulator:
        yield simulator


def _flagged(ew: EntraWorld, count: int) -> list[tuple[Any, Any]]:
    """``count`` users in step with their credentials, then reset in the portal: (user,
    credential) each, with an open changed_in_directory flag."""
    made = []
    for n in range(count):
        user = ew.add_user(display_name=f"User {n}")
        made.append((user, ew.add(user, title=f"User {n}")))
    ew.run()
    ew.later()
    for user, _ in made:
        ew.tenant.set_password(user.id, f"Portal-Reset-{user.id[:6]}-1!")
    ew.run()
    assert set(ew.flags().values()) == {"changed_in_directory"}
    return made


def _confirm(browser: TestClient, web: WebWorld, action: str, ids: list[str]) -> Any:
    data = {"csrf_token": web.csrf(browser), "action": action, "flag": ids, "back": "/flags"}
    page = browser.post("/flags/selected", data=data)
    assert page.status_code == 200, page.text
    return page, data


def test_push_and_accept_selected(web: WebWorld, sim: Any) -> None:
    ew = build_entra_world(web.world, sim)
    made = _flagged(ew, 3)
    flags = {f.credential_id: f for f in ew.vault.flags.list(ew.admin, ew.client)}
    (user_a, cred_a), (user_b, cred_b), (_, cred_c) = made
    browser = web.signed_in("directory_manager")

    push_ids = [flags[cred_a.id].id, flags[cred_b.id].id]
    page, data = _confirm(browser, web, "push", push_ids)
    assert "<h1>Push the vault&#39;s password?</h1>" in page.text
    assert "Directory accounts whose password is overwritten" in page.text
    for user in (user_a, user_b):
        assert user.upn in page.text  # the accounts it overwrites, by name
    assert "Push 2 passwords" in page.text
    assert not ew.tenant.check_password(user_a.id, ew.reveal(cred_a))  # not pushed yet
    done = browser.post("/flags/selected", data={**data, "confirmed": "yes"})
    assert done.status_code == 303
    assert "2 flags resolved: pushed the vault" in browser.get(done.headers["location"]).text
    for user, cred in ((user_a, cred_a), (user_b, cred_b)):
        assert ew.tenant.check_password(user.id, ew.reveal(cred))
    pushes = ew.vault.audit.list(ew.admin, action="credential.pushed", limit=10)
    assert len(pushes) == 2
    assert len({entry.details["run_id"] for entry in pushes}) == 1  # one run, one directory

    page, data = _confirm(browser, web, "accept", [flags[cred_c.id].id])
    assert "this flag closes" in page.text
    assert "password_unknown" in page.text
    done = browser.post("/flags/selected", data={**data, "confirmed": "yes"})
    notice = browser.get(done.headers["location"]).text
    assert "accepted the directory&#39;s state" in notice
    assert "1 credential has a directory password the vault does not know" in notice
    credential = browser.get(f"/credentials/{cred_c.id}").text
    assert "password_unknown" in credential
    assert "The vault does not know this account" in credential
    client_id = ew.vault.clients.get(ew.admin, ew.client).id
    listed = browser.get(f"/clients/{client_id}", params={"password_unknown": 1}).text
    assert "whose directory password the vault does not know" in listed
    assert f'href="/credentials/{cred_c.id}"' in listed
    assert f'href="/credentials/{cred_a.id}"' not in listed
    assert "password_unknown" in browser.get(f"/clients/{client_id}").text  # its badge
    found = browser.get("/search", params={"q": "User 2"}).text
    assert "password_unknown" in found


def test_a_single_push_asks_first_and_accepting_a_password_does_not(
    web: WebWorld, sim: Any
) -> None:
    ew = build_entra_world(web.world, sim)
    (user_a, cred_a), (user_b, cred_b) = _flagged(ew, 2)
    flags = {f.credential_id: f for f in ew.vault.flags.list(ew.admin, ew.client)}
    browser = web.signed_in("admin")
    token = web.csrf(browser)
    asked = browser.post(f"/flags/{flags[cred_a.id].id}/push", data={"csrf_token": token})
    assert asked.status_code == 200
    assert user_a.upn in asked.text
    assert "Push the password" in asked.text
    assert flags[cred_a.id].id in {f.id for f in ew.vault.flags.list(ew.admin, ew.client)}
    stored = browser.post(
        f"/flags/{flags[cred_b.id].id}/accept",
        data={"csrf_token": token, "password": f"Portal-Reset-{user_b.id[:6]}-1!"},
    )
    assert stored.status_code == 303
    assert "stored the directory" in html.unescape(browser.get(stored.headers["location"]).text)
    assert ew.reveal(cred_b) == f"Portal-Reset-{user_b.id[:6]}-1!"
    accept = browser.post(f"/flags/{flags[cred_a.id].id}/accept", data={"csrf_token": token})
    assert accept.status_code == 200  # no password: confirmation first
    assert "Accept the directory" in accept.text
    assert set(ew.flags()) == {cred_a.id}  # still open: nothing was pushed or accepted
    assert not ew.tenant.check_password(user_a.id, ew.reveal(cred_a))
