"""What ``credsync person`` and ``credsync group`` share (:mod:`credsync.cli.commands.persons`,
:mod:`credsync.cli.commands.groups`): the list and search commands, those on one record named
by reference (show, edit, delete, restore, disable, enable, members' changes), and the shown
record's source of truth and directory links. Each kind gives its words, columns and help."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import click

from credsync.cli.output import emit, json_option, note, table

__all__ = ["add_by_ref", "add_edit", "add_list", "add_search", "view"]

Columns = Sequence[tuple[str, str]]
# The kind's port of a command's context: runtime(ctx).ports.persons, ...groups.
PortOf = Callable[[click.Context], Any]


def view(data: Mapping[str, Any], links: str) -> dict[str, Any]:
    """A shown record with its source of truth and its directory links (``links``: accounts,
    objects) in words."""
    shown = dict(data)
    source = data.get("source")
    if source:
        shown["source"] = f"{source['directory']} ({', '.join(source['attributes'])}: read-only)"
    shown[links] = [f"{o['directory']}: {o['object_id']}" for o in data.get(links, [])]
    return shown


def add_list(group: click.Group, port_of: PortOf, *, plural: str, columns: Columns,
             doc: str) -> None:  # fmt: skip
    """``list CLIENT`` of ``plural`` (people, groups), a page or --all of them."""

    @click.argument("client")
    @click.option("--trash", is_flag=True, help="List the trash instead.")
    @click.option("--limit", type=int, default=1000, show_default=True, help="Page size.")
    @click.option("--cursor", help="Continue after the page that printed this cursor.")
    @click.option("--all", "everything", is_flag=True, help="Every page.")
    @json_option
    @click.pass_context
    def listed(ctx: click.Context, client: str, trash: bool, limit: int, cursor: str | None,
               everything: bool, as_json: bool) -> None:  # fmt: skip
        port = port_of(ctx)
        rows: list[Any] = []
        while True:
            page, cursor = port.list(client, trash=trash, limit=limit, cursor=cursor)
            rows += page
            if not everything or cursor is None:
                break
        if cursor is not None:
            note(f"More {plural} follow: --cursor {cursor} (or --all).")
        emit(rows, as_json, lambda: table(rows, columns) if rows else f"No {plural}.")

    listed.__doc__ = doc
    group.command("list")(listed)


def add_search(group: click.Group, port_of: PortOf, *, plural: str, columns: Columns,
               doc: str) -> None:  # fmt: skip
    """``search QUERY...`` of ``plural``, at most --limit of them."""

    @click.argument("query", nargs=-1, required=True)
    @click.option("--client", help="Only this client.")
    @click.option("--limit", type=int, default=100, show_default=True)
    @json_option
    @click.pass_context
    def search(ctx: click.Context, query: tuple[str, ...], client: str | None, limit: int,
               as_json: bool) -> None:  # fmt: skip
        from credsync.vault.credentials import MAX_PAGE

        rows = port_of(ctx).search(" ".join(query), client=client, limit=min(limit + 1, MAX_PAGE))
        if len(rows) > limit:
            rows = rows[:limit]
            note(f"More than {limit} {plural} match: add words or --client to narrow it.")
        emit(rows, as_json, lambda: table(rows, columns) if rows else "Nothing found.")

    search.__doc__ = doc
    group.command("search")(search)


def add_by_ref(
    group: click.Group,
    name: str,
    argument: str,
    *,
    client_help: str,
    doc: str,
    run: Callable[..., Any],
    said: Callable[[Any], str],
    before: Sequence[Callable[[Any], Any]] = (),
    after: Sequence[Callable[[Any], Any]] = (),
    client_dest: str = "client",
) -> None:
    """A command ``name`` on the one record named by ``argument`` and --client (whose help is
    ``client_help``; its parameter ``client_dest``), with the parameters ``before`` and
    ``after`` --client: ``run(ctx, ref, client, **parameters)`` does it and returns the
    record; its text is ``said(record)``."""

    def command(ctx: click.Context, /, as_json: bool, **given: Any) -> None:
        ref = given.pop(argument)
        client = given.pop(client_dest)
        data = run(ctx, ref, client, **given)
        emit(data, as_json, lambda: said(data))

    command.__doc__ = doc
    decorated: Any = json_option(click.pass_context(command))
    for param in reversed(after):
        decorated = param(decorated)
    decorated = click.option("--client", client_dest, help=client_help)(decorated)
    for param in reversed(before):
        decorated = param(decorated)
    group.command(name)(click.argument(argument)(decorated))


def add_edit(
    group: click.Group,
    argument: str,
    *,
    port_of: PortOf,
    given_of: Callable[[Mapping[str, Any]], dict[str, Any]],
    said: Callable[[Any], str],
    client_help: str,
    doc: str,
    fields: Sequence[Callable[[Any], Any]],
) -> None:
    """``edit REF``: the ``fields`` given (``given_of`` the options; a usage error without
    any) changed through the port."""

    def edit(ctx: click.Context, ref: str, client: str | None, **options: Any) -> Any:
        given = given_of(options)
        if not given:
            raise click.UsageError("nothing to change: give a field")
        return port_of(ctx).edit(ref, client, given)

    add_by_ref(group, "edit", argument, client_help=client_help, doc=doc, run=edit, said=said,
               after=fields, client_dest="client_ref")  # fmt: skip
