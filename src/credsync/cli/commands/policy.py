"""generate and policy commands, on a local vault or through a server."""

from __future__ import annotations

from typing import Any

import click

from credsync.cli.output import emit, json_option, note, table
from credsync.cli.runtime import runtime

# option -> the policy setting it changes (the API's field names too)
SETTINGS = {
    "length": "length",
    "min_lower": "lower",
    "min_upper": "upper",
    "min_digits": "digits",
    "min_symbols": "symbols",
    "symbol_set": "symbol_set",
    "exclude": "exclude",
    "no_ambiguous": "exclude_ambiguous",
}


def policy_options(func: Any) -> Any:
    options = [
        click.option("--length", type=int, help="Length (4-256; default 20)."),
        click.option("--min-lower", type=int, help="At least this many a-z (-1: none at all)."),
        click.option("--min-upper", type=int, help="At least this many A-Z (-1: none at all)."),
        click.option("--min-digits", type=int, help="At least this many 0-9 (-1: none at all)."),
        click.option("--min-symbols", type=int, help="At least this many symbols (-1: none)."),
        click.option("--symbols", "symbol_set", help="The symbol characters to use."),
        click.option("--exclude", help="Characters never to use."),
        click.option("--no-ambiguous", is_flag=True, default=None, help="Leave out Il1O0o etc."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def policy_settings(**given: Any) -> dict[str, Any]:
    """The settings the options given change."""
    return {SETTINGS[k]: v for k, v in given.items() if v is not None}


@click.command("generate")
@click.option("--policy", help="A named policy to start from (default: default).")
@policy_options
@click.option("--count", type=click.IntRange(1, 1000), default=1, show_default=True)
@json_option
@click.pass_context
def generate_cmd(
    ctx: click.Context, /, policy: str | None, count: int, as_json: bool, **given: Any
) -> None:
    """Print generated passwords (nothing is stored).

    The default policy (20 characters, all four classes) meets Active Directory's complexity
    rule and Entra ID's password rules.

    \b
    Examples:
      credsync generate
      credsync generate --length 32 --min-symbols -1 --count 5
    """
    passwords = runtime(ctx).ports.policies.generate(
        policy, count=count, settings=policy_settings(**given)
    )
    emit(passwords, as_json, "\n".join(passwords))


@click.group("policy")
def policy_group() -> None:
    """Named password policies (the built-in one is `default`)."""


@policy_group.command("add")
@click.argument("name")
@policy_options
@json_option
@click.pass_context
def policy_add(ctx: click.Context, /, name: str, as_json: bool, **given: Any) -> None:
    """Add a named policy, starting from the default (admin).

    \b
    Example:
      credsync policy add long --length 32 --exclude '"\\`'
    """
    data = runtime(ctx).ports.policies.add(name, policy_settings(**given))
    emit(data, as_json, f"Policy {data['name']} added.")


@policy_group.command("list")
@json_option
@click.pass_context
def policy_list(ctx: click.Context, as_json: bool) -> None:
    """List password policies."""
    rows = runtime(ctx).ports.policies.list()
    columns = [
        ("name", "Name"),
        ("length", "Length"),
        ("lower", "Lower"),
        ("upper", "Upper"),
        ("digits", "Digits"),
        ("symbols", "Symbols"),
        ("symbol_set", "Symbol set"),
        ("exclude", "Exclude"),
    ]
    emit(rows, as_json, lambda: table(rows, columns))


@policy_group.command("delete")
@click.argument("name")
@click.pass_context
def policy_delete(ctx: click.Context, name: str) -> None:
    """Delete a named policy (admin).

    \b
    Example:
      credsync policy delete long
    """
    runtime(ctx).ports.policies.delete(name)
    note(f"Policy {name} deleted.")
