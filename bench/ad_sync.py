"""The sync engine against the Samba AD DC: whole runs, compared with bare ldap3 in-process.

    python bench/ad_sync.py [--quick] [--accounts N] [--changed N] [--pushes N] [--changes N]
                               [--repeats R]

On a SQLite vault with one client, one directory (an OU of its own on the machine's shared
DC) and N linked credentials (default 5,000), it measures:

1. A report run over the N linked, unchanged accounts (full pass and incremental): zero binds,
   the full pass within 1.5x a bare ldap3 paged search reading the same accounts with the
   attributes a check needs, the connector's (issue 19; a search of 4 is printed too).
2. A run bind-checking M accounts whose pwdLastSet changed (default 2,000; helpdesk resets to
   the vault's password): target >= 95% of a bare ldap3 rebind loop (``get_info=NONE``) over
   the same accounts (issue 19). Both sides run R times (``--repeats``, 2), in turn, the order
   swapped each time (the load drifts: one of each back to back measured the drift); the
   ratio is of the sums. The whole run counts: reading the changes (DirSync),
   planning, binds, and storing links, flags and the report.
3. A run pushing P passwords changed in the vault (default 1,000, enforce): target >= 95% of a
   bare ldap3 ``unicodePwd`` modify loop (issue 19); alternated as 2.
4. With the agent running (default poll; the change's commit wakes it): a password changed in
   the vault works in AD (a bind with it succeeds), over C changes (default 100): p95 at most
   2x the baseline's p95, and under 1 s. Baseline: the same change made by hand (one bare
   modify), taken in turn with the agent's and checked the same way.

The accounts live in an OU made for the run and deleted at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ldap3 import MODIFY_REPLACE, SUBTREE

import _common as c
import ad_connector as adc
from credsync.agent.loop import Agent
from credsync.connectors.ad._mapping import ACCOUNT_ATTRIBUTES
from credsync.sync.enforce import EnforceSwitches
from credsync.sync.engine import Engine
from credsync.testing.samba import OuWorld, SambaDC
from credsync.types import Secret, SyncMode
from credsync.vault.drafts import make_draft

TARGET_RATIO = 0.95  # binds and pushes: the run's rate against the bare loop's (issue 19)
FULL_PASS_RATIO = 1.5  # the full report run's time against the bare paged search's, at most


def setup(world: OuWorld, users: list[tuple[str, str]], home: Path) -> tuple[Any, ...]:
    vault, admin, keys = c.make_vault(f"sqlite:///{home / 'vault.db'}")
    facts = world.facts
    vault.clients.add(admin, keys, "Bench", directory_sync=True)
    # The safety rails raised: the benchmark's mass changes are on purpose (issue 18's inbound
    # threshold would otherwise hold the helpdesk resets instead of bind-checking them).
    rails = {"push_cap": 1_000_000, "inbound_cap": 1_000_000, "inbound_cap_percent": 0}
    c.add_ad_directory(vault, admin, keys, "Bench", facts, world.dn, options=rails)
    creds = []
    started = time.perf_counter()
    for dn, password in users:
        name = dn.split(",", 1)[0][3:]
        draft = make_draft(title=f"AD {name}", username=name, password=Secret(password))
        creds.append(vault.credentials.add(admin, keys, "Bench", draft))
    print(f"added {len(creds)} credentials in {time.perf_counter() - started:.1f} s")
    return vault, admin, keys, creds


def run(vault: Any, admin: Any, keys: Any, **kw: Any) -> tuple[float, Any]:
    engine = Engine(vault, keys, admin)
    start = time.perf_counter()
    report = asyncio.run(engine.run("bench-ad", **kw))
    took = time.perf_counter() - start
    assert report.state == "done", report.message
    return took, report


# What a bare script needs to check an account as a run does (enabled, locked out, expired,
# its password stamp, its names): the attributes the connector asks for. The 4 of a script that
# looks only at the stamp and the flags are measured too, for the record.
CHECK_ATTRIBUTES = ACCOUNT_ATTRIBUTES
STAMP_ATTRIBUTES = ("objectGUID", "sAMAccountName", "pwdLastSet", "userAccountControl")


def bare_search(world: OuWorld, attributes: tuple[str, ...] = CHECK_ATTRIBUTES) -> float:
    conn = adc.bare_connection(world.facts, world.facts.admin_upn, world.facts.admin_password)
    start = time.perf_counter()
    entries = conn.extend.standard.paged_search(
        world.dn,
        "(&(objectCategory=person)(objectClass=user))",
        SUBTREE,
        attributes=list(attributes),
        paged_size=1000,
        generator=True,
    )
    count = sum(1 for e in entries if e.get("type") == "searchResEntry")
    took = time.perf_counter() - start
    conn.unbind()
    assert count > 0
    return took


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--accounts", type=int, default=5000)
    parser.add_argument("--changed", type=int, default=2000)
    parser.add_argument("--pushes", type=int, default=1000)
    parser.add_argument("--changes", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=2,
                        help="binds and pushes: each side this many times, in turn")  # fmt: skip
    parser.add_argument("--time-limit", type=int, default=1800)
    args = parser.parse_args()
    if args.quick:
        args.accounts, args.changed, args.pushes, args.changes = 200, 100, 50, 10
    c.header("ad_sync: sync runs against Samba AD", args.quick)
    c.time_limit(args.time_limit)
    verdicts = c.Verdicts("ad_sync")
    dc = SambaDC()
    facts = dc.acquire()
    world = OuWorld.create(facts, prefix="bench")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            users = list(adc.make_users(world, args.accounts).items())
            vault, admin, keys, creds = setup(world, users, Path(tmp))
            took, report = run(vault, admin, keys)
            print(f"first run (link + {report.summary.get('binds')} binds): {took:.1f} s")
            measure_unchanged(world, vault, admin, keys, args, verdicts)
            measure_changed(world, users, vault, admin, keys, args, verdicts)
            measure_pushes(world, users, creds, vault, admin, keys, args, verdicts)
            measure_agent(world, users, creds, vault, admin, keys, args, verdicts)
            vault.db.dispose()
        print()
        print(c.table(["figure", "value"], [[k, v] for k, v in verdicts.figures.items()]))
        return verdicts.report()
    finally:
        print(f"deleting the {args.accounts} bench accounts ...")
        world.close()
        dc.release()


async def full_passes(engine: Engine, count: int) -> list[tuple[float, Any]]:
    """``count`` full report runs on one connector opened beforehand, as the agent's periodic
    runs use the one it keeps per directory (and as the bare search's connection is open
    before its clock starts): its first run, which opens it (TLS, bind, the DC's facts), is
    not timed."""
    connector = engine.connect("bench-ad")
    try:
        report = await engine.run("bench-ad", full=True, connector=connector)
        assert report.state == "done", report.message
        out = []
        for _ in range(count):
            start = time.perf_counter()
            report = await engine.run("bench-ad", full=True, connector=connector)
            took = time.perf_counter() - start
            assert report.state == "done", report.message
            out.append((took, report))
        return out
    finally:
        await connector.close()


def measure_unchanged(world: OuWorld, vault: Any, admin: Any, keys: Any, args: Any,
                      verdicts: c.Verdicts) -> None:  # fmt: skip
    fulls = asyncio.run(full_passes(Engine(vault, keys, admin), 2))  # the best of two, as
    full = min(took for took, _ in fulls)  # the bare search's below
    incremental, report_inc = run(vault, admin, keys)
    binds = sum(r.summary.get("binds", 0) for _, r in fulls) + report_inc.summary.get("binds", 0)
    search = min(bare_search(world) for _ in range(2))
    stamps = min(bare_search(world, STAMP_ATTRIBUTES) for _ in range(2))
    verdicts.figures["bare_paged_search_4_attributes_s"] = round(stamps, 3)
    verdicts.figures["unchanged_full_run_s"] = round(full, 3)
    verdicts.figures["unchanged_incremental_run_s"] = round(incremental, 3)
    verdicts.figures["bare_paged_search_s"] = round(search, 3)
    verdicts.figures["unchanged_binds"] = binds
    print(f"report run over {args.accounts} unchanged: full {full:.2f} s, incremental "
          f"{incremental:.2f} s, {binds} binds; bare paged search {search:.2f} s "
          f"(full run = {full / search:.2f}x the bare search; {full / stamps:.2f}x the "
          f"{stamps:.2f} s of a bare search of {len(STAMP_ATTRIBUTES)} attributes)")  # fmt: skip
    verdicts.figures["unchanged_full_ratio"] = round(full / search, 3)
    verdicts.check(
        binds == 0 and full <= FULL_PASS_RATIO * search,
        f"report run over {args.accounts} linked unchanged accounts: {binds} binds, full pass "
        f"{full:.2f} s = {full / search:.2f}x the bare paged search's {search:.2f} s, "
        f"incremental {incremental:.2f} s (target: 0 binds, full pass <= {FULL_PASS_RATIO}x)",
    )


def compare_rates(
    verdicts: c.Verdicts,
    keys: tuple[str, str, str],
    ours: float,
    theirs: float,
    what: str,
    baseline: str,
) -> None:
    """Record the run's rate against the bare loop's and check the ratio target."""
    ratio = ours / theirs
    print(f"{what}: the run {ours:.1f}/s, {baseline} {theirs:.1f}/s: {ratio:.2f}x", flush=True)
    for key, value in zip(keys, (round(ours, 1), round(theirs, 1), round(ratio, 3)), strict=True):
        verdicts.figures[key] = value
    verdicts.check(
        ratio >= TARGET_RATIO,
        f"{what}: the run does {ours:.0f}/s, {ratio:.0%} of {baseline} {theirs:.0f}/s "
        f"(target >= {TARGET_RATIO:.0%})",
    )


def measure_changed(world: OuWorld, users: list[tuple[str, str]], vault: Any, admin: Any,
                    keys: Any, args: Any, verdicts: c.Verdicts) -> None:  # fmt: skip
    changed = users[: args.changed]
    conn = world.admin.conn
    bare = adc.bare_connection(world.facts)

    def ours() -> float:
        for dn, password in changed:  # a helpdesk reset to the same password: a new pwdLastSet
            conn.modify(dn, {"unicodePwd": [(MODIFY_REPLACE, [adc.quoted(password)])]})
        took, report = run(vault, admin, keys)
        binds = report.summary.get("binds", 0)
        assert binds == len(changed), report.summary
        return took

    def theirs() -> float:
        start = time.perf_counter()
        for dn, password in changed:
            assert bare.rebind(dn, password, read_server_info=False)
        return time.perf_counter() - start

    took, bare_took = alternated(ours, theirs, args.repeats, "binds")
    compare_rates(
        verdicts,
        ("changed_run_per_s", "bare_rebind_per_s", "changed_ratio"),
        len(changed) / took,
        len(changed) / bare_took,
        f"bind-checking {len(changed)} changed accounts",
        "bare ldap3 rebinds",
    )


def alternated(
    ours: Callable[[], float], theirs: Callable[[], float], repeats: int, what: str
) -> tuple[float, float]:
    """Both sides ``repeats`` times, in turn, the order swapped each time (ours first, then
    theirs first, ...): the machine's load drifts (other work, the DC's), and one run of each
    back to back measured the drift as much as the code. Sums of both sides' times."""
    mine = bare = 0.0
    for n in range(repeats):
        if n % 2 == 0:
            a, b = ours(), theirs()
        else:
            b = theirs()
            a = ours()
        print(
            f"  {what} {n + 1}/{repeats}: run {a:.2f} s, bare {b:.2f} s: {b / a:.2f}x", flush=True
        )
        mine, bare = mine + a, bare + b
    return mine, bare


def measure_pushes(world: OuWorld, users: list[tuple[str, str]], creds: list[Any], vault: Any,
                   admin: Any, keys: Any, args: Any, verdicts: c.Verdicts) -> None:  # fmt: skip
    chosen = creds[-args.pushes :]
    switches = EnforceSwitches(vault)
    for cred in chosen:  # confirmed as an operator does: their links are confirmed with it
        switches.set_credential_mode(admin, cred.id, SyncMode.ENFORCE, confirmed=True)
    run(vault, admin, keys)  # nothing to push yet
    bare = adc.bare_connection(world.facts, world.facts.admin_upn, world.facts.admin_password)
    # The bare loop's accounts are in an OU of their own, outside the directory: once the
    # order swaps, its changes would otherwise be changes in AD for the run to check.
    elsewhere = OuWorld.create(world.facts, prefix="bench-bare")
    try:
        dns = list(adc.make_users(elsewhere, len(chosen)))
        _measure_pushes(vault, admin, keys, args, verdicts, chosen, bare, dns)
    finally:
        elsewhere.close()


def _measure_pushes(vault: Any, admin: Any, keys: Any, args: Any, verdicts: c.Verdicts,
                    chosen: list[Any], bare: Any, dns: list[str]) -> None:  # fmt: skip
    def ours() -> float:
        for cred in chosen:
            vault.credentials.set_password(
                admin, keys, cred.id, Secret(f"Vault-{uuid.uuid4().hex[:10]}-1")
            )
        took, report = run(vault, admin, keys)
        assert report.summary.get("pushes") == len(chosen), report.summary
        return took

    def theirs() -> float:
        start = time.perf_counter()
        for dn in dns:
            new = adc.quoted(f"Bare-{uuid.uuid4().hex[:10]}-1")
            assert bare.modify(dn, {"unicodePwd": [(MODIFY_REPLACE, [new])]}), bare.result
        return time.perf_counter() - start

    took, bare_took = alternated(ours, theirs, args.repeats, "pushes")
    compare_rates(
        verdicts,
        ("push_run_per_s", "bare_modify_per_s", "push_ratio"),
        len(chosen) / took,
        len(dns) / bare_took,
        f"pushing {len(chosen)} passwords",
        "bare ldap3 unicodePwd modifies",
    )


AGENT_RATIO = 2.0  # issue 19: the agent's p95 at most twice the change made by hand
CHECK_PAUSE = 0.01  # seconds between two bind checks of a change not there yet (both sides)


def measure_agent(world: OuWorld, users: list[tuple[str, str]], creds: list[Any], vault: Any,
                  admin: Any, keys: Any, args: Any, verdicts: c.Verdicts) -> None:  # fmt: skip
    """Changes made through the vault with the agent running (as the product runs it: default
    poll, woken by the change's commit) and changes made by hand to another account (a bare
    modify from a thread of its own, standing in for the agent), one of each in turn, so that
    both see the same DC; each is timed from its start until a bind with the new password
    succeeds, checked the same way on both sides (a bind, CHECK_PAUSE, a bind...). The agent's
    next change waits until it has finished the previous one (re-read, report, queue row)."""
    from credsync.storage.tables import sync_queue

    cred, (dn, _) = creds[-1], users[-1]
    hand_dn = users[0][0]  # report mode: no run pushes it back
    checker = adc.bare_connection(world.facts)
    admin_conn = adc.bare_connection(world.facts, world.facts.admin_upn, world.facts.admin_password)
    run(vault, admin, keys)  # everything settled; the queue drained by hand below
    with vault.db.write() as conn:
        conn.execute(sync_queue.delete())

    def until_works(target: str, password: str, start: float) -> float:
        while not checker.rebind(target, password, read_server_info=False):
            if time.perf_counter() - start > 30:
                raise AssertionError("a change did not reach AD within 30 s")
            time.sleep(CHECK_PAUSE)
        return time.perf_counter() - start

    def agent_idle() -> None:
        while True:
            with vault.db.read() as conn:
                if not conn.execute(sync_queue.select().limit(1)).first():
                    return
            time.sleep(CHECK_PAUSE)

    latencies: list[float] = []
    by_hand: list[float] = []
    loop = asyncio.new_event_loop()
    agent = Agent(vault, keys, admin)  # the default poll: the commit wakes it
    thread = threading.Thread(target=lambda: loop.run_until_complete(agent.run()), daemon=True)
    thread.start()
    try:
        time.sleep(2.0)  # let the agent's first periodic run finish
        for n in range(args.changes):
            password = f"Agent-{n}-{uuid.uuid4().hex[:8]}-1"
            start = time.perf_counter()
            vault.credentials.set_password(admin, keys, cred.id, Secret(password))
            latencies.append(until_works(dn, password, start))
            agent_idle()
            password = f"Hand-{n}-{uuid.uuid4().hex[:8]}-1"
            change = {"unicodePwd": [(MODIFY_REPLACE, [adc.quoted(password)])]}
            start = time.perf_counter()
            hand = threading.Thread(target=admin_conn.modify, args=(hand_dn, change))
            hand.start()
            by_hand.append(until_works(hand_dn, password, start))
            hand.join()
    finally:
        loop.call_soon_threadsafe(agent.stop)
        thread.join(timeout=30)
    p50, p95 = c.percentile(latencies, 50), c.percentile(latencies, 95)
    hand50, hand95 = c.percentile(by_hand, 50), c.percentile(by_hand, 95)
    ratio = p95 / hand95
    verdicts.figures["agent_p50_ms"] = c.ms(p50)
    verdicts.figures["agent_p95_ms"] = c.ms(p95)
    verdicts.figures["by_hand_p50_ms"] = c.ms(hand50)
    verdicts.figures["by_hand_p95_ms"] = c.ms(hand95)
    verdicts.figures["agent_ratio"] = round(ratio, 2)
    verdicts.check(
        ratio <= AGENT_RATIO,
        f"vault change -> works in AD with the agent running, {len(latencies)} changes: "
        f"p50 {c.ms(p50)} ms, p95 {c.ms(p95)} ms = {ratio:.2f}x the change made by hand "
        f"(a bare modify, checked the same way: p50 {c.ms(hand50)} ms, p95 {c.ms(hand95)} ms) "
        f"(target: p95 <= {AGENT_RATIO:.0f}x by hand)",
    )
    verdicts.check(
        p95 < 1.0,
        f"vault change -> works in AD with the agent running: p95 {c.ms(p95)} ms "
        "(target: under 1 s; the DC's own speed counts here)",
    )


if __name__ == "__main__":
    raise SystemExit(main())
