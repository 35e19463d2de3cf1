"""Duplicate credentials: two of a client's credentials with the same folder, title and
username, case aside, are the same one (the rule of an import, and of adding or editing one
unless a duplicate is allowed)."""

from __future__ import annotations

from sqlalchemy.engine import Connection

from credsync.errors import DuplicateCredential
from credsync.storage import credentials as credential_rows
from credsync.storage import duplicates
from credsync.vault.auth import Actor
from credsync.vault.clients import find_client_row, sees_directory_admin

__all__ = ["identity", "refuse"]


def identity(folder_id: str | None, title: str, username: str) -> tuple[str | None, str, str]:
    """What makes two credentials of a client the same (see :func:`refuse`)."""
    return folder_id, credential_rows.title_key(title), username.casefold()


def refuse(
    conn: Connection,
    actor: Actor,
    client_id: str,
    folder_id: str | None,
    title: str,
    username: str,
    *,
    besides: str | None = None,
) -> None:
    """:class:`DuplicateCredential` when the client has a credential (that the actor may
    see) with this folder, title and username, case aside: the rule of an import."""
    found = duplicates.same_identity(
        conn,
        client_id,
        folder_id,
        title,
        username,
        include_directory_admin=sees_directory_admin(actor),
        besides=besides,
    )
    if found is None:
        return
    client = find_client_row(conn, client_id, actor).name
    where = f"in folder {found.folder!r}" if found.folder else "in no folder"
    who = f"username {found.username!r}" if found.username else "no username"
    raise DuplicateCredential(
        f"client {client!r} already has credential {found.title!r} ({who}, {where}): "
        f"{found.id}; a second one with the same folder, title and username is a duplicate",
        existing_id=found.id,
    )
