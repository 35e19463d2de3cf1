"""A run's report in words for people (the CLI's and the dashboard's): what it read, what an
incremental run did not check again, what it checked and found in step as before (counted,
not listed), and whether the retention deleted its per-object report."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["accounts_text", "flagged_text", "in_step_text", "pruned_text", "unchanged_text"]


def accounts_text(kind: str, read: int, total: int | None) -> str:
    """What a run read, in words: a full pass reads every account; an incremental run only
    those changed since the last run (0 is the normal case), a push run the pushed
    credentials' accounts, and a relay run the source accounts in the relay's scope (or
    the credentials its queued pushes carried); with the accounts the vault knows of the
    directory."""
    known = f" ({total} known)" if total is not None else ""
    if kind == "incremental":
        return f"{read} changed since the last run{known}"
    if kind == "push":
        return f"{read} (the accounts of the credentials pushed){known}"
    if kind == "relay":
        return f"{read} (the relay's accounts in scope, or its queued pushes)"
    return f"{read} (every account in scope)"


def unchanged_text(summary: Mapping[str, Any]) -> str | None:
    """What an incremental run left as it was, in words (None: it looked at every credential):
    the linked credentials it did not check again because neither side changed since the
    previous run (their last check stands), and the unlinked ones no change could match."""
    linked = summary.get("unchanged")
    if linked is None:
        return None
    since = summary.get("unchanged_since") or "the previous run"
    text = (
        f"{linked} linked credentials, unchanged on both sides since {since} (the previous "
        "run's start): their last check stands"
    )
    unlinked = summary.get("unchanged_unlinked")
    return f"{text}; {unlinked} unlinked ones no change could match" if unlinked else text


def in_step_text(summary: Mapping[str, Any]) -> str | None:
    """How many credentials the run checked and found in step as their last check said, with
    nothing done: counted in ``statuses`` (``in_sync``), not listed one by one (None: none)."""
    count = summary.get("in_sync_unchanged")
    if not count:
        return None
    return (
        f"{count} credentials checked and still in step (in_sync, as their last check found, "
        "nothing done): counted, not listed"
    )


def flagged_text(summary: Mapping[str, Any]) -> str | None:
    """How many credentials the run found with a problem exactly as their open flag already
    says, with nothing done: counted in ``statuses``, not listed (None: none)."""
    count = summary.get("flagged_unchanged")
    if not count:
        return None
    return (
        f"{count} credentials checked and still flagged (the same problem their open flag "
        "says, nothing done): counted, not listed; the flags list them"
    )


def pruned_text(summary: Mapping[str, Any]) -> str | None:
    """When the retention deleted the run's per-object report (None: it did not); the
    summary's counts stay."""
    at = summary.get("items_pruned_at")
    if not at:
        return None
    return f"deleted by the retention on {at[:10]}; the counts above are the run's"
