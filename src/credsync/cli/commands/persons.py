"""``credsync person``: a client's people (issue 16; see :mod:`credsync.vault.people`): list,
search, show, add, edit, disable, enable, delete (to the trash), restore; and ``person
import`` (:mod:`credsync.cli.commands.people_import`, imported only when it runs). A person
is named by username (any case) or id (6 or more characters); ``--client`` narrows the lookup
when several clients have the username."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import click

from credsync.cli.app import LazyGroup
from credsync.cli.output import details, emit, json_option, note, table
from credsync.cli.runtime import runtime

__all__ = ["person_group"]

_LISTED = [
    ("username", "Username"),
    ("display_name", "Name"),
    ("email", "E-mail"),
    ("department", "Department"),
    ("enabled", "Enabled"),
]
_SEARCHED = [("client", "Client"), *_LISTED]
_SHOWN = [
    ("id", "ID"),
    ("client", "Client"),
    ("username", "Username"),
    ("display_name", "Display name"),
    ("given_name", "Given name"),
    ("surname", "Surname"),
    ("email", "E-mail"),
    ("usage_location", "Usage location"),
    ("department", "Department"),
    ("job_title", "Job title"),
    ("enabled", "Enabled"),
    ("credential_id", "Login credential"),
    ("source", "Source of truth"),
    ("accounts", "Accounts"),
    ("version", "Version"),
    ("updated_at", "Updated"),
    ("updated_by", "Updated by"),
    ("deleted_at", "In trash since"),
]
# flag -> the field's JSON name
_FIELDS = {
    "given_name": "given_name",
    "surname": "surname",
    "display_name": "display_name",
    "username": "username",
    "email": "email",
    "usage_location": "usage_location",
    "department": "department",
    "job_title": "job_title",
    "credential": "credential",
}


def _shown(data: Mapping[str, Any]) -> str:
    view = dict(data)
    source = data.get("source")
    if source:
        view["source"] = f"{source['directory']} ({', '.join(source['attributes'])}: read-only)"
    view["accounts"] = [f"{a['directory']}: {a['object_id']}" for a in data.get("accounts", [])]
    view["credential_id"] = data.get("credential_id")
    return details(view, _SHOWN)


def _given(options: Mapping[str, Any]) -> dict[str, Any]:
    given = {name: options[flag] for flag, name in _FIELDS.items() if options.get(flag) is not None}
    if options.get("enabled") is not None:
        given["enabled"] = options["enabled"]
    return given


def _field_options(func: Callable[..., Any]) -> Callable[..., Any]:
    decorators = [
        click.option("--given-name", help="Given name (at most 64 characters)."),
        click.option("--surname", help="Surname (at most 64)."),
        click.option("--display-name", help="Default: given name and surname."),
        click.option("--email", help="E-mail address."),
        click.option("--usage-location", metavar="CC", help="ISO 3166-1 alpha-2 code, e.g. SE."),
        click.option("--department", help="Department (at most 64)."),
        click.option("--job-title", help="Job title (at most 128)."),
        click.option(
            "--credential",
            metavar="CRED_ID",
            help="The primary login credential (one of the same client); '' for none.",
        ),
    ]
    for decorate in reversed(decorators):
        func = decorate(func)
    return func


@click.group(
    "person",
    cls=LazyGroup,
    commands={"import": ("credsync.cli.commands.people_import", "import_group")},
    summaries={"import": "Import people and groups from a client's directory: search, sync."},
)
def person_group() -> None:
    """People: a client's end users as identities (provisioning comes later)."""


@person_group.command("list")
@click.argument("client")
@click.option("--trash", is_flag=True, help="List the trash instead.")
@click.option("--limit", type=int, default=1000, show_default=True, help="Page size.")
@click.option("--cursor", help="Continue after the page that printed this cursor.")
@click.option("--all", "everything", is_flag=True, help="Every page.")
@json_option
@click.pass_context
def person_list(ctx: click.Context, client: str, trash: bool, limit: int, cursor: str | None,
                everything: bool, as_json: bool) -> None:  # fmt: skip
    """List a client's people by display name.

    \b
    Example:
      credsync person list Contoso --json
    """
    port = runtime(ctx).ports.persons
    rows: list[Any] = []
    while True:
        page, cursor = port.list(client, trash=trash, limit=limit, cursor=cursor)
        rows += page
        if not everything or cursor is None:
            break
    if cursor is not None:
        note(f"More people follow: --cursor {cursor} (or --all).")
    emit(rows, as_json, lambda: table(rows, _LISTED) if rows else "No people.")


@person_group.command("search")
@click.argument("query", nargs=-1, required=True)
@click.option("--client", help="Only this client.")
@click.option("--limit", type=int, default=100, show_default=True)
@json_option
@click.pass_context
def person_search(ctx: click.Context, query: tuple[str, ...], client: str | None, limit: int,
                  as_json: bool) -> None:  # fmt: skip
    """Find people whose names, username or e-mail have words starting with each word of
    QUERY.

    \b
    Examples:
      credsync person search anna berg
      credsync person search contoso.com --client Contoso --json
    """
    from credsync.vault.credentials import MAX_PAGE

    rows = runtime(ctx).ports.persons.search(
        " ".join(query), client=client, limit=min(limit + 1, MAX_PAGE)
    )
    if len(rows) > limit:
        rows = rows[:limit]
        note(f"More than {limit} people match: add words or --client to narrow it.")
    emit(rows, as_json, lambda: table(rows, _SEARCHED) if rows else "Nothing found.")


@person_group.command("show")
@click.argument("person")
@click.option("--client", help="The person's client (when several have the username).")
@json_option
@click.pass_context
def person_show(ctx: click.Context, person: str, client: str | None, as_json: bool) -> None:
    """Show a person, their accounts and which attributes a directory holds (read-only).

    \b
    Example:
      credsync person show anna.berg --client Contoso
    """
    data = runtime(ctx).ports.persons.show(person, client)
    emit(data, as_json, lambda: _shown(data))


@person_group.command("add")
@click.argument("client")
@click.option("--username", required=True, help="Unique in the client (any case).")
@_field_options
@click.option("--disabled", "enabled", flag_value=False, default=None, help="Add disabled.")
@json_option
@click.pass_context
def person_add(ctx: click.Context, /, client: str, as_json: bool, **options: Any) -> None:
    """Add a person to CLIENT (needs vault.write).

    \b
    Example:
      credsync person add Contoso --username anna.berg@contoso.com --given-name Anna \\
          --surname Berg --email anna.berg@contoso.com --usage-location SE
    """
    data = runtime(ctx).ports.persons.add(client, _given(options))
    emit(data, as_json, lambda: _shown(data))


@person_group.command("edit")
@click.argument("person")
@click.option("--client", "client_ref", help="The person's client.")
@click.option("--username", help="A new username.")
@_field_options
@json_option
@click.pass_context
def person_edit(ctx: click.Context, /, person: str, client_ref: str | None, as_json: bool,
                **options: Any) -> None:  # fmt: skip
    """Change a person's fields (needs vault.write); those a directory holds are read-only.

    \b
    Example:
      credsync person edit anna.berg --department Finance --job-title CFO
    """
    given = _given(options)
    if not given:
        raise click.UsageError("nothing to change: give a field")
    data = runtime(ctx).ports.persons.edit(person, client_ref, given)
    emit(data, as_json, lambda: _shown(data))


@person_group.command("disable")
@click.argument("person")
@click.option("--client", help="The person's client.")
@json_option
@click.pass_context
def person_disable(ctx: click.Context, person: str, client: str | None, as_json: bool) -> None:
    """Disable a person (needs vault.write).

    \b
    Example:
      credsync person disable anna.berg --client Contoso
    """
    data = runtime(ctx).ports.persons.edit(person, client, {"enabled": False})
    emit(data, as_json, f"Person {data['username']} disabled.")


@person_group.command("enable")
@click.argument("person")
@click.option("--client", help="The person's client.")
@json_option
@click.pass_context
def person_enable(ctx: click.Context, person: str, client: str | None, as_json: bool) -> None:
    """Enable a person (needs vault.write).

    \b
    Example:
      credsync person enable anna.berg --client Contoso
    """
    data = runtime(ctx).ports.persons.edit(person, client, {"enabled": True})
    emit(data, as_json, f"Person {data['username']} enabled.")


@person_group.command("delete")
@click.argument("person")
@click.option("--client", help="The person's client.")
@json_option
@click.pass_context
def person_delete(ctx: click.Context, person: str, client: str | None, as_json: bool) -> None:
    """Move a person to the trash (needs vault.write; `person restore` brings them back).

    \b
    Example:
      credsync person delete anna.berg --client Contoso
    """
    data = runtime(ctx).ports.persons.delete(person, client)
    emit(data, as_json, f"Person {data['username']} moved to the trash.")


@person_group.command("restore")
@click.argument("person")
@click.option("--client", help="The person's client.")
@json_option
@click.pass_context
def person_restore(ctx: click.Context, person: str, client: str | None, as_json: bool) -> None:
    """Bring a person back from the trash (needs vault.write).

    \b
    Example:
      credsync person restore anna.berg --client Contoso
    """
    data = runtime(ctx).ports.persons.restore(person, client)
    emit(data, as_json, f"Person {data['username']} restored.")
