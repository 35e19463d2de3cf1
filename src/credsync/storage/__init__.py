"""Storage: SQLAlchemy 2 Core tables, Alembic migrations, SQLite (WAL) and PostgreSQL.

Each table has one owner module here that holds its SQL; the services call it with their own
connection (``Database.read()`` / ``.write()``), and get back plain values or small frozen
dataclasses, never statements. Nobody else imports :mod:`.tables` (checked by
``tests/storage/test_ownership.py``).

- :mod:`.meta`: ``vault_meta`` (key derivation, key generation, the audit head)
- :mod:`.audit`: ``audit_log``
- :mod:`.operators`: ``operators``, ``roles``, ``api_tokens``
- :mod:`.sessions`: ``cli_sessions``, ``web_sessions``
- :mod:`.mfa`: ``operator_mfa``, ``mfa_recovery_codes`` (the TOTP second factor)
- :mod:`.webauthn`: ``webauthn_credentials``, ``webauthn_challenges`` (security keys)
- :mod:`.sign_in_failures`: ``sign_in_failures``
- :mod:`.clients`: ``clients`` (and their data keys), ``folders``
- :mod:`.credentials`: ``credentials``, ``credential_tags``
- :mod:`.secrets`: ``secret_versions``
- :mod:`.search`: ``search_terms`` (the word-prefix search)
- :mod:`.policies`: ``password_policies``
- :mod:`.directories`: ``directories`` (a directory's kind settings are one JSON document)
- :mod:`.accounts`: ``directory_accounts`` (the account cache)
- :mod:`.links`: ``links`` (credential <-> account, and what the last check left)
- :mod:`.runs`: ``runs``, ``run_items`` (runs and their report items)
- :mod:`.flags`: ``flags``
- :mod:`.push_queue`: ``sync_queue`` (enqueue, claim, ack, retry later, give up)

:mod:`.sync_credentials` reads credentials as the sync area needs them, :mod:`.duplicates`
the credentials that are the same by folder, title and username, and :mod:`.rotation` those
overdue for rotation (no tables of their own). :mod:`.snapshot` copies the whole database
for a backup and loads one into an empty database (every table, as the migrations do; it
changes no record).
"""

from credsync.storage.database import Database

__all__ = ["Database"]
