"""Scenario 1: ``credsync agent`` killed with SIGKILL in the middle of 1,000 pushes, against
the shared Samba DC (this test's own OU and accounts) and against the Graph simulator; a new
agent process started afterwards finishes the work. Every push is a password change in the
vault under enforce (queued in the same transaction); the pushes come in ROUNDS rounds of one
change per account, each round drained before the next, so that every change is one password
write the directory must see exactly once. The kill comes in the middle round once a quarter
of its writes have landed.

Counted from the directory's side, never from credsync's own records: on the DC the version of
``unicodePwd`` in each account's replication metadata (see :mod:`.ad`), in the simulator its
log of password writes per user. ``lost``: accounts whose newest vault password does not
work at the end, plus rounds that never reached an account; ``duplicates``: writes beyond
one per round (AD), a password written more than once (the simulator)."""

from __future__ import annotations

import signal
import time
from typing import Any

from credsync.types import SyncMode
from sync.entra import EntraWorld
from sync.helpers import SyncWorld

from .ad import binds, password_versions, pwd_last_set
from .agents import Agents, expire_leases, queue_rows
from .figures import Figure, Stopwatch, record

ACCOUNTS = 100
ROUNDS = 10  # ACCOUNTS * ROUNDS = 1,000 pushes
KILL_ROUND = ROUNDS // 2


def _round_password(n: int, r: int) -> str:
    return f"Chaos-{r}-{n}-Pw9!"


def _drive(
    agents: Agents,
    db: Any,
    creds: list[Any],
    set_password: Any,
    landed: Any,
    kill_round_hook: Any = None,
) -> tuple[float, int]:
    """The rounds, with the kill in KILL_ROUND: (seconds to recover, claims the dead agent
    held). ``landed(r)``: how many accounts have round ``r``'s password written so far."""
    agent = agents.start()
    recover = 0.0
    held = 0
    for r in range(ROUNDS):
        if r == KILL_ROUND and kill_round_hook is not None:
            kill_round_hook(True)
        for n, cred in enumerate(creds):
            set_password(cred, _round_password(n, r))
        if r == KILL_ROUND:
            agents.until(
                lambda: landed(KILL_ROUND) >= ACCOUNTS // 4, agent, "no push of the round landed"
            )
            agent.send_signal(signal.SIGKILL)
            agent.wait(10)
            done = landed(r)
            assert done < ACCOUNTS, "every push had landed before the kill: slow the directory"
            if kill_round_hook is not None:
                kill_round_hook(False)
            held = expire_leases(db)
            clock = Stopwatch()
            agent = agents.start()
            agents.until(lambda: not queue_rows(db), agent, "the new agent left the queue")
            recover = clock.seconds()
        else:
            agents.until(lambda: not queue_rows(db), agent, f"round {r} was not pushed")
    agent.send_signal(signal.SIGTERM)
    assert agent.wait(30) == 0, agents.logs()
    return recover, held


def test_an_agent_killed_mid_way_through_1000_pushes_to_ad(adw: SyncWorld, agents: Agents) -> None:
    users = [adw.ad.create_user() for _ in range(ACCOUNTS)]
    creds = [adw.add(u, mode=SyncMode.ENFORCE) for u in users]
    adw.run()
    adw.confirm()
    dns = [u.dn for u in users]
    before = password_versions(adw.ad, dns)
    stamps: dict[int, dict[str, int]] = {}

    def landed(r: int) -> int:
        now = pwd_last_set(adw.ad)
        start = stamps.setdefault(r, now)
        return sum(1 for dn in dns if now.get(dn, 0) > start.get(dn, 0))

    def mark(starting: bool) -> None:
        if starting:
            stamps[KILL_ROUND] = pwd_last_set(adw.ad)

    recover, held = _drive(agents, adw.vault.db, creds, adw.set_password, landed, mark)

    after = password_versions(adw.ad, dns)
    writes = {dn: after[dn] - before[dn] for dn in dns}
    duplicates = sum(max(0, w - ROUNDS) for w in writes.values())
    missing = sum(max(0, ROUNDS - w) for w in writes.values())
    newest = [_round_password(n, ROUNDS - 1) for n in range(ACCOUNTS)]
    wrong = [u.name for u, pw in zip(users, newest, strict=True) if not binds(adw.ad, u.dn, pw)]
    figure = Figure(
        "agent SIGKILL mid 1,000 pushes (AD)",
        operations=ACCOUNTS * ROUNDS,
        lost=len(wrong) + missing,
        duplicates=duplicates,
        recover_seconds=recover,
        detail=f"{ACCOUNTS} accounts x {ROUNDS} rounds; the dead agent held {held} claims",
    )
    record(figure)
    assert not wrong, f"newest password does not bind: {wrong[:5]}"
    assert figure.lost == 0, writes
    assert figure.duplicates == 0, writes


def test_an_agent_killed_mid_way_through_1000_pushes_to_entra(
    ew: EntraWorld, agents: Agents
) -> None:
    users = [ew.add_user() for _ in range(ACCOUNTS)]
    creds = [ew.add(u, mode=SyncMode.ENFORCE) for u in users]
    ew.run()
    ew.confirm()
    log = ew.tenant.password_log
    base = {u.id: log.count(u.id) for u in users}
    round_base: dict[int, int] = {}

    def total() -> int:
        return sum(log.count(u.id) for u in users)

    def landed(r: int) -> int:
        start = round_base.setdefault(r, total())
        return total() - start

    def slow(starting: bool) -> None:
        # the kill round's writes one after another, 20 ms apart, so the kill lands mid-way;
        # what the dead agent had sent is finished by the tenant (it was under way there)
        if starting:
            round_base[KILL_ROUND] = total()
            ew.tenant.latency.set(0.02, method="PATCH", path_prefix="/v1.0/users")
        else:
            deadline = time.monotonic() + 30
            while ew.sim.open_connections() and time.monotonic() < deadline:
                time.sleep(0.01)
            ew.tenant.latency.clear()

    recover, held = _drive(agents, ew.vault.db, creds, ew.set_password, landed, slow)

    duplicates = 0
    missing = 0
    wrong = []
    for n, u in enumerate(users):
        written = log.count(u.id) - base[u.id]
        missing += max(0, ROUNDS - written)
        duplicates += sum(max(0, log.count(u.id, _round_password(n, r)) - 1) for r in range(ROUNDS))
        if not ew.tenant.check_password(u.id, _round_password(n, ROUNDS - 1)):
            wrong.append(u.upn)
    figure = Figure(
        "agent SIGKILL mid 1,000 pushes (Entra)",
        operations=ACCOUNTS * ROUNDS,
        lost=len(wrong) + missing,
        duplicates=duplicates,
        recover_seconds=recover,
        detail=f"{ACCOUNTS} users x {ROUNDS} rounds; the dead agent held {held} claims",
    )
    record(figure)
    assert not wrong, f"newest password does not sign in: {wrong[:5]}"
    assert figure.lost == 0
    assert figure.duplicates == 0
