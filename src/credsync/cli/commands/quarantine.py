"""``credsync quarantine``: the actions a run held back because a threshold was crossed
(issue 18; the rules are :mod:`credsync.sync.quarantine`'s, the decisions
:mod:`credsync.sync.quarantine_service`'s): ``list`` and ``show`` them, ``approve`` or
``discard`` held pushes, ``restore`` (with ``--dry-run``) or ``accept`` a mass change; and
``defaults show|set``, the vault-wide thresholds (:mod:`credsync.vault.quarantine_defaults`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click

from credsync.cli.fields import flag_names
from credsync.cli.output import details, emit, json_option, table, when
from credsync.cli.runtime import runtime
from credsync.errors import InvalidInput, SyncAborted
from credsync.vault.quarantine_defaults import THRESHOLDS

__all__ = ["quarantine_group"]

_LIST = [
    ("id", "Id"),
    ("direction", "Direction"),
    ("account", "Account"),
    ("action", "Action"),
    ("state", "State"),
    ("created", "Held"),
    ("reason", "Reason"),
]
_SHOW = [
    ("id", "Id"),
    ("state", "State"),
    ("direction", "Direction"),
    ("action", "Action"),
    ("account", "Account"),
    ("account_id", "Account id"),
    ("credential_id", "Credential"),
    ("directory_id", "Directory"),
    ("run_id", "Held by run"),
    ("created_at", "Held at"),
    ("reason", "Reason"),
    ("decided_by", "Decided by"),
    ("decided_at", "Decided at"),
    ("decided_run_id", "Carried out by run"),
    ("outcome", "Outcome"),
]
_DONE = [("account", "Account"), ("action", "Action"), ("outcome", "Outcome"),
         ("steps", "Steps"), ("detail", "Detail")]  # fmt: skip


def _list(items: list[Any]) -> str:
    if not items:
        return "Nothing in quarantine."
    rows = [{**i, "id": i["id"][:8], "created": when(i["created_at"])} for i in items]
    return table(rows, _LIST, max_width=70)


def _done(data: Mapping[str, Any]) -> str:
    totals = ", ".join(f"{n} {k}" for k, n in data["totals"].items()) or "nothing"
    head = f"{data['decision']}{' (dry run: nothing changed)' if data['dry_run'] else ''}: {totals}"
    if data["run_ids"]:
        head += "; run " + ", ".join(r[:8] for r in data["run_ids"])
    rows = [{**i, "steps": ", ".join(i["steps"]) or "-"} for i in data["items"]]
    return "\n".join([head, table(rows, _DONE, max_width=80)] if rows else [head])


@click.group("quarantine")
def quarantine_group() -> None:
    """Actions held back because a run crossed a directory's threshold: pushes and relayed
    passwords over push_cap, provisioning's and group export's creates, disables, deletes
    and member removals over change_cap (approve or discard them), and links a mass change
    in the directory touched (restore the directory's previous state, or accept the change).
    Listing needs vault.read; approve, discard and accept need vault.write and
    directory_admin.use (approving provisioning or group export also directory.setup);
    restore also directory.setup."""


@quarantine_group.command("list")
@click.option("--directory", default=None, help="Only this directory's items (name or id).")
@click.option("--all", "include_decided", is_flag=True, help="Decided items too.")
@json_option
@click.pass_context
def quarantine_list(ctx: click.Context, directory: str | None, include_decided: bool,
                    as_json: bool) -> None:  # fmt: skip
    """List the held items, oldest first.

    \b
    Examples:
      credsync quarantine list
      credsync quarantine list --directory contoso-ad --all --json
    """
    items = runtime(ctx).ports.quarantine.list(directory, include_decided=include_decided)
    emit(items, as_json, lambda: _list(items))


@quarantine_group.command("show")
@click.argument("item")
@json_option
@click.pass_context
def quarantine_show(ctx: click.Context, item: str, as_json: bool) -> None:
    """Show one item (by its id or its first 8 characters or more).

    \b
    Examples:
      credsync quarantine show 3f2a9c1e
    """
    data = runtime(ctx).ports.quarantine.show(item)
    emit(data, as_json, lambda: details(data, _SHOW))


def _decide(ctx: click.Context, decision: str, ids: tuple[str, ...], directory: str | None,
            as_json: bool, dry_run: bool = False) -> None:  # fmt: skip
    data = runtime(ctx).ports.quarantine.decide(decision, ids, directory, dry_run=dry_run)
    emit(data, as_json, lambda: _done(data))
    failed = data["totals"].get("failed", 0)
    if failed:
        raise SyncAborted(f"{failed} of {len(data['items'])} items failed (they stay held)")


_DIRECTORY = click.option(
    "--directory", default=None, help="Every held item of this directory (instead of IDs)."
)


@quarantine_group.command("approve")
@click.argument("ids", nargs=-1)
@_DIRECTORY
@json_option
@flag_names(ids="ID or --directory")
@click.pass_context
def quarantine_approve(ctx: click.Context, ids: tuple[str, ...], directory: str | None,
                       as_json: bool) -> None:  # fmt: skip
    """Carry out held actions: pushes as one run per directory (reported like any run),
    relayed passwords as a relay run, provisioning and group export actions as an apply of
    only those. Exit 9 when any failed.

    \b
    Examples:
      credsync quarantine approve 3f2a9c1e 77b0d2aa
      credsync quarantine approve --directory contoso-ad
    """
    _decide(ctx, "approve", ids, directory, as_json)


@quarantine_group.command("discard")
@click.argument("ids", nargs=-1)
@_DIRECTORY
@json_option
@flag_names(ids="ID or --directory")
@click.pass_context
def quarantine_discard(ctx: click.Context, ids: tuple[str, ...], directory: str | None,
                       as_json: bool) -> None:  # fmt: skip
    """Drop held actions: nothing is written. A push or relay is not planned again until
    the vault's password changes again; a provisioning or group export action is planned
    afresh by the next apply.

    \b
    Examples:
      credsync quarantine discard 3f2a9c1e
      credsync quarantine discard --directory contoso-ad
    """
    _decide(ctx, "discard", ids, directory, as_json)


@quarantine_group.command("restore")
@click.argument("ids", nargs=-1)
@_DIRECTORY
@click.option("--dry-run", is_flag=True, help="List what would be done; change nothing.")
@json_option
@flag_names(ids="ID or --directory")
@click.pass_context
def quarantine_restore(ctx: click.Context, ids: tuple[str, ...], directory: str | None,
                       dry_run: bool, as_json: bool) -> None:  # fmt: skip
    """Put the directory back as it was before a mass change: restore deleted accounts,
    push the vault's passwords back, enable disabled accounts. Exit 9 when any failed.

    \b
    Examples:
      credsync quarantine restore --directory contoso-ad --dry-run
      credsync quarantine restore --directory contoso-ad
      credsync quarantine restore 3f2a9c1e
    """
    _decide(ctx, "restore", ids, directory, as_json, dry_run)


@quarantine_group.command("accept")
@click.argument("ids", nargs=-1)
@_DIRECTORY
@json_option
@flag_names(ids="ID or --directory")
@click.pass_context
def quarantine_accept(ctx: click.Context, ids: tuple[str, ...], directory: str | None,
                      as_json: bool) -> None:  # fmt: skip
    """Accept a mass change: release the held links, and the next run takes the
    directory's state (a changed password is accepted as unknown to the vault).

    \b
    Examples:
      credsync quarantine accept --directory contoso-ad
      credsync quarantine accept 3f2a9c1e
    """
    _decide(ctx, "accept", ids, directory, as_json)


@quarantine_group.group("defaults")
def defaults_group() -> None:
    """The vault-wide thresholds, for every directory that sets none of its own (showing
    needs vault.read, setting admin)."""


def _defaults(data: Mapping[str, Any]) -> str:
    shown = {}
    for name in THRESHOLDS:
        one = data[name]
        where = (
            f"vault-wide, set by {one['updated_by']}; built-in {one['built_in']}"
            if one["vault"] is not None
            else "built-in"
        )
        shown[name] = f"{one['value']} ({where})"
    return details(shown, [(name, name) for name in THRESHOLDS])


@defaults_group.command("show")
@json_option
@click.pass_context
def defaults_show(ctx: click.Context, as_json: bool) -> None:
    """Show the thresholds a directory without its own options uses, and where each value
    comes from (vault-wide or built-in).

    \b
    Examples:
      credsync quarantine defaults show
      credsync quarantine defaults show --json
    """
    data = runtime(ctx).ports.quarantine.show_defaults()
    emit(data, as_json, lambda: _defaults(data))


@defaults_group.command("set")
@click.option("--push-cap", type=int, help="Pushes one run may plan (at least 1).")
@click.option("--push-cap-percent", type=int, help="% of the links a run may push to (0: off).")
@click.option(
    "--change-cap",
    type=int,
    help="Creates, disables, deletes a provisioning or group export may plan.",
)
@click.option(
    "--change-cap-percent",
    type=int,
    help="The same as a % of the people a provisioning covers (0: off).",
)
@click.option("--inbound-cap", type=int, help="Linked accounts a run may find changed.")
@click.option("--inbound-cap-percent", type=int, help="The same as a % of the links (0: off).")
@click.option("--unset", "unset", multiple=True, type=click.Choice(THRESHOLDS),
              help="Back to the built-in default; repeat.")  # fmt: skip
@json_option
@click.pass_context
def defaults_set(ctx: click.Context, /, unset: tuple[str, ...], as_json: bool,
                 **values: int | None) -> None:  # fmt: skip
    """Set vault-wide thresholds (admin; audited quarantine.defaults_set). A directory's own
    option (credsync directory set --option) still wins; the others stay as they are.

    \b
    Examples:
      credsync quarantine defaults set --push-cap 200 --inbound-cap-percent 10
      credsync quarantine defaults set --unset push_cap
    """
    given: dict[str, int | None] = {k: v for k, v in values.items() if v is not None}
    both = sorted(set(given) & set(unset))
    if both:
        raise InvalidInput(f"{both[0]}: give a value or --unset it, not both", field=both[0])
    given.update(dict.fromkeys(unset))
    data = runtime(ctx).ports.quarantine.set_defaults(given)
    emit(data, as_json, lambda: _defaults(data))
