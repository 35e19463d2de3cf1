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
from credsync.cli.commands._identity import add_by_ref, add_edit, add_list, add_search, view
from credsync.cli.output import details, emit, json_option
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
    ("mfa", "MFA"),
    ("onboarding", "Onboarding"),
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
    shown = view(data, "accounts")
    shown["credential_id"] = data.get("credential_id")
    shown["onboarding"] = _onboarding(data.get("onboarding"))
    shown["mfa"] = _mfa(data.get("mfa"))
    return details(shown, _SHOWN)


def _mfa(state: Mapping[str, Any] | None) -> str | None:
    """A person's second factors: their authenticator app's state, their security keys."""
    if not state:
        return None
    keys = int(state["security_keys"])
    plural = "" if keys == 1 else "s"
    return f"authenticator app {state['totp']}; {keys} security key{plural}"


def _show(ctx: click.Context, ref: str, client: str | None) -> dict[str, Any]:
    """The person, with their second factors (``mfa``)."""
    port = _port(ctx)
    data: dict[str, Any] = dict(port.show(ref, client))
    found = port.mfa(data["id"], client)
    data["mfa"] = {"totp": found["totp"], "security_keys": found["security_keys"]}
    return data


def _onboarding(held: Mapping[str, Any] | None) -> str | None:
    """A person imported into a group with a provisioning policy: awaiting onboarding (no
    password yet), to be invited, the sync mode their credential takes with a password."""
    if not held:
        return None
    state = "awaiting onboarding (no password yet)" if held["awaiting"] else "onboarded"
    invite = "; to be invited" if held["invite"] else ""
    return f"{state}{invite}; sync mode {held['sync_mode']} once onboarded"


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
    commands={
        "deleted": ("credsync.cli.commands.people_deleted", "deleted_group"),
        "import": ("credsync.cli.commands.people_import", "import_group"),
        "provision": ("credsync.cli.commands.provision_people", "provision_group"),
    },
    summaries={
        "deleted": "People and groups deleted or disabled in a directory: check, apply.",
        "import": "Import people and groups from a client's directory: search, sync.",
        "provision": "Provision people to a client's directory: show, set, plan, apply.",
    },
)
def person_group() -> None:
    """People: a client's end users as identities."""


def _port(ctx: click.Context) -> Any:
    return runtime(ctx).ports.persons


_LIST_HELP = """List a client's people by display name.

    \b
    Example:
      credsync person list Contoso --json
    """
_SEARCH_HELP = """Find people whose names, username or e-mail have words starting with each word of
    QUERY.

    \b
    Examples:
      credsync person search anna berg
      credsync person search contoso.com --client Contoso --json
    """
add_list(person_group, _port, plural="people", columns=_LISTED, doc=_LIST_HELP)
add_search(person_group, _port, plural="people", columns=_SEARCHED, doc=_SEARCH_HELP)
add_by_ref(
    person_group,
    "show",
    "person",
    client_help="The person's client (when several have the username).",
    doc="""Show a person, their accounts, their second factors (MFA) and which attributes a
    directory holds (read-only).

    \b
    Example:
      credsync person show anna.berg --client Contoso
    """,
    run=_show,
    said=_shown,
)


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


add_edit(
    person_group,
    "person",
    port_of=_port,
    given_of=_given,
    said=_shown,
    client_help="The person's client.",
    doc="""Change a person's fields (needs vault.write); those a directory holds are read-only.

    \b
    Example:
      credsync person edit anna.berg --department Finance --job-title CFO
    """,
    fields=[click.option("--username", help="A new username."), _field_options],
)


def _by_ref(name: str, do: Callable[[Any, str, str | None], Any], line: str, done: str) -> None:
    """``person NAME PERSON``: ``do(port, ref, client)``, the help's first line, what is said
    after (``Person <username> <done>.``)."""
    add_by_ref(
        person_group,
        name,
        "person",
        client_help="The person's client.",
        doc=f"""{line}

    \b
    Example:
      credsync person {name} anna.berg --client Contoso
    """,
        run=lambda ctx, ref, client: do(_port(ctx), ref, client),
        said=lambda data: f"Person {data['username']} {done}.",
    )


_by_ref(
    "disable",
    lambda port, ref, client: port.edit(ref, client, {"enabled": False}),
    "Disable a person (needs vault.write).",
    "disabled",
)
_by_ref(
    "enable",
    lambda port, ref, client: port.edit(ref, client, {"enabled": True}),
    "Enable a person (needs vault.write).",
    "enabled",
)
_by_ref(
    "delete",
    lambda port, ref, client: port.delete(ref, client),
    "Move a person to the trash (needs vault.write; `person restore` brings them back).",
    "moved to the trash",
)
_by_ref(
    "mfa-reset",
    lambda port, ref, client: port.mfa_reset(ref, client),
    "Remove a person's authenticator app and security keys and end their portal sessions; they\n"
    "    set one up again at their next sign-in (needs vault.write; audited).",
    "has no second factor now: they set one up at their next sign-in",
)
_by_ref(
    "restore",
    lambda port, ref, client: port.restore(ref, client),
    "Bring a person back from the trash (needs vault.write).",
    "restored",
)

# Self-service (credsync.cli.commands.self_service): invitations and the people's policy.
from credsync.cli.commands.self_service import invite_cmd, people_policy_cmd  # noqa: E402

person_group.add_command(invite_cmd)
person_group.add_command(people_policy_cmd)
