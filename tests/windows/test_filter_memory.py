"""No plaintext password left in memory once the filter's worker has sealed and spooled it.

The harness (windows/tests/harness.c, memscan.c) notifies the DLL, drains it, wipes its own
copy (LSA's buffer is LSA's), then scans every committed, readable region Windows' VirtualQuery
shows for the password's UTF-16-LE and UTF-8 bytes, and for each 16-byte block of the
UTF-16-LE form on its own (a cipher's stack temporaries); the pattern reaches it XORed with a key
byte and is decoded only into a buffer the scan skips. While the harness is paused the test
also reads the whole Unix process (``/proc/PID/mem``, every readable mapping): that includes
Wine's Unix side (gnutls, which does BCrypt's AES-GCM, and glibc's heap), which VirtualQuery
does not show. Each scan is shown to find a password that IS kept (``keep``), so zero hits
means something. What this cannot show (lsass, the pagefile, crash dumps): docs/windows-filter.md.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from credsync.crypto.openpgp import generate_capture_key, x25519_recipient

from .conftest import ROOT, WINE_TIMEOUT, Wine, windows_path

pytestmark = pytest.mark.xdist_group("wine")

KEY = 0x5A  # the XOR key byte the harness decodes the pattern with
# test passwords: no 8-character run that Wine's own DLLs hold (an alphabet, a hex table)
SUMMARY = re.compile(r"^memscan regions (\d+) bytes (\d+) hits (\d+) unread (\d+)$", re.MULTILINE)


def _hex(data: bytes) -> str:
    return data.hex() or "-"


def _xor_hex(data: bytes) -> str:
    return bytes(b ^ KEY for b in data).hex()


def notify(password: str, account: str = "alice.smith", rid: int = 1105) -> str:
    return (
        f"notify {rid} {_hex(account.encode('utf-16-le'))} {_hex(password.encode('utf-16-le'))} 1"
    )


def memscan(password: str) -> str:
    forms = _xor_hex(password.encode("utf-16-le")), _xor_hex(password.encode())
    return f"memscan {KEY:02x} {forms[0]} {forms[1]}"


def keep(password: str) -> str:
    return f"keep {KEY:02x} {_xor_hex(password.encode('utf-16-le'))}"


def _args(wine: Wine, spool: Path, lines: list[str]) -> list[str]:
    script = spool.parent / f"{spool.name}-script.txt"
    script.write_text("\n".join(lines) + "\n", encoding="ascii")
    recipient = x25519_recipient(generate_capture_key("credsync memscan").public_key).hex()
    return [
        str(wine.bin_dir / "harness.exe"),
        windows_path(wine.dll),
        windows_path(spool),
        recipient,
        "EXAMPLE",
        "100000",
        windows_path(script),
    ]


def scans(out: str) -> list[tuple[int, int, int]]:
    """Each memscan's (regions, bytes, hits): the hit lines stay in ``out`` for the message.
    Every readable region was read whole (unread 0)."""
    found = SUMMARY.findall(out)
    assert [unread for *_, unread in found] == ["0"] * len(found)
    return [(int(r), int(b), int(h)) for r, b, h, _ in found]


def run_scan(wine: Wine, tmp_path: Path, passwords: list[str], *, kept: str | None = None) -> str:
    lines = [notify(pw, account=f"user{i}", rid=1105 + i) for i, pw in enumerate(passwords)]
    lines += ["drain 15000", "counters", *(memscan(pw) for pw in passwords)]
    if kept is not None:
        lines += [keep(kept), memscan(kept)]
    exe, *args = _args(wine, tmp_path / "spool", lines)
    out = wine.run(Path(exe), *args).replace("\r\n", "\n")  # msvcrt's text mode
    assert "drain ok" in out
    assert f"counters {len(passwords)} 0 0 0" in out
    assert len(list((tmp_path / "spool").glob("*.cap"))) == len(passwords)
    return out


def _no_hits(out: str, count: int) -> None:
    found = scans(out)
    assert len(found) == count
    for regions, scanned, hits in found:
        assert regions > 10  # the scan covered the process
        assert scanned > 1_000_000
        hit_lines = [line for line in out.splitlines() if line.startswith("hit ")]
        assert hits == 0, "\n".join(hit_lines)  # addresses and regions, never the password


def test_a_sealed_password_is_nowhere_in_the_filters_process(wine: Wine, tmp_path: Path) -> None:
    # one notification: a freed block stays as it was, so a missing SecureZeroMemory shows
    # (checked by hand: secure_free without it gives a hit in the DLL's private heap)
    out = run_scan(wine, tmp_path, ["Zq7-Memscan!Distinct-4711"])
    _no_hits(out, 1)


def test_non_ascii_passwords_are_nowhere_either(wine: Wine, tmp_path: Path) -> None:
    out = run_scan(wine, tmp_path, ["Grüße-Ωmega-日本語-\U0001d11e-memscan"])
    _no_hits(out, 1)


def test_several_notifications_leave_none_of_their_passwords(wine: Wine, tmp_path: Path) -> None:
    passwords = [f"Batch-{i}-Zq7!memscan-{'é' * (i % 3)}{i * 7919}" for i in range(6)]
    out = run_scan(wine, tmp_path, passwords)
    _no_hits(out, len(passwords))


def test_the_scan_finds_a_password_that_is_kept(wine: Wine, tmp_path: Path) -> None:
    kept = "Kept-On-Purpose!Zq7-0815"  # 24 characters: 48 bytes, three AES blocks
    out = run_scan(wine, tmp_path, ["Zq7-Other!Sealed-0042"], kept=kept)
    found = scans(out)
    assert [hits for _, _, hits in found] == [0, 4]
    address = re.search(r"^kept 48 at ([0-9A-Fa-f]+)$", out, re.MULTILINE)
    assert address is not None
    at = int(address.group(1), 16)
    hits = [line.split() for line in out.splitlines() if line.startswith("hit ")]
    assert sorted((int(hit[1], 16), hit[3]) for hit in hits) == [
        (at, "block0"),
        (at, "utf16le"),
        (at + 16, "block1"),
        (at + 32, "block2"),
    ]
    assert all(hit[-6:] == ["type", "private", "module", "-", "heap", "process"] for hit in hits)


def forms_of(password: str) -> dict[str, bytes]:
    """What memscan looks for: both whole forms and each 16-byte block of the UTF-16-LE one."""
    utf16 = password.encode("utf-16-le")
    blocks = {f"block{i // 16}": utf16[i : i + 16] for i in range(0, len(utf16) - 15, 16)}
    return {"utf16le": utf16, "utf8": password.encode(), **blocks}


def _unix_scan(pid: int, forms: dict[str, bytes]) -> tuple[int, list[str], list[str]]:
    """Every readable mapping of the Unix process ``pid``: bytes read, each form's hits, and
    the mappings that could not be read (the kernel's [vvar*] pages are not tried)."""
    total, hits, unread = 0, [], []
    maps = Path(f"/proc/{pid}/maps").read_text().splitlines()
    with open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
        for line in maps:
            fields = line.split()
            if "r" not in fields[1] or fields[-1].startswith(("[vvar", "[vsyscall]")):
                continue
            low, high = (int(x, 16) for x in fields[0].split("-"))
            try:
                mem.seek(low)
                data = mem.read(high - low)
            except OSError:
                unread.append(line)
                continue
            total += len(data)
            for name, form in forms.items():
                at = data.find(form)
                while at >= 0:
                    hits.append(f"{name} at {low + at:#x} in {' '.join(fields[:1] + fields[5:])}")
                    at = data.find(form, at + 1)
    return total, hits, unread


def test_wines_unix_side_holds_no_copy_either(wine: Wine, tmp_path: Path) -> None:
    """gnutls and glibc's heap live outside what VirtualQuery shows: read them from Linux."""
    sealed = [
        "Zq7-Unix!Side-Sealed-9001",
        "Grüße-Unix-日本語-\U0001d11e-9003",
        "Third!Zq7-Unix-9004",
    ]
    kept = "Held-Control#Kept-9002"  # no block in common with the sealed one
    spool = tmp_path / "spool"
    lines = [*(notify(pw, rid=1105 + i) for i, pw in enumerate(sealed)), "drain 15000"]
    lines += [keep(kept), "pause"]
    proc = subprocess.Popen(
        ["wine", *_args(wine, spool, lines)],
        env=wine.env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdin is not None
    assert proc.stdout is not None
    try:
        seen = []
        for raw in proc.stdout:
            seen.append(raw.decode(errors="replace").strip())
            if seen[-1] == "paused":
                break
        assert seen[-1:] == ["paused"], seen
        # the wine loader execs the program: this pid is the harness process
        assert (
            Path(f"/proc/{proc.pid}/cmdline").read_bytes().split(b"\0")[0].endswith(b"harness.exe")
        )
        forms = {
            f"{n}:{name}": form
            for n, pw in enumerate(sealed)
            for name, form in forms_of(pw).items()
        }
        forms["kept"] = kept.encode("utf-16-le")
        total, hits, unread = _unix_scan(proc.pid, forms)
    finally:
        proc.stdin.close()  # the harness's "pause" returns, the script ends
        try:
            proc.wait(timeout=WINE_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=WINE_TIMEOUT)
        proc.stdout.close()
    assert proc.returncode == 0
    assert unread == []
    assert total > 10_000_000
    assert [h for h in hits if not h.startswith("kept ")] == []
    assert any(h.startswith("kept ") for h in hits)  # the kept one is found: the scan sees


def test_a_filter_that_frees_without_zeroing_is_caught(wine: Wine, tmp_path: Path) -> None:
    """The scan's teeth: the same DLL built with secure_free's SecureZeroMemory taken out
    leaves the password in a freed block of its private heap, and the scan says where."""
    src = tmp_path / "src"
    shutil.copytree(ROOT / "windows" / "filter", src / "filter")
    shutil.copytree(ROOT / "windows" / "vendor", src / "vendor")
    source = src / "filter" / "credsyncfilter.c"
    text = source.read_text()
    assert text.count("    SecureZeroMemory(p, n);\n") == 1
    source.write_text(text.replace("    SecureZeroMemory(p, n);\n", "    (void)n;\n"))
    mutant = tmp_path / "mutant.dll"
    built = subprocess.run(
        [
            "x86_64-w64-mingw32-gcc",
            "-O2",
            "-std=c11",
            "-static-libgcc",
            "-s",
            "-shared",
            "-o",
            str(mutant),
            str(source),
            str(src / "filter" / "seal.c"),
            str(src / "vendor" / "monocypher" / "monocypher.c"),
            "-lbcrypt",
            "-ladvapi32",
        ],
        capture_output=True,
        timeout=180,
        check=False,
    )
    assert built.returncode == 0, built.stderr.decode(errors="replace")[-2000:]
    password = "Zq7-Mutant!Unzeroed-1312"
    exe, *args = _args(
        wine, tmp_path / "spool", [notify(password), "drain 15000", memscan(password)]
    )
    args[0] = windows_path(mutant)
    out = wine.run(Path(exe), *args).replace("\r\n", "\n")
    (found,) = scans(out)
    assert found[2] > 0
    hits = [line.split() for line in out.splitlines() if line.startswith("hit ")]
    assert {hit[3] for hit in hits} >= {"utf16le"}
    # in a private (heap) region, not in a live block of any heap: freed
    assert all(hit[-6:] == ["type", "private", "module", "-", "heap", "-"] for hit in hits)
