"""``credsync group``: a client's groups (issue 16; see :mod:`credsync.vault.groups`): list,
search, show, add, edit, delete (to the trash), restore, members, add-member, remove-member;
``export`` (:mod:`credsync.cli.commands.group_export`, imported only when it runs).
A group is named by name (any case) or id (6 or more characters)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import click

from credsync.cli.app import LazyGroup
from credsync.cli.commands._identity import add_by_ref, add_edit, add_list, add_search, view
from credsync.cli.output import details, emit, json_option, table
from credsync.cli.runtime import runtime

__all__ = ["group_group"]

_LISTED = [("name", "Name"), ("type", "Type"), ("email", "E-mail"), ("members", "Members")]
_SEARCHED = [("client", "Client"), *_LISTED]
_SHOWN = [
    ("id", "ID"),
    ("client", "Client"),
    ("name", "Name"),
    ("type", "Type"),
    ("email", "E-mail"),
    ("description", "Description"),
    ("members", "Members"),
    ("source", "Source of truth"),
    ("objects", "Directory objects"),
    ("version", "Version"),
    ("updated_at", "Updated"),
    ("updated_by", "Updated by"),
    ("deleted_at", "In trash since"),
]
_MEMBERS = [("type", "Type"), ("name", "Name"), ("username", "Username"), ("in_trash", "In trash")]
TYPES = click.Choice(["security", "microsoft365"])


def _shown(data: Mapping[str, Any]) -> str:
    return details(view(data, "objects"), _SHOWN)


def _given(options: Mapping[str, Any]) -> dict[str, Any]:
    names = ("name", "type", "email", "description")
    return {n: options[n] for n in names if options.get(n) is not None}


@click.group(
    "group",
    cls=LazyGroup,
    commands={"export": ("credsync.cli.commands.group_export", "export_group")},
    summaries={"export": "Export the client's groups to a directory: show, set, plan, apply."},
)
def group_group() -> None:
    """Groups: a client's security and Microsoft 365 groups, and their members."""


def _port(ctx: click.Context) -> Any:
    return runtime(ctx).ports.groups


_LIST_HELP = """List a client's groups by name.

    \b
    Example:
      credsync group list Contoso --json
    """
_SEARCH_HELP = """Find groups whose name or e-mail have words starting with each word of QUERY.

    \b
    Example:
      credsync group search sales --client Contoso
    """
add_list(group_group, _port, plural="groups", columns=_LISTED, doc=_LIST_HELP)
add_search(group_group, _port, plural="groups", columns=_SEARCHED, doc=_SEARCH_HELP)
add_by_ref(
    group_group,
    "show",
    "group",
    client_help="The group's client.",
    doc="""Show a group.

    \b
    Example:
      credsync group show Sales --client Contoso
    """,
    run=lambda ctx, ref, client: _port(ctx).show(ref, client),
    said=_shown,
)


@group_group.command("add")
@click.argument("client")
@click.argument("name")
@click.option("--type", "type", type=TYPES, help="Default: security.")
@click.option("--email", help="E-mail address.")
@click.option("--description", help="At most 1,024 characters.")
@json_option
@click.pass_context
def group_add(ctx: click.Context, /, client: str, as_json: bool, **options: Any) -> None:
    """Add a group NAME to CLIENT (needs vault.write).

    \b
    Example:
      credsync group add Contoso Sales --type microsoft365 --email sales@contoso.com
    """
    data = runtime(ctx).ports.groups.add(client, _given(options))
    emit(data, as_json, lambda: _shown(data))


add_edit(
    group_group,
    "group",
    port_of=_port,
    given_of=_given,
    said=_shown,
    client_help="The group's client.",
    doc="""Change a group's fields (needs vault.write); those a directory holds are read-only.

    \b
    Example:
      credsync group edit Sales --description "Everyone in sales"
    """,
    fields=[
        click.option("--name", help="A new name."),
        click.option("--type", "type", type=TYPES),
        click.option("--email", help="E-mail address."),
        click.option("--description", help="At most 1,024 characters."),
    ],
)


def _by_ref(name: str, do: Callable[[Any, str, str | None], Any], line: str,
            said: Callable[[Any], str]) -> None:  # fmt: skip
    """``group NAME GROUP``: ``do(port, ref, client)``, the help's first line, the text."""
    add_by_ref(
        group_group,
        name,
        "group",
        client_help="The group's client.",
        doc=f"""{line}

    \b
    Example:
      credsync group {name} Sales --client Contoso
    """,
        run=lambda ctx, ref, client: do(_port(ctx), ref, client),
        said=said,
    )


_by_ref(
    "delete",
    lambda port, ref, client: port.delete(ref, client),
    "Move a group to the trash, members kept (needs vault.write).",
    lambda data: f"Group {data['name']} moved to the trash.",
)
_by_ref(
    "restore",
    lambda port, ref, client: port.restore(ref, client),
    "Bring a group back from the trash (needs vault.write).",
    lambda data: f"Group {data['name']} restored.",
)
_by_ref(
    "members",
    lambda port, ref, client: port.members(ref, client),
    "List a group's direct members: groups, then people.",
    lambda rows: table(rows, _MEMBERS) if rows else "No members.",
)


def _member_command(name: str, change: str, doc: str) -> None:
    """``group NAME GROUP MEMBER [--group]``: the port's ``change`` (add_member,
    remove_member) of a person, or with --group of a group."""

    def run(ctx: click.Context, ref: str, client: str | None, member: str, is_group: bool) -> Any:
        kind = "group" if is_group else "person"
        return getattr(_port(ctx), change)(ref, client, kind, member)

    add_by_ref(
        group_group,
        name,
        "group",
        client_help="The group's client.",
        doc=doc,
        run=run,
        said=lambda data: f"Group {data['name']}: {data['members']} members.",
        before=[
            click.argument("member"),
            click.option(
                "--group", "is_group", is_flag=True, help="MEMBER is a group (default: a person)."
            ),
        ],
    )


_ADD_MEMBER_HELP = """Add MEMBER (a person's username, or with --group a group) to GROUP (needs
    vault.write). A group that holds GROUP, directly or not, can't join it.

    \b
    Examples:
      credsync group add-member Sales anna.berg
      credsync group add-member Sales "Nordic sales" --group
    """
_REMOVE_MEMBER_HELP = """Take MEMBER out of GROUP (needs vault.write).

    \b
    Example:
      credsync group remove-member Sales anna.berg
    """
_member_command("add-member", "add_member", _ADD_MEMBER_HELP)
_member_command("remove-member", "remove_member", _REMOVE_MEMBER_HELP)
