"""What ``credsync person`` and ``credsync group`` share (:mod:`credsync.cli.commands.persons`,
:mod:`credsync.cli.commands.groups`): the list and search commands, those on one record named
by reference (show, delete, restore, disable, enable, members' changes), and the shown
record's source of truth and directory links. Each kind gives its words, columns and help."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import click

from credsync.cli.output import emit, json_option, note, table

__all__ = ["add_by_ref", "add_list", "add_search", "view"]

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
    params: Sequence[Callable[[Any], Any]] = (),
) -> None:
    """A command ``name`` on the one record named by ``argument`` (and --client, whose help is
    ``client_help``), with ``params`` after the argument: ``run(ctx, ref, client, **params)``
    does it and returns the record; its text is ``said(record)``."""

    def command(ctx: click.Context, /, client: str | None, as_json: bool, **given: Any) -> None:
        ref = given.pop(argument)
        data = run(ctx, ref, client, **given)
        emit(data, as_json, lambda: said(data))

    command.__doc__ = doc
    decorated: Any = click.pass_context(command)
    decorated = json_option(decorated)
    decorated = click.option("--client", help=client_help)(decorated)
    for param in reversed(params):
        decorated = param(decorated)
    group.command(name)(click.argument(argument)(decorated))
