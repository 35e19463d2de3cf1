"""The password filter DLL under Wine: a harness calls its exports as LSA does (UNICODE_STRINGs
with no NUL and junk after Length), and the vault's side opens the spool files it wrote."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from credsync.crypto.openpgp import CaptureDecryptor, generate_capture_key, x25519_recipient
from credsync.errors import InvalidInput
from credsync.vault.capture_lsa import LsaRecord, open_record, parse_record

from .conftest import Wine, windows_path

pytestmark = pytest.mark.xdist_group("wine")

ROOT = Path(__file__).resolve().parents[2]
FILETIME_UNIX = 116444736000000000  # 1970-01-01 as a FILETIME


@dataclass
class Key:
    decryptor: CaptureDecryptor
    recipient_hex: str


@pytest.fixture  # not module-scoped: that would put this module in an xdist group of its
def key() -> Key:  # own, and the Wine tests share one ("wine": one prefix per session)
    made = generate_capture_key("credsync capture windows-test")
    return Key(CaptureDecryptor(made.secret), x25519_recipient(made.public_key).hex())


def utf16_hex(text: str) -> str:
    return text.encode("utf-16-le").hex() or "-"


def notify(rid: int, account: str, password: str, count: int = 1) -> str:
    return f"notify {rid} {utf16_hex(account)} {utf16_hex(password)} {count}"


def run(
    wine: Wine,
    key: Key,
    spool: Path,
    lines: list[str],
    *,
    domain: str = "EXAMPLE",
    max_files: int = 100000,
    recipient_hex: str | None = None,
) -> str:
    script = spool.parent / f"{spool.name}-script.txt"
    script.write_text("\n".join(lines) + "\n", encoding="ascii")
    return wine.run(
        wine.bin_dir / "harness.exe",
        windows_path(wine.dll),
        windows_path(spool),
        recipient_hex or key.recipient_hex,
        domain,
        str(max_files),
        windows_path(script),
    )


def records(spool: Path) -> list[tuple[Path, LsaRecord]]:
    return [(path, parse_record(path.read_bytes())) for path in sorted(spool.glob("*.cap"))]


def scan(paths: list[Path], texts: list[str], secrets: list[str]) -> None:
    """No secret in any file or text, as UTF-8, UTF-16 (either order) or hex."""
    blobs = [path.read_bytes() for path in paths] + [text.encode() for text in texts]
    for secret in secrets:
        forms = [secret.encode(enc) for enc in ("utf-8", "utf-16-le", "utf-16-be")]
        forms.append(secret.encode().hex().encode())
        for blob in blobs:
            for form in forms:
                assert form not in blob


CASES = [
    ("alice.smith", 1105, "Pässwörd-Ünïcode-42!"),
    ("bob", 4294967295, 'q"uo\\te\ttabé😀中文 end'),
    ("carol", 1107, ""),
    ("Dävid Ünger", 1108, "x" * 127 + "€" * 129),
    ("eve%20", 1109, "%00#junk-looking#"),
]


def test_each_password_comes_back_exactly_and_bound_to_its_account(
    wine: Wine, key: Key, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    before = time.time()
    lines = [*(notify(rid, account, pw) for account, rid, pw in CASES), "drain 15000", "counters"]
    out = run(wine, key, spool, lines)
    assert "init ok" in out
    assert "drain ok" in out
    assert f"counters {len(CASES)} 0 0 0" in out
    got = records(spool)
    assert [r.account_name for _, r in got] == [a for a, _, _ in CASES]  # in order of notice
    for (_, record), (account, rid, password) in zip(got, CASES, strict=True):
        assert record.rid == rid
        assert record.domain_name == "EXAMPLE"
        assert before - 5 <= record.notified.timestamp() <= time.time() + 5
        assert open_record(key.decryptor, record).reveal() == password, account
    assert not list(spool.glob(".*.tmp"))  # every file renamed into place
    scan([p for p, _ in got], [out], [p for _, _, p in CASES if len(p) >= 4])


def test_a_record_moved_to_another_account_rid_or_time_does_not_open(
    wine: Wine, key: Key, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    run(wine, key, spool, [notify(1105, "alice.smith", "Bound-to-alice-1"), "drain 15000"])
    ((_, record),) = records(spool)
    assert open_record(key.decryptor, record).reveal() == "Bound-to-alice-1"
    fields = {"account": "mallory", "rid": 1106, "domain": "OTHER"}
    for name, value in [*fields.items(), ("notified_at", record.notified_at + 1)]:
        moved = LsaRecord(**{**record.__dict__, name: value})
        with pytest.raises(InvalidInput, match="can't be decrypted"):
            open_record(key.decryptor, moved)


def test_a_record_that_is_not_one_is_refused_naming_what_is_wrong() -> None:
    with pytest.raises(InvalidInput, match="first line") as exc:
        parse_record(b"hello\n")
    assert exc.value.field == "ciphertext"
    good = b"credsync-lsa-capture v1\ndomain D\naccount a\nrid 1\nnotified_at 2\n"
    with pytest.raises(InvalidInput, match="format is missing"):
        parse_record(good)
    with pytest.raises(InvalidInput, match="decimal"):
        parse_record(
            good.replace(b"rid 1", b"rid -1") + b"format x25519-hkdf-sha256+a256gcm\n"
            b"ciphertext AA==\n"
        )


def test_a_burst_of_1000_notifications_all_arrive_once(
    wine: Wine, key: Key, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    lines = [notify(2000 + i, f"burst{i:04d}", f"Burst-Pässword-{i:04d}") for i in range(1000)]
    out = run(wine, key, spool, [*lines, "drain 60000", "counters"])
    assert "drain ok" in out
    assert "counters 1000 0 0 0" in out
    got = records(spool)
    assert len(got) == 1000
    seen = {r.rid: open_record(key.decryptor, r).reveal() for _, r in got}
    assert seen == {2000 + i: f"Burst-Pässword-{i:04d}" for i in range(1000)}


def test_with_the_spool_full_changes_wait_in_memory_then_are_written(
    wine: Wine, key: Key, tmp_path: Path
) -> None:
    spool, taken = tmp_path / "spool", tmp_path / "taken"
    taken.mkdir()
    passwords = [f"Full-Spool-{i}-ß" for i in range(5)]
    lines = [notify(3000 + i, f"full{i}", pw) for i, pw in enumerate(passwords)]
    out = run(
        wine,
        key,
        spool,
        [
            *lines,
            "drain 1500",  # 3 written, 2 held (ciphertext only): not drained
            "counters",
            f"move {windows_path(taken)}",  # the forwarder takes the files
            "drain 15000",
            "counters",
        ],
        max_files=3,
    )
    lines_out = out.splitlines()
    assert lines_out.count("drain timeout") == 1
    assert "counters 3 2 0 0" in lines_out
    assert "moved 3" in lines_out
    assert "counters 5 0 0 0" in lines_out
    # every call returned at once though the spool was full
    assert all(line.startswith("notified 1 ") for line in lines_out if line.startswith("notif"))
    got = records(taken) + records(spool)
    assert [open_record(key.decryptor, r).reveal() for _, r in got] == passwords
    scan([p for p, _ in got], [out], passwords)


def test_a_bad_configuration_is_refused_at_initialisation(
    wine: Wine, key: Key, tmp_path: Path
) -> None:
    with pytest.raises(AssertionError, match="exited 4") as exc:
        run(wine, key, tmp_path / "spool", [], recipient_hex="00" * 31)
    assert "init false" in str(exc.value)


def test_computer_trust_and_krbtgt_passwords_are_never_taken(
    wine: Wine, key: Key, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    lines = [
        notify(1601, "WS-0042$", "machine-secret-1"),
        notify(1602, "CONTOSO$", "trust-secret-2"),
        notify(502, "krbtgt", "krbtgt-secret-3"),
        notify(1603, "person", "Person-Pw-4"),
        "drain 15000",
        "counters",
    ]
    out = run(wine, key, spool, lines)
    assert "counters 1 0 0 0" in out
    ((_, record),) = records(spool)
    assert record.account_name == "person"
    assert open_record(key.decryptor, record).reveal() == "Person-Pw-4"
