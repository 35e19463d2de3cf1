"""The question an operator answers before a switch to enforce: the accounts whose directory
password the next run overwrites (the service names them, see :mod:`credsync.sync.enforce`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from credsync.cli.output import note
from credsync.cli.runtime import confirm, interactive
from credsync.errors import InvalidInput

if TYPE_CHECKING:
    from credsync.cli.ports import Confirm
    from credsync.sync.enforce import EnforcePreview

__all__ = ["confirm_enforce"]


def confirm_enforce(yes: bool) -> Confirm:
    """Asks at the terminal, naming the accounts. Without a terminal it refuses (one line
    naming them) unless ``yes``; with ``yes`` the summary goes to standard error for the
    record."""

    def ask(preview: EnforcePreview) -> None:
        summary = preview.summary
        if yes:
            note(summary)
            return
        if not interactive():
            raise InvalidInput(f"{summary} Pass --yes to go ahead (there is no terminal to ask).")
        for item in preview.overwritten:
            account = item.account or f"{item.username} (not linked yet)"
            note(
                f"  {item.directory}: {account} <- {item.title!r} "
                f"(last check: {item.last_status or 'never'})"
            )
        confirm(summary)

    return ask
