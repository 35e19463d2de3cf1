"""``credsync relay``: AD -> Office 365 password relays (see :mod:`credsync.vault.relays`):
add, list, show, set, remove; plan (what would be matched, refused and why) and run (a dry
run unless ``--apply``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import click

from credsync.cli.fields import flag_names
from credsync.cli.output import details, emit, json_option, table
from credsync.cli.runtime import confirm, runtime

__all__ = ["relay_group"]

_SHOWN = [
    ("name", "Relay"),
    ("client", "Client"),
    ("source", "From"),
    ("target", "To"),
    ("scope_ous", "OUs"),
    ("scope_groups", "Groups (nested)"),
    ("enabled_only", "Enabled only"),
    ("filters", "Attribute filters"),
    ("suffix_map", "Suffix map"),
    ("match", "Match rules"),
    ("never_expires", "Never expires"),
    ("mirror_disable", "Mirror disable"),
    ("allow_admins", "Allowed admins"),
    ("version", "Version"),
    ("updated_at", "Updated"),
]
_LISTED = [("name", "NAME"), ("client", "CLIENT"), ("source", "FROM"), ("target", "TO")]
_ITEMS = [
    ("account", "ACCOUNT"),
    ("status", "STATUS"),
    ("rule", "RULE"),
    ("target", "TARGET"),
    ("action", "ACTION"),
    ("detail", "DETAIL"),
]
# The settings' JSON names of the flags that differ (for errors naming the flag).
_FLAGS = {
    "scope_ous": "--scope-ou",
    "scope_groups": "--scope-group",
    "filters": "--filter",
    "suffix_map": "--suffix-map",
    "allow_admins": "--allow-admin",
    "source": "--from",
    "target": "--to",
}


def _shown(data: Mapping[str, Any]) -> str:
    view: dict[str, Any] = {**data, **data["settings"]}
    view["suffix_map"] = ", ".join(f"{a}={b}" for a, b in view["suffix_map"].items()) or "-"
    for name in ("scope_ous", "scope_groups", "filters", "match", "allow_admins"):
        view[name] = ", ".join(view[name]) or "-"
    return details(view, _SHOWN)


def _report(data: Mapping[str, Any]) -> str:
    counts = ", ".join(f"{n} {s}" for s, n in sorted(data["counts"].items())) or "no users"
    head = f"Relay {data['relay']} ({data['source']} -> {data['target']}): {counts}"
    if data["run_id"]:
        head += f"; run {data['run_id'][:8]}"
    head += "; dry run: nothing written" if data["dry_run"] else f"; {data['pushed']} pushed"
    lines = [head, *(f"note: {n}" for n in data["notes"])]
    if data["items"]:
        lines.append(table(data["items"], _ITEMS, max_width=200))
    return "\n".join(lines)


def _settings(options: Mapping[str, Any]) -> dict[str, Any]:
    """The settings' JSON names of what was given on the command line."""
    given: dict[str, Any] = {}
    for flag, name in (
        ("scope_ou", "scope_ous"),
        ("scope_group", "scope_groups"),
        ("filters", "filters"),
        ("suffix_map", "suffix_map"),
        ("allow_admin", "allow_admins"),
    ):
        if options.get(flag):
            given[name] = list(options[flag])
    for name in ("enabled_only", "never_expires", "mirror_disable"):
        if options.get(name) is not None:
            given[name] = options[name]
    if options.get("match"):
        given["match"] = [r for r in options["match"].split(",") if r.strip()]
    return given


def _setting_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The options ``add`` and ``set`` share (bool ones default to unset for ``set``)."""
    decorators = [
        click.option("--scope-ou", multiple=True, metavar="DN", help="An OU in scope; repeat."),
        click.option(
            "--scope-group",
            multiple=True,
            metavar="DN",
            help="Members (nested too) are in scope; repeat.",
        ),
        click.option(
            "--enabled-only/--include-disabled",
            default=None,
            help="Whether only enabled AD accounts are relayed (default: all).",
        ),
        click.option(
            "--filter",
            "filters",
            multiple=True,
            metavar="ATTR=VALUE",
            help="An attribute filter, e.g. department=Sales; repeat (all must hold).",
        ),
        click.option(
            "--suffix-map",
            multiple=True,
            metavar="A=B",
            help="UPN suffix A in AD is B in Office 365, e.g. contoso.local=contoso.com; repeat.",
        ),
        click.option(
            "--never-expires/--expires",
            default=None,
            help="Set passwordPolicies DisablePasswordExpiration on each push.",
        ),
        click.option(
            "--mirror-disable/--no-mirror-disable",
            default=None,
            help="Disable (and enable) the Office 365 user as its AD account is, in relay runs.",
        ),
        click.option(
            "--match",
            metavar="RULE,RULE,...",
            help="Match rules in order, of link, immutable-id, upn, mail (default: all four).",
        ),
        click.option(
            "--allow-admin",
            multiple=True,
            metavar="UPN",
            help="An Office 365 admin that may be matched; repeat.",
        ),
    ]
    for decorate in reversed(decorators):
        func = decorate(func)
    return func


@click.group("relay")
def relay_group() -> None:
    """Relays: AD passwords carried to Office 365 in seconds (DirSync's job, done better)."""


@relay_group.command("add")
@click.argument("client")
@click.argument("name")
@click.option("--from", "source", required=True, metavar="AD_DIR", help="The AD directory.")
@click.option("--to", "target", required=True, metavar="ENTRA_DIR", help="The Entra directory.")
@_setting_options
@json_option
@flag_names(**_FLAGS)
@click.pass_context
def relay_add(ctx: click.Context, /, client: str, name: str, source: str, target: str,
              as_json: bool, **options: Any) -> None:  # fmt: skip
    """Define a relay of CLIENT from an AD directory to an Entra one (needs directory.setup).

    \b
    Example:
      credsync relay add "Contoso Ltd" o365 --from contoso-ad --to contoso-m365 \\
          --scope-ou 'OU=Staff,DC=contoso,DC=local' --filter department=Sales \\
          --suffix-map contoso.local=contoso.com --never-expires
    """
    data = runtime(ctx).ports.relays.add(client, name, source, target, _settings(options))
    emit(data, as_json, lambda: _shown(data))


@relay_group.command("set")
@click.argument("name")
@_setting_options
@json_option
@flag_names(**_FLAGS)
@click.pass_context
def relay_set(ctx: click.Context, /, name: str, as_json: bool, **options: Any) -> None:
    """Change a relay's settings (needs directory.setup); a list given replaces the old one.

    \b
    Example:
      credsync relay set o365 --match immutable-id,upn --allow-admin boss@contoso.com
    """
    given = _settings(options)
    if not given:
        raise click.UsageError("nothing to change: give a setting")
    data = runtime(ctx).ports.relays.change(name, given)
    emit(data, as_json, lambda: _shown(data))


@relay_group.command("list")
@click.option("--client", help="Only this client's relays.")
@json_option
@click.pass_context
def relay_list(ctx: click.Context, client: str | None, as_json: bool) -> None:
    """List relays.

    \b
    Example:
      credsync relay list --client "Contoso Ltd"
    """
    rows = runtime(ctx).ports.relays.list(client)
    emit(rows, as_json, lambda: table(rows, _LISTED) if rows else "No relays.")


@relay_group.command("show")
@click.argument("name")
@json_option
@click.pass_context
def relay_show(ctx: click.Context, name: str, as_json: bool) -> None:
    """Show a relay and its settings.

    \b
    Example:
      credsync relay show o365 --json
    """
    data = runtime(ctx).ports.relays.show(name)
    emit(data, as_json, lambda: _shown(data))


@relay_group.command("remove")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask.")
@json_option
@click.pass_context
def relay_remove(ctx: click.Context, name: str, yes: bool, as_json: bool) -> None:
    """Remove a relay (needs directory.setup); the links it made stay.

    \b
    Example:
      credsync relay remove o365 --yes
    """
    rt = runtime(ctx)
    if not yes:
        confirm(f"Relay {name!r} will be removed: passwords will no longer be relayed.")
    data = rt.ports.relays.remove(name)
    emit(data, as_json, f"Relay {data['name']} removed.")


@relay_group.command("plan")
@click.argument("name")
@json_option
@click.pass_context
def relay_plan(ctx: click.Context, name: str, as_json: bool) -> None:
    """For every in-scope AD account: the Office 365 user it matches and by which rule, or
    why not (unmatched, conflict, refused). Reads both directories; writes nothing.

    \b
    Example:
      credsync relay plan o365 --json
    """
    data = runtime(ctx).ports.relays.plan(name)
    emit(data, as_json, lambda: _report(data))


@relay_group.command("run")
@click.argument("name")
@click.option("--apply", is_flag=True, help="Link and push (needs directory.setup).")
@json_option
@click.pass_context
def relay_run(ctx: click.Context, name: str, apply: bool, as_json: bool) -> None:
    """A relay run over the whole scope, stored with the other runs: a dry run unless
    --apply, which links the matched pairs and pushes the vault's password where it has one.
    A second run with everything in step writes nothing.

    \b
    Examples:
      credsync relay run o365            # a dry run, stored
      credsync relay run o365 --apply
    """
    data = runtime(ctx).ports.relays.run(name, apply=apply)
    emit(data, as_json, lambda: _report(data))
