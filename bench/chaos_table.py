"""The chaos table (issue 18) as Markdown, for docs/chaos.md and the issue's closing note.

    .venv/bin/python bench/chaos_table.py              # runs tests/chaos, then the table
    .venv/bin/python bench/chaos_table.py --from FILE  # the table of an earlier run's figures

Running, it sets ``CREDSYNC_CHAOS_REPORT`` to ``bench/results/chaos.json`` for a pytest run of
``tests/chaos`` (each test asserts lost = 0 and duplicates = 0 and writes its figures there),
then prints one row per scenario: operations attempted, passwords lost, duplicates, time to
recover (from the end of the fault, or the kill, to the work done; measured, never asserted).
The exit status is pytest's when it ran, else 0. There is no baseline to take a ratio
against: the figures that matter are counts that must be 0, and the times are shown as
measured on the machine of the run."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "chaos.json"


def table(figures: list[dict[str, object]]) -> str:
    rows = [
        "| Scenario | Operations | Lost | Duplicates | Time to recover | Notes |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for f in figures:
        recover = f.get("recover_seconds")
        shown = "-" if recover is None else f"{float(str(recover)):.1f} s"
        notes = str(f.get("detail", "")).replace("|", "/")
        rows.append(
            f"| {f['scenario']} | {f['operations']} | {f['lost']} | {f['duplicates']} "
            f"| {shown} | {notes} |"
        )
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--from", dest="source", type=Path, help="figures of an earlier run")
    args = parser.parse_args()
    status = 0
    source = args.source
    if source is None:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.unlink(missing_ok=True)
        env = {**os.environ, "CREDSYNC_CHAOS_REPORT": str(RESULTS)}
        env["PYTHONPATH"] = str(ROOT / "src")
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/chaos"]
        status = subprocess.run(command, cwd=ROOT, env=env, check=False).returncode
        source = RESULTS
    if not source.exists():
        print(f"no figures in {source}", file=sys.stderr)
        return status or 1
    print(table(json.loads(source.read_text())))
    return status


if __name__ == "__main__":
    raise SystemExit(main())
