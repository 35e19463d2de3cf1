"""``credsync person provision``: people provisioned to a client's directory (issue 16,
"Provision to Office 365"; the rules are :mod:`credsync.sync.provision_people`'s):
``show`` and ``set`` a target directory's username mapping, principal name suffix,
default licence and usage location and where passwords come from; ``plan`` says per person
what an apply would write; ``apply`` writes it and reports per person what was done."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import click

from credsync.cli.fields import flag_names
from credsync.cli.output import details, emit, json_option, table
from credsync.cli.runtime import runtime
from credsync.errors import SyncAborted

__all__ = ["provision_group"]

_SHOWN = [
    ("directory", "Directory"),
    ("username_template", "Username mapping"),
    ("upn_suffix", "Principal name suffix"),
    ("licence", "Default licence"),
    ("usage_location", "Default usage location"),
    ("passwords", "Passwords"),
    ("version", "Version"),
    ("updated_at", "Updated"),
]
_LINES = [
    ("name", "Name"),
    ("username", "Sign-in name"),
    ("outcome", "Outcome"),
    ("detail", "Detail"),
]


def _shown(data: Mapping[str, Any]) -> str:
    view = {k: ("-" if v == "" else v) for k, v in data.items()}
    return details(view, _SHOWN)


def _detail(line: Mapping[str, Any]) -> str:
    parts = [line["reason"]] if line["reason"] else []
    steps = line["done"] or line["actions"]
    if steps:
        parts.append(", ".join(steps))
    if line["changed"] and "update" in line["actions"]:
        parts.append("fields: " + ", ".join(line["changed"]))
    parts.extend(line["notes"])
    return "; ".join(parts)


def _report(data: Mapping[str, Any]) -> str:
    totals = ", ".join(f"{n} {k}" for k, n in data["totals"].items())
    verb = "Provisioned" if data["applied"] else "Plan: provision"
    head = f"{verb} {data['client']}'s people to {data['directory']}: {totals}"
    head += f"; {data['writes']} directory writes" + ("" if data["applied"] else " needed")
    if data["licences_free"] is not None:
        were = "were free before" if data["applied"] else "are free"
        head += f"; {data['licences_free']} seats of the licence {were}"
    rows = [{**p, "detail": _detail(p)} for p in data["people"]]
    return "\n".join([head, table(rows, _LINES, max_width=100)] if rows else [head])


@click.group("provision")
def provision_group() -> None:
    """Provision a client's people to its directory (Office 365): show and set the
    settings, plan, apply. Setting, planning and applying need directory.setup."""


@provision_group.command("show")
@click.argument("directory")
@json_option
@click.pass_context
def provision_show(ctx: click.Context, directory: str, as_json: bool) -> None:
    """Show a directory's provisioning settings (version 0: never saved).

    \b
    Examples:
      credsync person provision show contoso-365 --json
    """
    data = runtime(ctx).ports.provisioning.settings(directory)
    emit(data, as_json, lambda: _shown(data))


@provision_group.command("set")
@click.argument("directory")
@click.option("--username-template", metavar="TEMPLATE",
              help="The username mapping, e.g. '{given}.{surname}' (fields: given, surname, "
              "initial, display, username, email).")  # fmt: skip
@click.option("--suffix", "upn_suffix", metavar="DOMAIN",
              help="The principal name suffix: a verified domain of the directory.")  # fmt: skip
@click.option("--licence", metavar="SKU", help="Default licence: SKU part number or id ('' none).")
@click.option("--usage-location", metavar="CC", help="Default usage location ('' none).")
@click.option("--passwords", type=click.Choice(["vault", "onboarding"]),
              help="vault: from each person's primary credential; onboarding: created "
              "disabled.")  # fmt: skip
@json_option
@flag_names(upn_suffix="--suffix", settings="an option")
@click.pass_context
def provision_set(ctx: click.Context, /, directory: str, as_json: bool, **options: Any) -> None:
    """Change a directory's provisioning settings (needs directory.setup).

    \b
    Examples:
      credsync person provision set contoso-365 --username-template '{given}.{surname}' \\
          --suffix contoso.com --licence ENTERPRISEPACK --usage-location SE
    """
    given = {k: v for k, v in options.items() if v is not None}
    data = runtime(ctx).ports.provisioning.change_settings(directory, given)
    emit(data, as_json, lambda: _shown(data))


def _run(ctx: click.Context, step: str, client: str, directory: str, people: tuple[str, ...],
         group: str | None, as_json: bool) -> None:  # fmt: skip
    port = runtime(ctx).ports.provisioning
    run = port.apply if step == "apply" else port.plan
    data = run(client, directory, people=people, group=group)
    emit(data, as_json, lambda: _report(data))
    refused = data["totals"].get("refused", 0)
    if refused:
        would = " were" if data["applied"] else " would be"
        raise SyncAborted(f"{refused} of {len(data['people'])} people{would} refused")


def _plan_or_apply(function: Callable[..., None]) -> Callable[..., None]:
    """What plan and apply both take: CLIENT DIRECTORY, which people, and --json."""
    decorators: tuple[Callable[[Callable[..., None]], Callable[..., None]], ...] = (
        click.argument("client"),
        click.argument("directory"),
        click.option(
            "--person",
            "people",
            multiple=True,
            metavar="ID",
            help="A person (id or username); repeat. Default: every person.",
        ),
        click.option("--group", metavar="GROUP", help="The members of this group (nested too)."),
        json_option,
        flag_names(selection="--person or --group"),
        click.pass_context,
    )
    for decorate in reversed(decorators):
        function = decorate(function)
    return function


@provision_group.command("plan")
@_plan_or_apply
def provision_plan(ctx: click.Context, client: str, directory: str, people: tuple[str, ...],
                   group: str | None, as_json: bool) -> None:  # fmt: skip
    """Say what provisioning CLIENT's people to DIRECTORY would write; writes nothing.

    Per person: create (with the mapped sign-in name), update (which fields), usage
    location, licence (only while a seat is free), password, immutable id, or refused and
    why. Exit 9 when any person would be refused.

    \b
    Examples:
      credsync person provision plan Contoso contoso-365
      credsync person provision plan Contoso contoso-365 --group Sales --json
    """
    _run(ctx, "plan", client, directory, people, group, as_json)


@provision_group.command("apply")
@_plan_or_apply
def provision_apply(ctx: click.Context, client: str, directory: str, people: tuple[str, ...],
                    group: str | None, as_json: bool) -> None:  # fmt: skip
    """Provision CLIENT's people to DIRECTORY: create, update, license, set passwords.

    Writes to the customer's directory (needs directory.setup and vault.write); run plan
    first. Per person what was done, or refused and why; exit 9 when any person was refused
    (the others were provisioned). A second apply writes nothing.

    \b
    Examples:
      credsync person provision apply Contoso contoso-365 --person anna.berg
    """
    _run(ctx, "apply", client, directory, people, group, as_json)
