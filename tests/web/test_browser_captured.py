"""Accepting a captured password on the dashboard, in Debian's Chromium: two report-mode
credentials whose passwords were reset in the real Samba AD DC and captured (GnuPG-encrypted
to the directory's capture key, delivered by an enrolled forwarder) each show **Accept the
captured password** on the Flags page; one click makes it the credential's, and the ticked
flags go together."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from credsync.api.state import ServerState
from credsync.server.app import create_app
from credsync.testing.samba import OuWorld
from credsync.types import SyncMode
from intake.conftest import CaptureWorld, build_capture_world
from intake.helpers import gpg_encrypt, password_event
from vault.helpers import make_world

from .conftest import LiveServer
from .test_browser import browser, in_thread, new_page, shot, sign_in

__all__ = ["browser"]  # the Chromium fixture, shared with test_browser


@pytest.fixture
def captured(tmp_path: Path, ad_ou: OuWorld) -> Iterator[tuple[CaptureWorld, list[Any], str]]:
    """Two report-mode credentials, each with a captured password waiting behind its flag;
    the dashboard served over the vault: (world, [(credential, new password)], url)."""
    world = make_world(f"sqlite:///{tmp_path / 'vault.db'}")
    server = None
    try:
        made: list[Any] = []

        def build() -> None:
            cw = build_capture_world(world, ad_ou)
            users = [cw.sw.ad.create_user() for _ in range(2)]
            creds = [
                cw.sw.add(u, mode=SyncMode.REPORT, title=f"User {n}") for n, u in enumerate(users)
            ]
            assert cw.sw.run().state == "done"
            forwarder = cw.enroll()
            events = []
            for n, user in enumerate(users):
                password = f"Captured-Reset-{n}-9!"
                cw.sw.ad.admin.reset_password(user.dn, password)
                stamp = cw.sw.ad.admin.account_state(user.dn)["pwdLastSet"]
                made.append((creds[n], password))
                ciphertext = gpg_encrypt(cw.public_key, cw.fingerprint, password)
                events.append(password_event(user.guid, stamp, ciphertext))
            answer = forwarder.post(events)
            assert answer.status_code == 200, answer.text
            assert [r["outcome"] for r in answer.json()["results"]] == ["accepted"] * 2
            made.insert(0, cw)

        in_thread(build)
        cw = made.pop(0)
        server = LiveServer(create_app(ServerState(world.vault, world.keys))).start()
        yield cw, made, server.url
    finally:
        if server is not None:
            server.stop()
        world.db.dispose()


def test_a_captured_password_is_accepted_in_one_click_and_in_bulk(
    browser: Any, captured: tuple[CaptureWorld, list[Any], str]
) -> None:
    from playwright.sync_api import expect

    cw, made, url = captured
    (first, first_password), (second, second_password) = made
    page = new_page(browser)
    page.goto(f"{url}/sign-in?next=/flags")
    sign_in(page, url)
    page.wait_for_url(f"{url}/flags")
    buttons = page.get_by_role("button", name="Accept the captured password of")
    expect(buttons).to_have_count(2)
    expect(page.get_by_role("row", name="User 0")).to_contain_text(
        "the captured password is available"
    )
    shot(page, "captured-01-flags")

    directory = cw.sw.directory
    page.get_by_role("button", name=f"Accept the captured password of User 0 ({directory})").click()
    expect(page.get_by_role("status")).to_contain_text(
        f"Flag on User 0 ({directory}) resolved: the captured password is the credential's now "
        "(version 2)."
    )
    expect(buttons).to_have_count(1)

    page.get_by_label(f"Select the flag on User 1 ({directory})").check()
    page.get_by_role("button", name="Accept the captured passwords of the selected").click()
    expect(page.get_by_role("status")).to_contain_text("resolved: the captured password is")
    expect(page.get_by_text("No open flags")).to_be_visible()
    shot(page, "captured-02-accepted")
    page.context.close()

    assert cw.sw.reveal(first) == first_password
    assert cw.sw.reveal(second) == second_password
    accepted = cw.sw.vault.audit.list(cw.sw.admin, action="capture.accepted")
    assert sorted(e.target_id for e in accepted) == sorted([first.id, second.id])
