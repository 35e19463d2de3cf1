"""The list an operator sees before switching credentials to enforce mode."""

from __future__ import annotations

from credsync.cli.output import note
from credsync.cli.runtime import Runtime, confirm, interactive
from credsync.errors import InvalidInput

__all__ = ["confirm_enforce"]


def confirm_enforce(
    rt: Runtime,
    client_id: str,
    what: str,
    *,
    credential_id: str | None = None,
    follows_default_only: bool = False,
    yes: bool = False,
) -> None:
    """Name the accounts whose directory password enforce mode will overwrite, then ask.
    Without a terminal the command refuses (one line naming them) unless ``yes``; with
    ``yes`` the list goes to standard error for the record."""
    from credsync.sync.preview import enforce_preview, enforce_summary

    with rt.db.read() as conn:
        impact = enforce_preview(
            conn,
            client_id,
            credential_id=credential_id,
            follows_default_only=follows_default_only,
        )
    summary = enforce_summary(impact, what)
    if yes:
        note(summary)
        return
    if not interactive():
        raise InvalidInput(f"{summary} Pass --yes to go ahead (there is no terminal to ask).")
    for item in (i for i in impact if i.overwrite_now):
        note(f"  {item.directory}: {item.account or item.username + ' (not linked yet)'} "
             f"<- {item.title!r} (last check: {item.last_status or 'never'})")  # fmt: skip
    confirm(summary)
