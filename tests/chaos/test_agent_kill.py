"""Scenario 1: ``credsync agent`` killed with SIGKILL in the middle of 1,000 pushes, against
the shared Samba DC (this test's own OU and accounts) and against the Graph simulator (in a
process of its own: :mod:`.simproc`); a new agent process started afterwards finishes the
work. Every push is a password change in the vault under enforce (queued in the same
transaction); the pushes come in ROUNDS rounds of one change per account, each round drained
before the next, so that every change is one password write the directory must see exactly
once. The kill comes in the middle round once a quarter
of its writes have landed.

Counted from the directory's side, never from credsync's own records: on the DC the version of
``unicodePwd`` in each account's replication metadata (see :mod:`.ad`), in the simulator its
log of password writes per user. ``lost``: accounts whose newest vault password does not
work at the end, plus rounds that never reached an account; ``duplicates``: writes beyond
one per round (AD), a password written more than once (the simulator)."""

from __future__ import annotations

import signal
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from agent_procs import Agents
from credsync.types import CredentialType, Secret, SyncMode
from credsync.vault.drafts import make_draft
from sync.helpers import SyncWorld, add_directory
from vault.helpers import VaultWorld

from .ad import binds, password_versions, pwd_last_set
from .agents import expire_leases, queue_rows
from .figures import Figure, Stopwatch, record
from .simproc import SimProcess

# minutes each: scheduled first in parallel runs (tests/conftest.py, _longest_first)
pytestmark = pytest.mark.slow

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


def _entra_world(vault_world: VaultWorld, sim: SimProcess) -> SyncWorld:
    """A client whose Entra directory is the tenant of the simulator process."""
    vault, admin, keys = vault_world.vault, vault_world.admin, vault_world.keys
    info = sim.info
    client = f"Client {uuid.uuid4().hex[:8]}"
    vault.clients.add(admin, keys, client, directory_sync=True)
    bind = vault.credentials.add(
        admin, keys, client,
        make_draft(title="Graph app", username="credsync-app",
                   password=Secret(info["client_secret"]),
                   type_=CredentialType.DIRECTORY_ADMIN, sync_mode=SyncMode.OFF),
    )  # fmt: skip
    name = f"entra-{uuid.uuid4().hex[:8]}"
    add_directory(
        vault, admin, client, name, kind="entra", url=info["graph_url"], base_dn=None,
        bind_credential=bind.id, tenant_id=info["tenant_id"], app_id=info["client_id"],
        authority=info["url"], bind_kind="secret", ca_pem=info["ca_pem"],
    )  # fmt: skip
    return SyncWorld(vault_world, None, client, name, bind.id)  # type: ignore[arg-type]


def test_an_agent_killed_mid_way_through_1000_pushes_to_entra(
    sqlite_world: VaultWorld, agents: Agents, tmp_path: Path
) -> None:
    sim = SimProcess(tmp_path)
    try:
        _entra_kill(_entra_world(sqlite_world, sim), sim, agents)
    finally:
        sim.close()


def _entra_kill(ew: SyncWorld, sim: SimProcess, agents: Agents) -> None:
    users = sim.ask(f"users {ACCOUNTS}")
    creds = [
        ew.vault.credentials.add(
            ew.admin, ew.keys, ew.client,
            make_draft(title=f"cloud {n}", username=u["upn"], password=Secret(u["password"]),
                       sync_mode=SyncMode.ENFORCE),
        )
        for n, u in enumerate(users)
    ]  # fmt: skip
    ew.run()
    ew.confirm()
    ids = [u["id"] for u in users]
    base = {uid: entry["total"] for uid, entry in sim.ask("log", {i: [] for i in ids}).items()}
    round_base: dict[int, int] = {}

    def total() -> int:
        return sum(e["total"] for e in sim.ask("log", {i: [] for i in ids}).values())

    def landed(r: int) -> int:
        start = round_base.setdefault(r, total())
        return total() - start

    def slow(starting: bool) -> None:
        # the kill round's writes one after another, 20 ms apart, so the kill lands mid-way;
        # what the dead agent had sent is finished by the tenant (it was under way there)
        if starting:
            round_base[KILL_ROUND] = total()
            sim.ask("latency 0.02")
        else:
            deadline = time.monotonic() + 30
            while sim.ask("open")["open"] and time.monotonic() < deadline:
                time.sleep(0.01)
            sim.ask("latency 0")

    recover, held = _drive(agents, ew.vault.db, creds, ew.set_password, landed, slow)

    given = {uid: [_round_password(n, r) for r in range(ROUNDS)] for n, uid in enumerate(ids)}
    log = sim.ask("log", given)
    missing = sum(max(0, ROUNDS - (log[uid]["total"] - base[uid])) for uid in ids)
    duplicates = sum(max(0, c - 1) for uid in ids for c in log[uid]["each"])
    wrong = sim.ask("check", {uid: pws[-1] for uid, pws in given.items()})["wrong"]
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
