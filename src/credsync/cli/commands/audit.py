"""audit: list and verify the hash-chained audit log."""

from __future__ import annotations

import click

from credsync.cli.output import emit, json_option, table

AUDIT_COLUMNS = [
    ("seq", "Seq"),
    ("at", "When"),
    ("actor", "Operator"),
    ("action", "Action"),
    ("target_type", "Target"),
    ("target", "Name or id"),
    ("client", "Client"),
    ("details", "Details"),
]


@click.group("audit", invoke_without_command=True)
@click.option("--action", help="Only this action (a trailing * matches a prefix: credential.*).")
@click.option("--client", help="Only entries about this client.")
@click.option("--target", help="Only entries about this id.")
@click.option("--operator", help="Only entries by this operator.")
@click.option("--since", help="From this day (2026-03-01) or time (ISO 8601; UTC unless it says).")
@click.option("--until", help="To this day (included) or time (left out).")
@click.option("--limit", type=click.IntRange(1, 100_000), default=100, show_default=True)
@json_option
@click.pass_context
def audit_group(
    ctx: click.Context,
    action: str | None,
    client: str | None,
    target: str | None,
    operator: str | None,
    since: str | None,
    until: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """List the audit log, newest first (needs audit.read): each entry's target and client
    by name (by id when gone or not yours to see).

    \b
    Examples:
      credsync audit --action 'credential.*' --limit 20
      credsync audit --client Contoso --since 2026-03-01 --until 2026-03-31
      credsync audit verify
    """
    if ctx.invoked_subcommand is not None:
        return
    from credsync.cli.runtime import runtime

    rows = runtime(ctx).ports.audit.list(
        action=action,
        client=client,
        target=target,
        operator=operator,
        since=since,
        until=until,
        limit=limit,
    )

    def shown() -> str:
        named = [
            {
                **row,
                "target": row["target_name"] or row["target_id"],
                "client": row["client_name"] or row["client_id"],
            }
            for row in rows
        ]
        return table(named, AUDIT_COLUMNS, max_width=70)

    emit(rows, as_json, shown)


@audit_group.command("verify")
@json_option
@click.pass_context
def audit_verify(ctx: click.Context, as_json: bool) -> None:
    """Recompute the hash chain; exit 0 when it is intact, 6 when it is not.

    Keep the printed head hash elsewhere: a later verify that prints the same entry with the
    same hash proves nothing before it was changed.
    """
    from credsync.cli.runtime import runtime

    data = runtime(ctx).ports.audit.verify()
    if data["ok"]:
        human = (
            f"Audit log intact: {data['entries']} entries; head {data['head_seq']} "
            f"{data['head_hash']}"
        )
    else:
        human = f"AUDIT LOG BROKEN at {data['problem']}"
    emit(data, as_json, human)
    if not data["ok"]:
        ctx.exit(6)
