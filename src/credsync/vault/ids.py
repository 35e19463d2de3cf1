"""Finding one record by its id or a leading part of it: now in :mod:`credsync.storage.ids`.

Kept for ``vault/flags.py`` and ``sync/reports.py``, which import it from here until their SQL
moves into storage too."""

from __future__ import annotations

from credsync.storage.ids import FULL_ID_CHARS, one_by_id_prefix

__all__ = ["FULL_ID_CHARS", "one_by_id_prefix"]
