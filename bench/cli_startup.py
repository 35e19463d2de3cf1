"""Whole-process time of the ``credsync`` command.

    python bench/cli_startup.py [--quick] [--runs N]

1. ``credsync --help``: median of N runs (default 15) against ``python -c pass`` with the same
   interpreter, the two interleaved so that machine noise hits both alike. Target: under 300 ms.
2. ``credsync cred show ID --reveal --json`` on a vault made by ``credsync init`` with the
   product's default Argon2id cost: opened with ``CREDSYNC_PASSPHRASE`` (key derivation on every
   command; the operator signs in with an API token, or with a password, which is a second
   Argon2id), and with ``CREDSYNC_SESSION`` from ``credsync unlock --raw`` (no derivation).

``PYTHONDONTWRITEBYTECODE`` stops Python writing ``.pyc`` files; when it is set, modules whose
``.pyc`` is missing or stale are compiled again by every process. Each figure is measured with
the environment as it is, with the variable unset (``.pyc`` written once, then reused), and for
``--help`` also with no usable ``.pyc`` at all (an empty ``PYTHONPYCACHEPREFIX``: worst case).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import _common as c

TARGET_HELP_S = 0.300
CMD_TIMEOUT_S = 120


def run(command: Sequence[str], env: dict[str, str], stdin: str | None = None) -> float:
    """Seconds for one whole process; raises when it fails."""
    started = time.perf_counter()
    result = subprocess.run(
        list(command),
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=CMD_TIMEOUT_S,
        check=False,
    )
    took = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{command[:3]} exited {result.returncode}: {result.stderr[-500:]}")
    return took


def output(command: Sequence[str], env: dict[str, str], stdin: str | None = None) -> str:
    result = subprocess.run(
        list(command),
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=CMD_TIMEOUT_S,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"{command[:3]} exited {result.returncode}: {result.stderr[-500:]}")
    return result.stdout


def interleaved(
    commands: Mapping[str, tuple[Sequence[str], dict[str, str]]], runs: int, warmup: int = 2
) -> dict[str, list[float]]:
    """Run each command ``runs`` times, round-robin, after ``warmup`` unmeasured rounds."""
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for round_ in range(warmup + runs):
        for name, (command, env) in commands.items():
            took = run(command, env)
            if round_ >= warmup:
                samples[name].append(took)
    return samples


def envs(base: dict[str, str], empty_prefix: Path) -> dict[str, dict[str, str]]:
    as_is = dict(base)
    unset = {k: v for k, v in base.items() if k != "PYTHONDONTWRITEBYTECODE"}
    no_pyc = {**base, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPYCACHEPREFIX": str(empty_prefix)}
    value = os.environ.get("PYTHONDONTWRITEBYTECODE")
    label = f"as is (PYTHONDONTWRITEBYTECODE={value})" if value else "as is (variable not set)"
    return {
        label: as_is,
        "PYTHONDONTWRITEBYTECODE unset (.pyc cached)": unset,
        "no .pyc at all (worst case)": no_pyc,
    }


def help_bench(
    runs: int, env_sets: dict[str, dict[str, str]], verdicts: c.Verdicts
) -> list[list[str]]:
    exe = c.credsync_exe()
    rows = []
    for label, env in env_sets.items():
        samples = interleaved(
            {
                "python -c pass": ([sys.executable, "-c", "pass"], env),
                "credsync --help": ([exe, "--help"], env),
            },
            runs,
        )
        base = c.median(samples["python -c pass"])
        help_s = c.median(samples["credsync --help"])
        rows.append([label, "python -c pass (baseline)", c.ms(base), "1.0x", "-"])
        rows.append(
            [
                label,
                "credsync --help",
                c.ms(help_s),
                f"{help_s / base:.1f}x",
                "ok" if help_s < TARGET_HELP_S else "MISS",
            ]
        )
        verdicts.figures.setdefault("help", {})[label] = {
            "python_pass_ms": base * 1000,
            "help_ms": help_s * 1000,
            "help_p_max_ms": max(samples["credsync --help"]) * 1000,
        }
        if "worst case" not in label:
            verdicts.check(
                help_s < TARGET_HELP_S,
                f"`credsync --help` median under 300 ms, {label}: {c.ms(help_s)} ms "
                f"({help_s / base:.1f}x `python -c pass`)",
            )
    return rows


def import_profile(env: dict[str, str]) -> list[tuple[int, str]]:
    """The slowest imports of ``credsync --help`` (python -X importtime), cumulative us."""
    code = "import sys; from credsync.cli import main; sys.argv=['credsync','--help']; main()"
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=CMD_TIMEOUT_S,
        check=False,
    )
    found = []
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        parts = line.split("|")
        try:
            cumulative_us = int(parts[1].strip())
        except (IndexError, ValueError):
            continue
        name = parts[2].rstrip()
        if name.strip() and not name.startswith("   "):  # top-level imports only
            found.append((cumulative_us, name.strip()))
    return sorted(found, reverse=True)[:8]


def setup_vault(home: Path) -> tuple[str, str, str]:
    """A vault made by the CLI with the default KDF; returns (credential id, session, token),
    all but the id secret (never printed)."""
    exe = c.credsync_exe()
    env = c.cli_env(
        home,
        CREDSYNC_PASSPHRASE=c.PASSPHRASE,
        CREDSYNC_ADMIN_PASSWORD=c.ADMIN_PASSWORD,
        CREDSYNC_OPERATOR=c.ADMIN,
        CREDSYNC_OPERATOR_PASSWORD=c.ADMIN_PASSWORD,
    )
    init = json.loads(output([exe, "init", "--admin", c.ADMIN, "--json"], env))
    kdf = init["kdf"]
    print(
        f"vault made by `credsync init` with the default KDF: argon2id t={kdf['time_cost']}, "
        f"m={kdf['memory_kib']} KiB, p={kdf['parallelism']}"
    )
    output([exe, "client", "add", "Contoso Ltd"], env)
    cred = json.loads(
        output(
            [
                exe,
                "cred",
                "add",
                "Contoso Ltd",
                "--title",
                "Domain admin",
                "--username",
                "CONTOSO\\admin",
                "--password-stdin",
                "--json",
            ],
            env,
            stdin="bench-secret-Value-42!\n",
        )
    )
    session = output([exe, "unlock", "--raw", "--ttl", "1h"], env).strip()
    token = json.loads(output([exe, "token", "create", "bench", "--json"], env))["token"]
    return cred["id"], session, token


def show_bench(
    runs: int, home: Path, env_sets: dict[str, dict[str, str]], verdicts: c.Verdicts
) -> list[list[str]]:
    exe = c.credsync_exe()
    cred_id, session, token = setup_vault(home)
    show = [exe, "cred", "show", cred_id, "--reveal", "--json"]
    # The reveal really works (value checked, never printed).
    revealed = json.loads(output(show, {**c.cli_env(home), "CREDSYNC_SESSION": session})).get(
        "password"
    )
    if revealed != "bench-secret-Value-42!":
        raise SystemExit("cred show --reveal did not return the stored password")
    rows = []
    for label, base_env in list(env_sets.items())[:2]:
        env = {k: v for k, v in base_env.items() if not k.startswith("CREDSYNC_")}
        env["CREDSYNC_HOME"] = str(home)
        variants = {
            "python -c pass (baseline)": ([sys.executable, "-c", "pass"], env),
            "cred show --reveal, CREDSYNC_SESSION": (show, {**env, "CREDSYNC_SESSION": session}),
            "cred show --reveal, PASSPHRASE + TOKEN": (
                show,
                {**env, "CREDSYNC_PASSPHRASE": c.PASSPHRASE, "CREDSYNC_TOKEN": token},
            ),
            "cred show --reveal, PASSPHRASE + OPERATOR_PASSWORD": (
                show,
                {
                    **env,
                    "CREDSYNC_PASSPHRASE": c.PASSPHRASE,
                    "CREDSYNC_OPERATOR": c.ADMIN,
                    "CREDSYNC_OPERATOR_PASSWORD": c.ADMIN_PASSWORD,
                },
            ),
        }
        samples = interleaved(variants, runs, warmup=1)
        medians = {name: c.median(s) for name, s in samples.items()}
        base = medians["python -c pass (baseline)"]
        with_session = medians["cred show --reveal, CREDSYNC_SESSION"]
        for name, value in medians.items():
            rows.append(
                [
                    label,
                    name,
                    c.ms(value),
                    f"{value / base:.1f}x",
                    f"{value / with_session:.1f}x",
                ]
            )
        verdicts.figures.setdefault("cred_show", {})[label] = {
            name: value * 1000 for name, value in medians.items()
        }
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 runs instead of 15")
    parser.add_argument("--runs", type=int, help="runs per measurement (default 15)")
    parser.add_argument("--time-limit", type=int, default=900, help="abort after N seconds")
    args = parser.parse_args()
    runs = args.runs or (5 if args.quick else 15)
    c.header("cli_startup: whole-process time of the credsync command", args.quick)
    value = os.environ.get("PYTHONDONTWRITEBYTECODE")
    print(
        "PYTHONDONTWRITEBYTECODE is "
        + (f"set ({value!r}) in this environment" if value else "not set in this environment")
    )
    c.time_limit(args.time_limit)
    verdicts = c.Verdicts("cli_startup")
    verdicts.figures["PYTHONDONTWRITEBYTECODE"] = value
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("CREDSYNC_")}
    try:
        with tempfile.TemporaryDirectory(prefix="credsync-bench-") as tmp:
            root = Path(tmp)
            (root / "empty-pycache").mkdir()
            env_sets = envs(base_env, root / "empty-pycache")
            help_rows = help_bench(runs, env_sets, verdicts)
            print()
            print(
                c.table(
                    ["environment", "command", "median ms", "x baseline", "<300"],
                    help_rows,
                    title=f"`credsync --help`, median of {runs} whole-process runs",
                )
            )
            slow = import_profile(env_sets["PYTHONDONTWRITEBYTECODE unset (.pyc cached)"])
            if slow:
                print("\nslowest top-level imports of `credsync --help` (-X importtime):")
                for cumulative_us, name in slow:
                    print(f"  {cumulative_us / 1000:7.1f} ms  {name}")
            print()
            show_runs = max(3, runs // 3) if args.quick else max(5, runs // 2)
            show_rows = show_bench(show_runs, root / "home", env_sets, verdicts)
            print()
            print(
                c.table(
                    ["environment", "command", "median ms", "x baseline", "x session"],
                    show_rows,
                    title=f"`credsync cred show ID --reveal --json`, median of {show_runs} runs",
                )
            )
    except c.Deadline as err:
        verdicts.check(False, str(err))
    return verdicts.report()


if __name__ == "__main__":
    sys.exit(main())
