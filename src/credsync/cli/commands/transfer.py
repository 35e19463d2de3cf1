"""import and export, on a local vault or through a server (the same options, output, files
and exit codes)."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING

import click

from credsync.cli.output import emit, json_option, note, table
from credsync.cli.runtime import confirm, runtime
from credsync.errors import InvalidInput

if TYPE_CHECKING:
    from credsync.vault.csvio import ImportReportJson

IMPORT_EXIT_PARTIAL = 10


@click.command("import")
@click.argument("client")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--strict", is_flag=True, help="Write nothing if any row is rejected.")
@click.option("--allow-duplicates", is_flag=True, help="Import rows matching existing ones.")
@click.option("--generate-missing", is_flag=True, help="Generate passwords for empty ones.")
@click.option("--policy", help="Policy for --generate-missing.")
@click.option("--dry-run", is_flag=True, help="Check every row, write nothing.")
@json_option
@click.pass_context
def import_cmd(
    ctx: click.Context,
    client: str,
    file: str,
    strict: bool,
    allow_duplicates: bool,
    generate_missing: bool,
    policy: str | None,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Import credentials into CLIENT from a CSV FILE ('-' for stdin).

    Columns: title, username, password, url, notes, tags (';'-separated), folder, type,
    sync_mode; a header row is required. Every rejected row is reported with its line number
    and reason. Exit status 10 when some rows were rejected (the others were imported).

    \b
    Example:
      credsync import Contoso passwords.csv --json
    """
    from credsync.vault.csvio import ImportRejected

    port = runtime(ctx).ports.transfer
    source = "<stdin>" if file == "-" else os.path.basename(file)
    with _opened(file) as stream:
        try:
            report = port.import_csv(
                client,
                stream,
                source=source,
                policy=policy,
                strict=strict,
                allow_duplicates=allow_duplicates,
                generate_missing=generate_missing,
                dry_run=dry_run,
            )
        except ImportRejected as err:
            _show_report(err.report.to_json(), as_json)  # which rows, and why (none written)
            raise
    _show_report(report, as_json)
    if report["rejected_count"]:
        ctx.exit(IMPORT_EXIT_PARTIAL)


@contextlib.contextmanager
def _opened(file: str) -> Iterator[IO[bytes]]:
    """The file to import, or standard input (left open)."""
    if file == "-":
        yield sys.stdin.buffer
        return
    try:
        stream = open(file, "rb")  # noqa: SIM115 - closed by the with below
    except OSError as err:
        raise InvalidInput(f"cannot read {file}: {err.strerror}") from None
    with stream:
        yield stream


def _show_report(report: ImportReportJson, as_json: bool) -> None:
    def human() -> str:
        verb = "would import" if report["dry_run"] else "imported"
        lines = [f"{report['client']}: {verb} {report['imported']} of {report['rows']} rows."]
        if report["folders_created"]:
            lines.append("Folders created: " + ", ".join(report["folders_created"]))
        if report["rejected"]:
            lines.append(f"Rejected {report['rejected_count']}:")
            lines.append(
                table(
                    report["rejected"],
                    [("line", "Line"), ("title", "Title"), ("reason", "Reason")],
                    max_width=100,
                )
            )
        return "\n".join(lines)

    emit(report, as_json, human)


@click.command("export")
@click.argument("client")
@click.option(
    "--output", "-o", required=True, help="File to write (created 0600), or '-' for stdout."
)
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def export_cmd(ctx: click.Context, client: str, output: str, force: bool, yes: bool) -> None:
    """Export CLIENT's credentials, passwords included, as CSV (needs vault.export; audited).

    The file holds every password in the clear: move it to where it is needed and delete it.
    Columns are those `credsync import` reads, so an export imports back as it was.

    \b
    Example:
      credsync export Contoso -o contoso.csv --yes
    """
    rt = runtime(ctx)
    rt.ports.sign_in()  # before the question
    export = rt.ports.transfer.export_csv
    if not yes:
        confirm(f"This writes every password of {client} in the clear to {output}.")
    if output == "-":
        count = export(client, sys.stdout, destination="<stdout>")
    else:
        out = _private_file(output, force)
        try:
            with out:
                count = export(client, out, destination=str(Path(output)))
        except BaseException:
            if not force:  # the file is ours: leave no empty or partial export behind
                Path(output).unlink(missing_ok=True)
            raise
    note(f"Exported {count} credential(s) of {client}.")


def _private_file(output: str, force: bool) -> IO[str]:
    """A new file, 0600 (an existing one only with ``force``, then made 0600 too)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    try:
        fd = os.open(output, flags, 0o600)
    except FileExistsError:
        raise InvalidInput(f"{output} exists: choose another name or pass --force") from None
    except OSError as err:
        raise InvalidInput(f"cannot write {output}: {err.strerror}") from None
    try:
        os.fchmod(fd, 0o600)  # a file overwritten with --force keeps its own mode otherwise
    except OSError as err:
        os.close(fd)
        raise InvalidInput(f"cannot make {output} private: {err.strerror}") from None
    return os.fdopen(fd, "w", encoding="utf-8", newline="")
