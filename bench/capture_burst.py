"""A burst of captured password changes: all arrive exactly once, at the rate Samba delivers.

    python bench/capture_burst.py [--quick] [--changes N]

A SQLite vault with one directory (an OU of its own on the machine's shared DC; its capture key
installed there: one restart) and N linked two-way credentials (default 1,000). With nothing
running, an administrator resets every one of the N passwords; then, in this order:

1. Baseline: ``samba-tool user syncpasswords --no-wait`` on a cache of its own (past its first
   pass) delivering the same changes to a script that does nothing (it reads its input and
   answers ``DONE-EXIT``): N / its wall time.
2. The real ``credsync capture samba`` process (the same syncpasswords, our hook, the sender,
   HTTP, the server decrypting and storing each as a new version): N / the time from starting
   it until the vault's ledger has all N accepted.

Targets: every credential gets exactly one new version holding its account's new password, and
the forwarder's rate is >= 80% of the baseline's. Both passes also deliver whatever else changed
in the domain meanwhile (other sessions share the DC); only the N count.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import _capture as cap
import _common as c
from credsync.agent.capture.samba import sync_once

TARGET_RATIO = 0.80


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--changes", type=int, default=1000)
    parser.add_argument("--time-limit", type=int, default=3600)
    args = parser.parse_args()
    if args.quick:
        args.changes = 30
    c.header("capture_burst: N changes at once -> vault", args.quick)
    c.time_limit(args.time_limit)
    verdicts = c.Verdicts("capture_burst")

    def measure(w: cap.World, admin: Any) -> None:
        baseline = cap.baseline_state(w)
        versions = {
            cred.id: len(w.vault.credentials.history(w.admin, None, cred.id)) for cred in w.creds
        }
        wanted: dict[str, str] = {}
        started = time.perf_counter()
        for dn, _ in w.users:
            wanted[dn] = cap.reset(admin, dn)
        took = time.perf_counter() - started
        print(f"{args.changes} resets in {took:.1f} s ({args.changes / took:.0f}/s)")
        n = args.changes

        started = time.perf_counter()
        assert sync_once(baseline, w.ou.facts.smb_conf) == 0
        base_s = time.perf_counter() - started

        guids = set(w.guids.values())
        mark = w.ledger_max()
        started = time.perf_counter()
        started_epoch = time.time()
        w.start_forwarder()
        while True:  # a count while it runs (cheap: the server shares this process)
            if w.accepted_count_since(mark) >= n:
                arrived = {g for g, _ in w.accepted_since(mark)} & guids
                if len(arrived) == n:
                    break
            if time.perf_counter() - started > 30 + 10 * base_s:
                raise SystemExit(f"only {w.accepted_count_since(mark)} of {n} arrived")
            time.sleep(0.02)
        ours_s = time.perf_counter() - started
        spooled_s = w.last_captured_since(mark) - started_epoch
        w.stop_forwarder()
        print(f"the forwarder's syncpasswords spooled the last change at {spooled_s:.1f} s; "
              f"the vault had all at {ours_s:.1f} s")  # fmt: skip
        verdicts.figures["last spooled at s"] = round(spooled_s, 1)

        accepted = [g for g, _ in w.accepted_since(mark) if g in guids]
        once = len(accepted) == n
        correct = 0
        for cred, (dn, _) in zip(w.creds, w.users, strict=True):
            held = w.vault.credentials.reveal(w.admin, w.keys, cred.id).password.reveal()
            new = len(w.vault.credentials.history(w.admin, None, cred.id)) - versions[cred.id]
            correct += held == wanted[dn] and new == 1
        rows = [
            ["syncpasswords -> do-nothing script (baseline)", f"{base_s:.1f}",
             f"{n / base_s:.1f}", "1.00"],
            ["credsync capture samba -> vault", f"{ours_s:.1f}", f"{n / ours_s:.1f}",
             f"{base_s / ours_s:.2f}"],
        ]  # fmt: skip
        print(c.table(["pass", "seconds", "changes/s", "rate / baseline"], rows))
        verdicts.figures.update(
            {"baseline per s": round(n / base_s, 1), "forwarder per s": round(n / ours_s, 1),
             "ratio": round(base_s / ours_s, 3), "accepted": len(accepted),
             "credentials right with one new version": correct}
        )  # fmt: skip
        said = f"{len(accepted)} accepted, {correct} credentials with one new, right version"
        verdicts.check(once and correct == n, f"all {n} changes arrived exactly once ({said})")
        verdicts.check(base_s / ours_s >= TARGET_RATIO,
                       f"rate {base_s / ours_s:.0%} of syncpasswords alone >= 80%")  # fmt: skip

    return cap.run(args.changes, verdicts, measure)


if __name__ == "__main__":
    raise SystemExit(main())
