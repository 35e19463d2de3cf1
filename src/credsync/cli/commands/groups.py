"""``credsync group``: a client's groups (issue 16; see :mod:`credsync.vault.groups`): list,
search, show, add, edit, delete (to the trash), restore, members, add-member, remove-member.
A group is named by name (any case) or id (6 or more characters)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click

from credsync.cli.output import details, emit, json_option, note, table
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
    view = dict(data)
    source = data.get("source")
    if source:
        view["source"] = f"{source['directory']} ({', '.join(source['attributes'])}: read-only)"
    view["objects"] = [f"{o['directory']}: {o['object_id']}" for o in data.get("objects", [])]
    return details(view, _SHOWN)


def _given(options: Mapping[str, Any]) -> dict[str, Any]:
    names = ("name", "type", "email", "description")
    return {n: options[n] for n in names if options.get(n) is not None}


@click.group("group")
def group_group() -> None:
    """Groups: a client's security and Microsoft 365 groups, and their members."""


@group_group.command("list")
@click.argument("client")
@click.option("--trash", is_flag=True, help="List the trash instead.")
@click.option("--limit", type=int, default=1000, show_default=True, help="Page size.")
@click.option("--cursor", help="Continue after the page that printed this cursor.")
@click.option("--all", "everything", is_flag=True, help="Every page.")
@json_option
@click.pass_context
def group_list(ctx: click.Context, client: str, trash: bool, limit: int, cursor: str | None,
               everything: bool, as_json: bool) -> None:  # fmt: skip
    """List a client's groups by name.

    \b
    Example:
      credsync group list Contoso --json
    """
    port = runtime(ctx).ports.groups
    rows: list[Any] = []
    while True:
        page, cursor = port.list(client, trash=trash, limit=limit, cursor=cursor)
        rows += page
        if not everything or cursor is None:
            break
    if cursor is not None:
        note(f"More groups follow: --cursor {cursor} (or --all).")
    emit(rows, as_json, lambda: table(rows, _LISTED) if rows else "No groups.")


@group_group.command("search")
@click.argument("query", nargs=-1, required=True)
@click.option("--client", help="Only this client.")
@click.option("--limit", type=int, default=100, show_default=True)
@json_option
@click.pass_context
def group_search(ctx: click.Context, query: tuple[str, ...], client: str | None, limit: int,
                 as_json: bool) -> None:  # fmt: skip
    """Find groups whose name or e-mail have words starting with each word of QUERY.

    \b
    Example:
      credsync group search sales --client Contoso
    """
    from credsync.vault.credentials import MAX_PAGE

    rows = runtime(ctx).ports.groups.search(
        " ".join(query), client=client, limit=min(limit + 1, MAX_PAGE)
    )
    if len(rows) > limit:
        rows = rows[:limit]
        note(f"More than {limit} groups match: add words or --client to narrow it.")
    emit(rows, as_json, lambda: table(rows, _SEARCHED) if rows else "Nothing found.")


@group_group.command("show")
@click.argument("group")
@click.option("--client", help="The group's client.")
@json_option
@click.pass_context
def group_show(ctx: click.Context, group: str, client: str | None, as_json: bool) -> None:
    """Show a group.

    \b
    Example:
      credsync group show Sales --client Contoso
    """
    data = runtime(ctx).ports.groups.show(group, client)
    emit(data, as_json, lambda: _shown(data))


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


@group_group.command("edit")
@click.argument("group")
@click.option("--client", "client_ref", help="The group's client.")
@click.option("--name", help="A new name.")
@click.option("--type", "type", type=TYPES)
@click.option("--email", help="E-mail address.")
@click.option("--description", help="At most 1,024 characters.")
@json_option
@click.pass_context
def group_edit(ctx: click.Context, /, group: str, client_ref: str | None, as_json: bool,
               **options: Any) -> None:  # fmt: skip
    """Change a group's fields (needs vault.write); those a directory holds are read-only.

    \b
    Example:
      credsync group edit Sales --description "Everyone in sales"
    """
    given = _given(options)
    if not given:
        raise click.UsageError("nothing to change: give a field")
    data = runtime(ctx).ports.groups.edit(group, client_ref, given)
    emit(data, as_json, lambda: _shown(data))


@group_group.command("delete")
@click.argument("group")
@click.option("--client", help="The group's client.")
@json_option
@click.pass_context
def group_delete(ctx: click.Context, group: str, client: str | None, as_json: bool) -> None:
    """Move a group to the trash, members kept (needs vault.write).

    \b
    Example:
      credsync group delete Sales --client Contoso
    """
    data = runtime(ctx).ports.groups.delete(group, client)
    emit(data, as_json, f"Group {data['name']} moved to the trash.")


@group_group.command("restore")
@click.argument("group")
@click.option("--client", help="The group's client.")
@json_option
@click.pass_context
def group_restore(ctx: click.Context, group: str, client: str | None, as_json: bool) -> None:
    """Bring a group back from the trash (needs vault.write).

    \b
    Example:
      credsync group restore Sales --client Contoso
    """
    data = runtime(ctx).ports.groups.restore(group, client)
    emit(data, as_json, f"Group {data['name']} restored.")


@group_group.command("members")
@click.argument("group")
@click.option("--client", help="The group's client.")
@json_option
@click.pass_context
def group_members(ctx: click.Context, group: str, client: str | None, as_json: bool) -> None:
    """List a group's direct members: groups, then people.

    \b
    Example:
      credsync group members Sales --client Contoso
    """
    rows = runtime(ctx).ports.groups.members(group, client)
    emit(rows, as_json, lambda: table(rows, _MEMBERS) if rows else "No members.")


@group_group.command("add-member")
@click.argument("group")
@click.argument("member")
@click.option("--group", "is_group", is_flag=True, help="MEMBER is a group (default: a person).")
@click.option("--client", help="The group's client.")
@json_option
@click.pass_context
def group_add_member(ctx: click.Context, group: str, member: str, is_group: bool,
                     client: str | None, as_json: bool) -> None:  # fmt: skip
    """Add MEMBER (a person's username, or with --group a group) to GROUP (needs
    vault.write). A group that holds GROUP, directly or not, can't join it.

    \b
    Examples:
      credsync group add-member Sales anna.berg
      credsync group add-member Sales "Nordic sales" --group
    """
    kind = "group" if is_group else "person"
    data = runtime(ctx).ports.groups.add_member(group, client, kind, member)
    emit(data, as_json, f"Group {data['name']}: {data['members']} members.")


@group_group.command("remove-member")
@click.argument("group")
@click.argument("member")
@click.option("--group", "is_group", is_flag=True, help="MEMBER is a group (default: a person).")
@click.option("--client", help="The group's client.")
@json_option
@click.pass_context
def group_remove_member(ctx: click.Context, group: str, member: str, is_group: bool,
                        client: str | None, as_json: bool) -> None:  # fmt: skip
    """Take MEMBER out of GROUP (needs vault.write).

    \b
    Example:
      credsync group remove-member Sales anna.berg
    """
    kind = "group" if is_group else "person"
    data = runtime(ctx).ports.groups.remove_member(group, client, kind, member)
    emit(data, as_json, f"Group {data['name']}: {data['members']} members.")
