"""Which of a client's credentials a run over one of its directories plans: its kind's say
(:attr:`credsync.connectors.kinds.Kind.claims`), for a client with several directories.

A client's credentials used to be planned against each of its directories, so a client with
two machines got ``FS01\\Administrator`` flagged ``unmatched`` on FS02. Now, per credential:

- linked in this directory: planned (the link decides, whatever its username says now);
- its username names this directory (the kind answers True): planned, so ``FS01\\nosuch``
  on FS01 is still ``unmatched``;
- it names another directory (False): not planned here: no item, no flag, not counted;
- no opinion (None: every AD, Entra and LDAP directory, a local-accounts one for a name
  without ``MACHINE\\``): planned, unless another directory of the client answers True
  (``FS01\\Administrator`` is FS01's business, not the client's AD's).

A kind with no ``claims`` has no opinion on any name: a client with only such directories
plans every credential against each of them, as before. A flag an earlier version raised on
a credential that is not the directory's business (``unmatched`` on the client's other
machine) is closed by the next full pass there (resolution ``out_of_scope``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy.engine import Connection

from credsync.connectors.kinds import Kind
from credsync.storage import directories as directory_rows
from credsync.storage import flags as flag_rows
from credsync.storage.database import Database
from credsync.sync.model import CredentialState, LinkState, Status
from credsync.vault.directories import Directory, directory_model

__all__ = ["Scope", "scope_of"]


def _claims(kind: Kind[Any], settings: Mapping[str, Any]) -> Callable[[str], bool | None]:
    """The kind's answer for one directory, its settings loaded once (not per username)."""
    claims = kind.claims
    if claims is None:
        return lambda _username: None
    loaded = kind.load(settings)
    return lambda username: claims(loaded, username)


class Scope:
    """One directory's answer and its client's other directories' (see the module docstring)."""

    def __init__(self, directory: Directory, others: Sequence[Directory]) -> None:
        self._id = directory.id
        self._own = _claims(directory.descriptor, directory.settings)
        self._others = [_claims(d.descriptor, d.settings) for d in others if d.descriptor.claims]
        self.dropped: list[str] = []  # the credentials :meth:`planned` left out

    def concerns(self, username: str) -> bool:
        """Whether an unlinked credential with ``username`` is planned here."""
        own = self._own(username)
        if own is not None:
            return own
        return not any(answer(username) for answer in self._others)

    def planned(
        self, creds: Sequence[CredentialState], links: Mapping[str, LinkState]
    ) -> list[CredentialState]:
        """``creds`` less the unlinked ones that are not this directory's business."""
        kept = [c for c in creds if c.id in links or self.concerns(c.username)]
        chosen = {c.id for c in kept}
        self.dropped = [c.id for c in creds if c.id not in chosen]
        return kept

    def close_flags(self, db: Database, by: str, now: dt.datetime) -> None:
        """Close the open linking flags here of the credentials left out (see the module
        docstring): a full pass that acts calls it."""
        if not self.dropped:
            return
        with db.write() as conn:
            flag_rows.close_of(conn, self.dropped, self._id, status=_LINKING, by=by,
                               resolution="out_of_scope", now=now)  # fmt: skip


_LINKING = [s.value for s in (Status.UNMATCHED, Status.AMBIGUOUS, Status.CONFLICT)]


def scope_of(conn: Connection, directory: Directory) -> Scope:
    """The scope of ``directory`` among its client's directories."""
    rows = directory_rows.list_rows(conn, directory.client_id)
    return Scope(directory, [directory_model(r) for r in rows if r.id != directory.id])
