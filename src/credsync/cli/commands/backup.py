"""backup, restore: the whole vault to an encrypted file and back (docs/backup.md)."""

from __future__ import annotations

from pathlib import Path

import click

from credsync.cli.output import emit, json_option
from credsync.cli.runtime import runtime


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@json_option
@click.pass_context
def backup_cmd(ctx: click.Context, path: Path, as_json: bool) -> None:
    """Write an encrypted backup of the whole vault to PATH, a new file (admin).

    Taken online: the server and agents go on working. The file (0600) opens with the master
    passphrase the vault has now, and only with it: keep that passphrase with the backups.
    Run it where the vault's database is (not with --server).

    \b
    Examples:
      credsync backup /var/backups/credsync/vault-2026-12-07.backup
      credsync backup vault.backup --json
    """
    rt = runtime(ctx)
    rt.local_only()
    summary = rt.vault.backups.create(rt.actor, rt.keys, path)
    emit(
        summary.to_json(),
        as_json,
        f"Backup written to {summary.path}: {summary.rows} rows of {summary.tables} tables, "
        f"schema revision {summary.schema_revision}, audit log up to entry "
        f"{summary.audit_head_seq}.\nIt opens with the master passphrase in use now.",
    )


@click.command("restore")
@click.argument("archive", type=click.Path(dir_okay=False, path_type=Path))
@json_option
@click.pass_context
def restore_cmd(ctx: click.Context, archive: Path, as_json: bool) -> None:
    """Restore a backup into an empty home or database (never over a vault).

    The target is CREDSYNC_DATABASE_URL, else the home's vault.db; it must be empty (no
    tables). The master passphrase the backup was taken under comes from CREDSYNC_PASSPHRASE
    or a prompt. All of the archive is checked before anything is written; a backup of an
    older schema is upgraded at once. The operators, their passwords and second factors are
    those of the backup.

    \b
    Examples:
      CREDSYNC_HOME=/srv/vault credsync restore vault-2026-12-07.backup
      CREDSYNC_DATABASE_URL=postgresql://credsync@db/credsync credsync restore vault.backup --json
    """
    from credsync.vault.backup import restore

    rt = runtime(ctx)
    rt.local_only()
    passphrase = rt.passphrase("Master passphrase of the backup")
    summary = restore(rt.db, archive, passphrase)
    chain = "verifies" if summary.audit_chain_ok else "DOES NOT VERIFY (see credsync audit verify)"
    upgraded = (
        f" (upgraded from schema revision {summary.backup_revision})"
        if summary.backup_revision != summary.schema_revision
        else ""
    )
    emit(
        summary.to_json(),
        as_json,
        f"Restored into {summary.database}{upgraded}: {summary.rows} rows of {summary.tables} "
        f"tables, backed up {summary.created_at} by {summary.created_by}.\n"
        f"The audit chain ({summary.audit_entries} entries) {chain}.",
    )
