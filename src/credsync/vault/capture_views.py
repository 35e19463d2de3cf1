"""What the dashboard shows of captured passwords waiting for an operator: which flags hold
one (report mode, or a conflict the vault won), so that accepting it is one click. Accepting
is :meth:`credsync.vault.capture_intake.CaptureIntake.accept`'s."""

from __future__ import annotations

from collections.abc import Sequence

from credsync.storage import Database
from credsync.storage import capture as capture_rows
from credsync.vault.auth import Actor, Permission
from credsync.vault.flags import Flag

__all__ = ["captured_flags"]


def captured_flags(db: Database, actor: Actor, flags: Sequence[Flag]) -> set[str]:
    """The ids of the open ``flags`` whose credential has a captured password waiting in the
    flag's directory. Needs vault.read (the flags were already read with it)."""
    actor.require(Permission.VAULT_READ)
    open_flags = [f for f in flags if f.open]
    if not open_flags:
        return set()
    with db.read() as conn:
        held = capture_rows.pending_pairs(
            conn, [(f.credential_id, f.directory_id) for f in open_flags]
        )
    return {f.id for f in open_flags if (f.credential_id, f.directory_id) in held}
