"""Which results a run counts instead of storing a report item for each (issue 20: a run that
changed nothing stores a summary, not 5,000 rows): a credential found, with nothing done, as it
was already known: in step as its link recorded, or with a problem exactly as its open flag
already says (the same status and detail: the flag, open since the run that found it, tells
it). The summary counts them (``in_sync_unchanged``, ``flagged_unchanged``; their statuses in
``statuses`` too). A first result, any change of status or detail, and any action is stored.

The same holds for the audit log (:func:`audited`): a run the agent started on its schedule
that ended ``done`` and stored no report item (nothing changed, nothing new found) gets no
``sync.run`` entry; its row in ``runs`` (state, counts, times) is the record of it.
"""

from __future__ import annotations

from collections.abc import Collection

from credsync.sync.model import AGENT_TRIGGER, PROBLEMS, Action, Outcome, Status

__all__ = ["FLAGGED_UNCHANGED", "IN_SYNC_UNCHANGED", "audited", "unchanged"]

IN_SYNC_UNCHANGED = "in_sync_unchanged"
FLAGGED_UNCHANGED = "flagged_unchanged"


def unchanged(o: Outcome, known: Collection[str], *, problem: bool = False) -> bool:
    """An outcome a run counts without storing a report item for it, found with nothing done
    (no bind, push or confirm, no new link, no confirmation awaited, no earlier attempt
    settled, no state accepted) as it was known: ``in_sync`` as the credential's link
    recorded (``known``: those credentials); with ``problem``, a problem exactly as the
    credential's open flag already says (``known``: those, from :func:`flags.record_checks`).
    A first check, any status change and any action is stored."""
    item = o.item
    idle = (Action.NONE, Action.FLAG) if problem else (Action.NONE,)
    return (
        (o.status in PROBLEMS if problem else o.status is Status.IN_SYNC)
        and o.action in idle
        and item.action in idle
        and item.credential_id in known
        and not (item.new_link or item.awaits_confirmation or item.accepted)
        and item.settles is None
        and o.pushed is None
        and o.settled is None
    )


def audited(*, state: str, trigger: str, items_stored: int) -> bool:
    """Whether a run's end gets a ``sync.run`` audit entry: always, but for a quiet run (the
    agent's, on its schedule or for a push, ``done``, with no report item stored: nothing
    pushed, confirmed, linked, created, and no result new or changed). A run an operator
    started (CLI, API, web, quarantine), a failed or aborted one, and any run that stored an
    item is audited. (~37,000 quiet runs an hour at 500 directories would each add an entry
    to the log that is never pruned, saying nothing the run's row does not.)"""
    return not (state == "done" and trigger == AGENT_TRIGGER and items_stored == 0)
