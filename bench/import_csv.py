"""Import 100,000 credentials from CSV into a SQLite vault.

    python bench/import_csv.py [--quick] [--rows N]

Generates a CSV of realistic credentials (titles, usernames, urls, tags, folders, random
passwords) and imports it twice, each time into a new SQLite vault (cheap KDF: the key
derivation is not what is measured):

1. at the service level, in this process: ``vault.csv.import_csv``;
2. through the real command line in a subprocess: ``credsync import CLIENT FILE --json``,
   measuring its wall time and its own peak resident memory (GNU time's ``%M``).

Baseline, in this process: raw AES-256-GCM encryption of the same secrets (cryptography's
AESGCM, a fresh random nonce each). Targets: the import under 60 s and under 300 MB peak memory.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _common as c

TARGET_S = 60.0
TARGET_RSS_MB = 300.0
CLIENT = "Contoso Ltd"
COLUMNS = ("title", "username", "password", "url", "notes", "tags", "folder", "type")
TYPES = ("login",) * 8 + ("service_account", "api_key")


def write_csv(path: Path, rows: int, seed: int) -> list[str]:
    """Write ``rows`` unique credentials (no duplicate folder+title+username); returns the
    passwords in order, for the baseline."""
    _name, domain, netbios = c.CLIENTS[0]
    faker = c.Faker(seed, domain, netbios)
    seen: set[tuple[str, str, str]] = set()
    passwords: list[str] = []
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(COLUMNS)
        while len(passwords) < rows:
            f = faker.credential()
            identity = (f.folder.casefold(), f.title.casefold(), f.username.casefold())
            if identity in seen:
                continue
            seen.add(identity)
            passwords.append(f.password)
            writer.writerow(
                [
                    f.title,
                    f.username,
                    f.password,
                    f.url,
                    f.notes,
                    ";".join(f.tags),
                    f.folder,
                    faker.rng.choice(TYPES),
                ]
            )
    return passwords


def raw_encrypt(passwords: list[str]) -> float:
    """Seconds to AES-256-GCM-encrypt every password once (fresh nonce each, no AAD)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    aead = AESGCM(AESGCM.generate_key(bit_length=256))
    encrypt, urandom = aead.encrypt, os.urandom
    started = time.perf_counter()
    for password in passwords:
        encrypt(urandom(12), password.encode("utf-8"), None)
    return time.perf_counter() - started


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _reset_peak_rss() -> bool:
    """Reset this process's VmHWM (Linux >= 4.0), so the next reading is the peak from now."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def service_import(home: Path, csv_path: Path) -> dict[str, Any]:
    vault, actor, keys = c.make_vault(f"sqlite:///{home / 'vault.db'}")
    vault.clients.add(actor, keys, CLIENT)
    reset = _reset_peak_rss()
    rss_before = _status_kb("VmRSS")
    started = time.perf_counter()
    with csv_path.open("rb") as stream:
        report = vault.csv.import_csv(actor, keys, CLIENT, stream, source_name=csv_path.name)
    took = time.perf_counter() - started
    peak = _status_kb("VmHWM")
    check_vault(vault, actor, keys, report.imported)
    vault.db.dispose()
    return {
        "seconds": took,
        "imported": report.imported,
        "rejected": report.rejected_count,
        "rss_before_mb": rss_before / 1024,
        "peak_rss_mb": peak / 1024 if reset else None,
    }


def check_vault(vault: Any, actor: Any, keys: Any, expected: int) -> None:
    """The import really happened: the count matches and a secret opens (never printed)."""
    import sqlalchemy as sa

    from credsync.storage.tables import credentials

    with vault.db.read() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(credentials)).scalar_one()
        some_id = conn.execute(sa.select(credentials.c.id).limit(1)).scalar_one()
    if count != expected:
        raise SystemExit(f"the vault holds {count} credentials, the import reported {expected}")
    revealed = vault.credentials.reveal(actor, keys, some_id)
    if not revealed.password.reveal():
        raise SystemExit("a revealed secret was empty")


def cli_import(home: Path, csv_path: Path, timeout: float) -> dict[str, Any]:
    vault, actor, keys = c.make_vault(f"sqlite:///{home / 'vault.db'}")
    vault.clients.add(actor, keys, CLIENT)
    vault.db.dispose()
    env = c.cli_env(
        home,
        CREDSYNC_PASSPHRASE=c.PASSPHRASE,
        CREDSYNC_OPERATOR=c.ADMIN,
        CREDSYNC_OPERATOR_PASSWORD=c.ADMIN_PASSWORD,
    )
    command = [c.credsync_exe(), "import", CLIENT, str(csv_path), "--json"]
    # The child's own peak RSS: a child spawned straight from this process starts its
    # ru_maxrss from *this* process's peak (vfork/exec carries it over), so let GNU time fork
    # it from a small process and report its %M.
    gnu_time = Path("/usr/bin/time")
    time_out = home / "time.out"
    if gnu_time.exists():
        command = [str(gnu_time), "-f", "%M %U %S", "-o", str(time_out), *command]
    out_path, err_path = home / "import.out", home / "import.err"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise SystemExit(f"credsync import did not finish in {timeout:.0f} s") from None
        took = time.perf_counter() - started
    if proc.returncode != 0:
        tail = err_path.read_text(errors="replace")[-2000:]
        raise SystemExit(f"credsync import exited {proc.returncode}: {tail}")
    if gnu_time.exists():
        max_kb, user_s, sys_s = time_out.read_text().split()[-3:]
        peak_mb, user, system = int(max_kb) / 1024, float(user_s), float(sys_s)
        how = "GNU time %M"
    else:  # an upper bound: includes this process's own peak (see above)
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        peak_mb, user, system = usage.ru_maxrss / 1024, usage.ru_utime, usage.ru_stime
        how = "ru_maxrss of children (upper bound: /usr/bin/time missing)"
    report = json.loads(out_path.read_text())
    vault, actor, keys = c.open_vault(f"sqlite:///{home / 'vault.db'}")
    check_vault(vault, actor, keys, report["imported"])
    vault.db.dispose()
    return {
        "seconds": took,
        "imported": report["imported"],
        "rejected": report["rejected_count"],
        "peak_rss_mb": peak_mb,
        "peak_rss_how": how,
        "user_s": user,
        "sys_s": system,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5,000 rows")
    parser.add_argument("--rows", type=int, help="rows in the CSV (default 100,000)")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--time-limit", type=int, default=900, help="abort after N seconds")
    args = parser.parse_args()
    rows = args.rows or (5_000 if args.quick else 100_000)
    c.header(f"import_csv: {rows:,} credentials from CSV into SQLite", args.quick)
    c.time_limit(args.time_limit)
    verdicts = c.Verdicts("import_csv")
    try:
        with tempfile.TemporaryDirectory(prefix="credsync-bench-") as tmp:
            root = Path(tmp)
            csv_path = root / "credentials.csv"
            t0 = time.perf_counter()
            passwords = write_csv(csv_path, rows, args.seed)
            print(
                f"generated {csv_path.name}: {rows:,} rows, "
                f"{csv_path.stat().st_size / 2**20:.1f} MiB in {time.perf_counter() - t0:.1f} s"
            )
            raw_s = min(raw_encrypt(passwords) for _ in range(3))
            del passwords
            print("importing at the service level (vault.csv.import_csv) ...", flush=True)
            service = service_import(root / "service", csv_path)
            print("importing through `credsync import CLIENT FILE --json` ...", flush=True)
            cli = cli_import(root / "cli", csv_path, timeout=args.time_limit)
    except c.Deadline as err:
        verdicts.check(False, str(err))
        return verdicts.report()

    def rss(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.0f}"

    table_rows = [
        ["raw AES-256-GCM encrypt (baseline)", f"{raw_s:.3f}", f"{rows / raw_s:,.0f}", "1", "-"],
        [
            "import, service level (in process)",
            f"{service['seconds']:.2f}",
            f"{service['imported'] / service['seconds']:,.0f}",
            f"{service['seconds'] / raw_s:,.0f}",
            rss(service["peak_rss_mb"]),
        ],
        [
            "import, `credsync import` subprocess",
            f"{cli['seconds']:.2f}",
            f"{cli['imported'] / cli['seconds']:,.0f}",
            f"{cli['seconds'] / raw_s:,.0f}",
            rss(cli["peak_rss_mb"]),
        ],
    ]
    print()
    print(
        c.table(
            ["what", "seconds", "per second", "x raw encrypt", "peak RSS MB"],
            table_rows,
            title=f"{rows:,} credentials; ratio = time / raw AES-GCM time of the same secrets",
        )
    )
    print(
        f"(service level: peak RSS of this whole process while importing, from "
        f"{service['rss_before_mb']:.0f} MB before; subprocess: {cli['peak_rss_how']}, "
        f"user {cli['user_s']:.1f} s, sys {cli['sys_s']:.1f} s; imported "
        f"{service['imported']:,} / {cli['imported']:,}, rejected "
        f"{service['rejected']} / {cli['rejected']})"
    )
    verdicts.figures.update({"rows": rows, "raw_encrypt_s": raw_s, "service": service, "cli": cli})
    complete = service["imported"] == rows and cli["imported"] == rows
    verdicts.check(complete, f"every row imported ({service['imported']:,}, {cli['imported']:,})")
    verdicts.check(
        cli["seconds"] < TARGET_S,
        f"`credsync import` of {rows:,} rows under {TARGET_S:.0f} s: {cli['seconds']:.1f} s",
    )
    verdicts.check(
        service["seconds"] < TARGET_S,
        f"service-level import of {rows:,} rows under {TARGET_S:.0f} s: {service['seconds']:.1f} s",
    )
    verdicts.check(
        cli["peak_rss_mb"] < TARGET_RSS_MB,
        f"`credsync import` peak memory under {TARGET_RSS_MB:.0f} MB: {cli['peak_rss_mb']:.0f} MB",
    )
    print(f"(the bench process itself peaked at {_maxrss_mb():.0f} MB)")
    return verdicts.report()


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    sys.exit(main())
