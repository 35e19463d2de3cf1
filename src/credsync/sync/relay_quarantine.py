"""The outbound threshold over relayed passwords (issue 18; the thresholds are
:mod:`credsync.sync.quarantine`'s): a relay's pushes to its target directory are pushes like
a sync run's, under that directory's ``push_cap`` / ``push_cap_percent``.

:func:`screen_relays` takes the pushes a relay run (or the agent's queued relays) is about to
make, before any is sent:

- a push to an account whose push is held already (a sync run's or a relay's) is skipped,
  "held in quarantine"; one discarded at this secret version is skipped too (the target
  credential's next password is relayed as usual);
- the jobs in step already (or unknown: the pusher says why) are not counted;
- more of the others than the threshold: none is sent, each is held (direction ``outbound``,
  action ``relay``, observed ``v<secret version>``) with the reason, and the run ends
  ``aborted``. Approved, they are pushed by the relay pusher (a ``relay`` run, trigger
  ``quarantine``); discarded, nothing is sent.

A whole relay run counts the percentage against the target directory's links; the agent's
queued relays count pushes only (a handful at a time), as the engine's queued pushes do.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

from credsync.storage import Database
from credsync.storage import credentials as credential_rows
from credsync.storage import links as link_rows
from credsync.storage import quarantine as rows
from credsync.sync.quarantine import OUTBOUND, Holding, Limits, store_held
from credsync.vault.audit import AuditLog
from credsync.vault.auth import Actor
from credsync.vault.directories import Directory

if TYPE_CHECKING:  # relay_push screens its queued pushes here: its types only
    from credsync.sync.relay_push import PushJob

Skipped = tuple["PushJob", str, int]  # a job not pushed, why, the secret version

__all__ = ["RELAY", "Skipped", "gated", "screen_relays"]

RELAY = "relay"
_IN = 250  # credential ids in one IN (...)
_DISCARDED = (
    "discarded from quarantine at this secret version: not relayed until the password changes again"
)


def gated(db: Database, directory: Directory, matched: int, *, linked: int) -> bool:
    """Whether a relay run must gather its pushes and screen them before sending any:
    ``matched`` users could cross the threshold, or pushes to this directory are held or
    were discarded (else its pushes go out slice by slice, as they are stored)."""
    if Limits.outbound(directory).crossed(matched, linked, "", "push_cap") is not None:
        return True
    with db.read() as conn:
        found = rows.listed(conn, None, directory_id=directory.id, states=(rows.HELD, "discarded"))
    return any(r.direction == OUTBOUND for r in found)


def screen_relays(
    db: Database,
    audit: AuditLog,
    actor: Actor,
    directory: Directory,
    run_id: str,
    jobs: Sequence[PushJob],
    *,
    linked: int,
    at: dt.datetime,
) -> tuple[list[PushJob], list[Skipped], str | None]:
    """``jobs`` split into those to push and those not pushed (held, now or before, or
    discarded), and the reason when the threshold stopped them all."""
    ids = [j.credential_id for j in jobs]
    links: dict[str, link_rows.LinkRow] = {}
    creds: dict[str, credential_rows.CredentialRow] = {}
    with db.read() as conn:
        for start in range(0, len(ids), _IN):
            part = ids[start : start + _IN]
            links.update(
                (x.credential_id, x) for x in link_rows.of_directory(conn, directory.id, part)
            )
            creds.update((c.id, c) for c in credential_rows.in_title_order(conn, part))
        held = rows.held_for(conn, directory.id, OUTBOUND)
        discarded = {
            (r.account_id, r.observed)
            for r in rows.listed(conn, None, directory_id=directory.id, states=("discarded",))
            if r.direction == OUTBOUND
        }
    go: list[PushJob] = []
    skipped: list[Skipped] = []
    fresh: list[tuple[PushJob, Holding, int]] = []
    for job in jobs:
        link, cred = links.get(job.credential_id), creds.get(job.credential_id)
        if link is None or cred is None or cred.deleted_at is not None:
            go.append(job)  # the pusher says why it is not pushed
            continue
        version = int(cred.secret_version)
        if version in (link.confirmed_secret_version, link.failed_secret_version):
            go.append(job)  # in step, or refused before: nothing is sent
        elif link.account_id in held:
            row = held[link.account_id]
            why = f"held in quarantine ({row.id[:8]}): {row.reason}"
            skipped.append((job, why, version))
        elif (link.account_id, f"v{version}") in discarded:
            skipped.append((job, _DISCARDED, version))
        else:
            name = job.account.username if job.account is not None else cred.username
            holding = Holding(job.credential_id, link.account_id, name or link.account_id,
                              RELAY, f"v{version}")  # fmt: skip
            fresh.append((job, holding, version))
    figures = Limits.outbound(directory).crossed(len(fresh), linked, "relayed passwords to push",
                                                 "push_cap")  # fmt: skip
    if figures is None:
        return go + [job for job, _, _ in fresh], skipped, None
    reason = (
        f"quarantined by the outbound threshold: {figures}; nothing was pushed (approve or "
        "discard them with `credsync quarantine`, or raise push_cap with `credsync directory "
        "set`)"
    )
    store_held(db, audit, actor, directory, run_id, OUTBOUND, [h for _, h, _ in fresh], reason,
               at=at)  # fmt: skip
    skipped.extend((job, reason, v) for job, _, v in fresh)
    return go, skipped, reason
