"""A burst of captured password changes: all arrive exactly once, at the rate Samba delivers.

    python bench/capture_burst.py [--quick] [--changes N] [--rounds R]

A SQLite vault with one directory (an OU of its own on the machine's shared DC; its capture key
installed there: one restart) and N linked two-way credentials (default 1,000). R rounds
(default 2): with nothing running, an administrator resets every one of the N passwords; then
both of these, the baseline first in odd rounds and second in even ones:

- Baseline: ``samba-tool user syncpasswords --no-wait`` on a cache of its own (past its first
  pass) delivering the same changes to a script that does nothing (it reads its input and
  answers ``DONE-EXIT``): N / its wall time.
- The real ``credsync capture samba`` process (the same syncpasswords, our hook, the sender,
  HTTP, the server decrypting and storing each as a new version): N / the time from starting
  it until the vault's ledger has all N accepted.

Targets: in every round every credential gets exactly one new version holding its account's
new password, and the forwarder's rate over all rounds is >= 80% of the baseline's. Both passes
also deliver whatever else changed in the domain meanwhile (other sessions share the DC); only
the N count.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from typing import Any

import _capture as cap
import _common as c
from credsync.agent.capture.samba import sync_once
from credsync.agent.capture.spool import Spool

TARGET_RATIO = 0.80


def _base_pass(w: cap.World, baseline: Spool) -> float:
    started = time.perf_counter()
    assert sync_once(baseline, w.ou.facts.smb_conf) == 0
    return time.perf_counter() - started


def _our_pass(w: cap.World, n: int, label: str) -> tuple[float, int]:
    """The forwarder started until the vault has all ``n``: its seconds, and the ledger row
    the pass started after."""
    guids = set(w.guids.values())
    mark = w.ledger_max()
    started = time.perf_counter()
    started_epoch = time.time()
    w.start_forwarder()
    while True:  # a count while it runs (cheap: the server shares this process)
        if (
            w.accepted_count_since(mark) >= n
            and len({g for g, _ in w.accepted_since(mark)} & guids) == n
        ):
            break
        if time.perf_counter() - started > 120 + n / 10:
            raise SystemExit(f"only {w.accepted_count_since(mark)} of {n} arrived")
        time.sleep(0.02)
    ours = time.perf_counter() - started
    journal = w.last_captured_since(mark) - started_epoch
    w.stop_forwarder()
    print(f"{label}: the forwarder's journal had the last change at {journal:.1f} s; "
          f"the vault had all at {ours:.1f} s")  # fmt: skip
    return ours, mark


def _right(w: cap.World, mark: int, versions: dict[str, int], wanted: dict[str, str]) -> int:
    """How many credentials hold their account's new password with exactly one new version
    (and their change accepted once since ``mark``)."""
    accepted = Counter(g for g, _ in w.accepted_since(mark))
    right = 0
    for cred, (dn, _) in zip(w.creds, w.users, strict=True):
        held = w.vault.credentials.reveal(w.admin, w.keys, cred.id).password.reveal()
        new = len(w.vault.credentials.history(w.admin, None, cred.id)) - versions[cred.id]
        right += held == wanted[dn] and new == 1 and accepted[w.guids[dn]] == 1
    return right


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--changes", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--time-limit", type=int, default=3600)
    args = parser.parse_args()
    if args.quick:
        args.changes = 30
    c.header("capture_burst: N changes at once -> vault", args.quick)
    c.time_limit(args.time_limit)
    verdicts = c.Verdicts("capture_burst")
    n, rounds = args.changes, args.rounds

    def measure(w: cap.World, admin: Any) -> None:
        baseline = cap.baseline_state(w)
        rows: list[list[str]] = []
        base_total = ours_total = 0.0
        right_every_round = True
        for number in range(1, rounds + 1):
            label = f"round {number}"
            versions = {
                cred.id: len(w.vault.credentials.history(w.admin, None, cred.id))
                for cred in w.creds
            }
            started = time.perf_counter()
            wanted = {dn: cap.reset(admin, dn) for dn, _ in w.users}
            took = time.perf_counter() - started
            print(f"{label}: {n} resets in {took:.1f} s ({n / took:.0f}/s)")
            # the order alternates: neither pass is favoured by going first after the resets
            if number % 2:
                base_s = _base_pass(w, baseline)
                ours_s, mark = _our_pass(w, n, label)
            else:
                ours_s, mark = _our_pass(w, n, label)
                base_s = _base_pass(w, baseline)
            right = _right(w, mark, versions, wanted)
            right_every_round = right_every_round and right == n
            verdicts.figures[f"{label} credentials right"] = right
            base_total, ours_total = base_total + base_s, ours_total + ours_s
            first = "baseline first" if number % 2 else "forwarder first"
            rows.append([f"{number} ({first})", f"{base_s:.1f}", f"{n / base_s:.1f}",
                         f"{ours_s:.1f}", f"{n / ours_s:.1f}",
                         f"{base_s / ours_s:.2f}"])  # fmt: skip
        ratio = base_total / ours_total
        rows.append(["all", f"{base_total:.1f}", f"{n * rounds / base_total:.1f}",
                     f"{ours_total:.1f}", f"{n * rounds / ours_total:.1f}",
                     f"{ratio:.2f}"])  # fmt: skip
        print(c.table(["round", "baseline s", "baseline /s", "forwarder->vault s",
                       "forwarder /s", "rate / baseline"], rows))  # fmt: skip
        verdicts.figures.update(
            {"baseline per s": round(n * rounds / base_total, 1),
             "forwarder per s": round(n * rounds / ours_total, 1),
             "ratio": round(ratio, 3), "rounds": rounds}
        )  # fmt: skip
        verdicts.check(right_every_round, f"every round: all {n} changes arrived exactly once "
                       "(one new, right version for each credential)")  # fmt: skip
        verdicts.check(ratio >= TARGET_RATIO,
                       f"rate {ratio:.0%} of syncpasswords alone >= 80% (all rounds)")  # fmt: skip

    return cap.run(args.changes, verdicts, measure)


if __name__ == "__main__":
    raise SystemExit(main())
