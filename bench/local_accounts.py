"""The local-accounts connector against Samba standalone servers, compared with bare impacket.

    python bench/local_accounts.py [--quick] [--accounts N] [--machines M] [--rounds R]

1. On one server of its own (``scripts/samba-standalone``) with N accounts (default 200):
   ``verify_password`` over them through the connector against a bare impacket loop doing
   the same lockout-safe check: on one warm SAMR session the account read (OpenUser,
   QueryInformationUser2(UserAllInformation), Close) and the lockout threshold read once, then
   a new SMB connection and an NTLMv2 session setup as the user. Then ``set_password``
   (through the connector: level 31 AES, then the account read back for its new stamp)
   against a bare loop making the same calls. Each side's best of ``--rounds`` rounds
   (default 3, alternating who goes first). Target: the connector >= 80% of bare for both.
   The rate of a bare login alone is printed for the record.
2. M servers (default 50: one per machine, each its own NetBIOS name, started four at a time)
   with N / M accounts each, a vault with one client of M local-accounts directories (each
   machine plans only the credentials whose ``MACHINE\\user`` names it: none is flagged
   unmatched on the others) and one report credential per account: a first run links and
   checks every account (one login each); then runs over the unchanged accounts, cold (each
   run opens and closes its SAMR session, as the command line does: the baseline) and warm
   (one connector a directory kept open between runs, as the agent does), which must make no
   login at all (the run summary's binds). Target: 0 logins; the warm/cold speed printed.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from impacket.dcerpc.v5 import samr

import _common as c
from credsync.connectors.base import Account, Connector, PasswordOptions, VerifyOutcome
from credsync.connectors.local_accounts import LocalAccountsConnector
from credsync.connectors.local_accounts._client import SamrSession, login
from credsync.connectors.local_accounts._ndr import set_aes
from credsync.crypto.samr import aes_password_blob
from credsync.sync.engine import Engine
from credsync.testing.samba_standalone import LocalUser, StandaloneAdmin, StandaloneServer
from credsync.types import CredentialType, Secret, SyncMode
from credsync.vault.directories import DirectoryInput
from credsync.vault.drafts import make_draft

TARGET_RATIO = 0.8


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--machines", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--time-limit", type=int, default=1800)
    args = parser.parse_args()
    if args.quick:
        args.accounts, args.machines, args.rounds = 20, 2, 1
    return args


def rate(count: int, fn: Callable[[], None]) -> float:
    return count / c.timed(fn)


def compare(
    label: str, count: int, pair: tuple[Callable[[], None], Callable[[], None]], rounds: int,
    verdicts: c.Verdicts,
) -> list[object]:  # fmt: skip
    connector_fn, bare_fn = pair
    ours: list[float] = []
    bare: list[float] = []
    for n in range(rounds):
        if n % 2 == 0:
            ours.append(rate(count, connector_fn))
            bare.append(rate(count, bare_fn))
        else:
            bare.append(rate(count, bare_fn))
            ours.append(rate(count, connector_fn))
    best, base = max(ours), max(bare)
    ratio = best / base
    verdicts.figures[label] = {
        "connector_per_s": round(best, 1), "bare_per_s": round(base, 1), "ratio": round(ratio, 3)
    }  # fmt: skip
    verdicts.check(
        ratio >= TARGET_RATIO,
        f"{label} through the connector {best:.0f}/s = {ratio:.2f}x the bare impacket loop's "
        f"{base:.0f}/s (target >= {TARGET_RATIO})",
    )
    return [label, count, f"{best:.0f}", f"{base:.0f}", f"{ratio:.2f}"]


def part_one(args: argparse.Namespace, verdicts: c.Verdicts) -> None:
    server = StandaloneServer()
    facts = server.start()
    try:
        admin = StandaloneAdmin(facts)
        users = admin.create_users(args.accounts)
        conn = LocalAccountsConnector(facts.directory_config())
        accounts: list[tuple[Account, LocalUser]] = [
            (asyncio.run(conn.get_account(u.sid)), u) for u in users
        ]
        bare = SamrSession(
            facts.host, facts.port, facts.machine, facts.admin_user, facts.admin_password, 10
        )
        bare.connect()
        dce, domain = bare._dce, bare._domain

        def connector_verify() -> None:
            async def go() -> None:
                for account, user in accounts:
                    result = await conn.verify_password(account, Secret(user.password))
                    assert result.outcome is VerifyOutcome.OK, result

            asyncio.run(go())

        def read(rid: int, access: int = samr.MAXIMUM_ALLOWED) -> Any:
            handle = samr.hSamrOpenUser(dce, domain, access, rid)["UserHandle"]
            info = samr.hSamrQueryInformationUser2(
                dce, handle, samr.USER_INFORMATION_CLASS.UserAllInformation
            )
            samr.hSamrCloseHandle(dce, handle)
            return info

        def bare_verify() -> None:
            info = samr.DOMAIN_INFORMATION_CLASS.DomainLockoutInformation
            samr.hSamrQueryInformationDomain2(dce, domain, info)
            for _, user in accounts:
                read(user.rid)
                answer = login(facts.host, facts.port, facts.machine, user.name, user.password, 10)
                assert answer.status is None, answer

        def login_only() -> None:
            for _, user in accounts:
                answer = login(facts.host, facts.port, facts.machine, user.name, user.password, 10)
                assert answer.status is None, answer

        rows = [compare("verify_password", len(accounts), (connector_verify, bare_verify),
                        args.rounds, verdicts)]  # fmt: skip
        alone = rate(len(accounts), login_only)
        verdicts.figures["login_alone_per_s"] = round(alone, 1)

        def connector_set() -> None:
            async def go() -> None:
                for account, _ in accounts:
                    new = Secret(f"Set-{uuid.uuid4().hex[:12]}-1!")
                    after = await conn.set_password(account, new, PasswordOptions())
                    assert after.password_stamp

            asyncio.run(go())

        def bare_set() -> None:
            key = bare.session_key()
            for _, user in accounts:
                handle = samr.hSamrOpenUser(dce, domain, samr.USER_FORCE_PASSWORD_CHANGE, user.rid)[
                    "UserHandle"
                ]
                set_aes(dce, handle, aes_password_blob(key, f"Set-{uuid.uuid4().hex[:12]}-1!"), 0)
                samr.hSamrCloseHandle(dce, handle)
                read(user.rid)

        rows.append(compare("set_password", len(accounts), (connector_set, bare_set),
                            args.rounds, verdicts))  # fmt: skip
        asyncio.run(conn.close())
        bare.close()
        print(c.table(["operation", "n", "connector/s", "bare/s", "ratio"], rows))
        print(f"(a bare login alone, without the lockout-safe read first: {alone:.0f}/s)")
    finally:
        server.stop()


def part_two(args: argparse.Namespace, verdicts: c.Verdicts) -> None:
    per = max(1, args.accounts // args.machines)
    servers = [StandaloneServer(machine=f"WKS{n:03d}") for n in range(args.machines)]
    started = time.perf_counter()
    try:
        with ThreadPoolExecutor(4) as pool:
            all_facts = list(pool.map(lambda s: s.start(), servers))
        print(f"{len(servers)} servers started in {time.perf_counter() - started:.1f} s")
        with tempfile.TemporaryDirectory() as home:
            vault, admin, keys = c.make_vault(f"sqlite:///{Path(home) / 'vault.db'}")
            client = "Bench machines"  # one customer with every machine (see the docstring)
            vault.clients.add(admin, keys, client, directory_sync=True)
            names = []
            for n, facts in enumerate(all_facts):
                bind = vault.credentials.add(admin, keys, client, make_draft(
                    title=f"admin {n}", username=f"{facts.machine}\\{facts.admin_user}",
                    password=Secret(facts.admin_password),
                    type_=CredentialType.DIRECTORY_ADMIN, sync_mode=SyncMode.OFF,
                ))  # fmt: skip
                settings = {"url": facts.url, "machine": facts.machine, "bind_credential": bind.id}
                name = f"machine-{n:02d}"
                vault.directories.add(
                    admin, client, name, "local-accounts", DirectoryInput.of(settings)
                )
                names.append(name)
                for user in StandaloneAdmin(facts).create_users(per):
                    vault.credentials.add(admin, keys, client, make_draft(
                        title=f"{name} {user.name}", username=f"{facts.machine}\\{user.name}",
                        password=Secret(user.password), sync_mode=SyncMode.REPORT,
                    ))  # fmt: skip
            total = per * len(all_facts)
            engine = Engine(vault, keys, admin)
            kept: dict[str, Connector] = {}  # the agent's way: one open connector a directory

            def run_all(warm: bool) -> tuple[float, int, dict[str, int]]:
                statuses: dict[str, int] = {}
                binds = 0
                start = time.perf_counter()
                for name in names:
                    given = kept.setdefault(name, engine.connect(name)) if warm else None
                    report = asyncio.run(engine.run(name, connector=given))
                    assert report.state == "done", report.message
                    binds += int(report.summary.get("binds", 0))
                    for status, count in report.summary.get("statuses", {}).items():
                        statuses[status] = statuses.get(status, 0) + count
                return time.perf_counter() - start, binds, statuses

            try:
                first = run_all(warm=False)
                cold = run_all(warm=False)  # the baseline: a session opened and closed a run
                run_all(warm=True)  # opens the sessions the next round finds warm
                warm = run_all(warm=True)
            finally:
                for conn in kept.values():
                    asyncio.run(conn.close())
        rows = [["first (links)", first], ["unchanged, cold (CLI)", cold],
                ["unchanged, warm (agent)", warm]]  # fmt: skip
        print(c.table(
            ["report run", "accounts", "machines", "seconds", "logins", "statuses"],
            [[label, total, len(names), f"{r[0]:.1f}", r[1], r[2]] for label, r in rows],
        ))  # fmt: skip
        ratio = cold[0] / warm[0] if warm[0] else 0.0
        print(f"warm sessions: {ratio:.2f}x the cold runs' speed (same process, same servers)")
        verdicts.figures["report"] = {
            "accounts": total, "machines": len(names), "first_s": round(first[0], 2),
            "first_logins": first[1], "cold_s": round(cold[0], 2), "cold_logins": cold[1],
            "warm_s": round(warm[0], 2), "warm_logins": warm[1], "warm_speedup": round(ratio, 2),
        }  # fmt: skip
        for label, (_, logins, statuses) in rows[1:]:
            verdicts.check(
                logins == 0 and statuses == {"in_sync": total},
                f"a report run ({label}) over {total} unchanged accounts on {len(names)} "
                f"machines of one client: {logins} logins, {statuses} (target: 0 logins, all "
                "in_sync, none unmatched)",
            )
    finally:
        for server in servers:
            server.stop()


def main() -> int:
    args = arguments()
    c.header("local_accounts: verify, set and report against Samba standalone", args.quick)
    c.time_limit(args.time_limit)
    verdicts = c.Verdicts("local_accounts")
    try:
        part_one(args, verdicts)
        part_two(args, verdicts)
    except c.Deadline as err:
        verdicts.check(False, str(err))
    return verdicts.report()


if __name__ == "__main__":
    sys.exit(main())
