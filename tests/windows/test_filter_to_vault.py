"""From the password filter (the real DLL, under Wine) to a new version in the vault: a user of
this test's OU on the shared Samba DC changes password, the harness notifies the DLL as LSA
would, and the record it spooled goes, as the forwarder sends it (format
``lsa-x25519-hkdf-sha256+a256gcm``, with the objectGUID, objectSid and pwdLastSet read from the
DC), to the capture endpoint of the real app, signed by an enrolled forwarder."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import pytest

from credsync.crypto.openpgp import x25519_recipient
from credsync.testing.samba import OuWorld
from credsync.types import SyncMode
from intake.conftest import CaptureWorld, build_capture_world
from intake.helpers import password_event
from vault.helpers import VaultWorld

from .conftest import Wine, windows_path
from .test_filter_dll import notify

pytestmark = [pytest.mark.xdist_group("wine"), pytest.mark.samba]

LSA = "lsa-x25519-hkdf-sha256+a256gcm"


@pytest.fixture
def cw(sqlite_world: VaultWorld, ad_ou: OuWorld) -> CaptureWorld:
    return build_capture_world(sqlite_world, ad_ou)


def sid_text(raw: bytes) -> str:
    count = raw[1]
    authority = int.from_bytes(raw[2:8], "big")
    subs = struct.unpack(f"<{count}I", raw[8 : 8 + 4 * count])
    return "-".join(["S", str(raw[0]), str(authority), *map(str, subs)])


def spool_one(wine: Wine, cw: CaptureWorld, tmp: Path, account: str, rid: int, pw: str) -> str:
    """The record the DLL spools for one notification."""
    spool = tmp / "spool"
    script = tmp / "script.txt"
    script.write_text(f"{notify(rid, account, pw)}\ndrain 15000\n", encoding="ascii")
    # what install.ps1's -RecipientKey is given: the key's JSON, as the CLI and API show it
    key = cw.http.get(f"/api/v1/directories/{cw.sw.directory}/capture/key").json()
    recipient = key["x25519_public_hex"]
    assert recipient == x25519_recipient(cw.public_key).hex()
    out = wine.run(
        wine.bin_dir / "harness.exe",
        windows_path(wine.dll),
        windows_path(spool),
        recipient,
        "EXAMPLE",
        "100000",
        windows_path(script),
    )
    assert "drain ok" in out
    (path,) = spool.glob("*.cap")
    text = path.read_text(encoding="ascii")
    path.unlink()
    return text


def outcomes(answer: Any) -> list[tuple[str, str]]:
    assert answer.status_code == 200, answer.text
    return [(r["outcome"], r["detail"] or "") for r in answer.json()["results"]]


def test_a_change_notified_to_the_dll_becomes_a_new_version_of_the_linked_credential(
    wine: Wine, cw: CaptureWorld, tmp_path: Path
) -> None:
    user = cw.sw.ad.create_user()
    cred = cw.sw.add(user, mode=SyncMode.TWO_WAY)
    assert cw.sw.run().state == "done"
    forwarder = cw.enroll()
    new_password = "Wïndows-Filter-Ünïcode-7!"
    cw.sw.ad.admin.reset_password(user.dn, new_password)
    stamp: int = cw.sw.ad.admin.account_state(user.dn)["pwdLastSet"]
    cw.sw.ad.admin.conn.search(user.dn, "(objectClass=*)", "BASE", attributes=["objectSid"])
    sid = sid_text(cw.sw.ad.admin.conn.response[0]["raw_attributes"]["objectSid"][0])
    rid = int(sid.rsplit("-", 1)[1])
    record = spool_one(wine, cw, tmp_path, user.name, rid, new_password)

    def event(**changes: Any) -> dict[str, Any]:
        fields = {"object_sid": sid, "sam": user.name, "ciphertext_format": LSA, **changes}
        return password_event(user.guid, stamp, record, **fields)

    # a record presented as another account's, RID's or later change's is refused, unopened
    refused = forwarder.post(
        [
            event(sam="someone.else"),
            event(object_sid=sid.rsplit("-", 1)[0] + f"-{rid + 1}"),
            {**event(), "pwd_last_set": stamp + 10**10},
        ]
    )
    assert [o for o, _ in outcomes(refused)] == ["rejected"] * 3
    details = " ".join(d for _, d in outcomes(refused))
    assert "another account" in details
    assert "RID" in details
    assert "older than the change" in details
    assert new_password not in refused.text
    assert cw.sw.reveal(cred) != new_password

    assert [o for o, _ in outcomes(forwarder.post([event()]))] == ["accepted"]
    assert cw.sw.reveal(cred) == new_password
    history = cw.sw.vault.credentials.history(cw.sw.admin, None, cred.id)
    assert sorted((h.version, h.source) for h in history) == [(1, "created"), (2, "directory")]
    # delivered twice (a forwarder that lost its ack): a duplicate, no third version
    assert [o for o, _ in outcomes(forwarder.post([event()]))] == ["duplicate"]
