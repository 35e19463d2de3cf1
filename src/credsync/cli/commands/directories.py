"""directory commands: add, list, show, set, test, remove.

The options of a kind's settings and ways to sign in are made from the kind descriptors
(:mod:`credsync.connectors.registry`): ``directory add --kind K`` takes K's own options (and
``--kind K --help`` shows them); ``directory set`` takes any kind's, and the directory's kind
refuses what is not its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from credsync.cli.fields import flag_names
from credsync.cli.output import details, emit, json_option, note, table
from credsync.cli.runtime import confirm, runtime
from credsync.connectors import registry
from credsync.connectors.kinds import BIND_FIELD, Kind
from credsync.errors import ConnectorError, InvalidInput

if TYPE_CHECKING:
    pass

LIST_COLUMNS = [
    ("name", "Name"),
    ("client", "Client"),
    ("kind", "Kind"),
    ("url", "URL"),
    ("account_count", "Accounts"),
    ("full_pass_at", "Last full pass"),
    ("id", "Id"),
]
_HEAD = [("id", "Id"), ("name", "Name"), ("client", "Client"), ("kind", "Kind")]
_TAIL = [
    ("bind_credential_id", "Bind credential"),
    ("ca", "CA"),
    ("insecure_skip_verify", "Skip TLS verification"),
    ("options", "Options"),
    ("options_from", "Options from"),
    ("incremental", "Incremental cursor"),
    ("full_pass_at", "Last full pass"),
    ("account_count", "Accounts (last full pass)"),
    ("failures", "Failed runs in a row"),
    ("version", "Version"),
]
KIND_CHOICES = sorted(
    {n for k in registry.KINDS for n in (k.name, k.name.replace("_", "-"), *k.aliases)}
)


def kind_options(kind: Kind[Any] | None) -> list[click.Option]:
    """The options of ``kind``'s settings and ways to sign in; of every kind when None (as
    ``directory set`` takes them: the directory's kind refuses what is not its own)."""
    found: list[click.Option] = []
    if kind is not None:
        for setting in kind.settings:
            found.append(click.Option([setting.cli_flag, setting.name], help=setting.help))
        for method in kind.binds:
            if method.field != BIND_FIELD:
                found.append(click.Option([method.cli_flag, method.field], help=method.help))
        return found
    for name, having in registry.settings().items():
        found.append(click.Option([having[0][1].cli_flag, name], help=registry.help_text(name)))
    for field, methods in registry.bind_methods().items():
        if field != BIND_FIELD:
            flag = methods[0][1].cli_flag
            found.append(click.Option([flag, field], help=registry.help_text(field)))
    return found


def _bind_help(kind: Kind[Any] | None) -> str:
    if kind is not None and len(kind.binds) == 1:
        return kind.binds[0].help
    return (
        "Id of the directory_admin credential the directory signs in with (a kind with "
        "several ways to sign in keeps the one it has)."
    )


class KindCommand(click.Command):
    """A command whose options depend on ``--kind``: the kind's own when it is given (so that
    ``--kind K --help`` shows them), every kind's (hidden) otherwise."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._common = list(self.params)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        kind = _peek_kind(args)
        options = kind_options(kind)
        if kind is None:
            for option in options:
                option.hidden = True
        # A kind with several ways to sign in is told which when a directory is added.
        bind = click.Option(
            ["--bind-credential", BIND_FIELD],
            help=_bind_help(kind),
            hidden=kind is not None and len(kind.binds) > 1,
        )
        at = next(i for i, p in enumerate(self._common) if p.name == "kind") + 1
        self.params = [*self._common[:at], *options, bind, *self._common[at:]]
        return super().parse_args(ctx, args)


def _peek_kind(args: Sequence[str]) -> Kind[Any] | None:
    for i, arg in enumerate(args):
        value = None
        if arg == "--kind" and i + 1 < len(args):
            value = args[i + 1]
        elif arg.startswith("--kind="):
            value = arg.split("=", 1)[1]
        if value is not None:
            try:
                return registry.kind_of(value)
            except InvalidInput:
                return None  # --kind's own check says so
    return None


def _options(interval: int | None, push_cap: int | None, raw: tuple[str, ...]) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in raw:
        key, sep, value = item.partition("=")
        if not sep:
            raise InvalidInput(f"--option {item!r} must be KEY=VALUE")
        try:
            out[key.strip()] = int(value)
        except ValueError:
            raise InvalidInput(f"--option {key}: {value!r} is not a whole number") from None
    if interval is not None:
        out["interval"] = interval
    if push_cap is not None:
        out["push_cap"] = push_cap
    return out


def _read_ca(ca_file: str | None) -> str | None:
    if ca_file is None:
        return None
    try:
        text = Path(ca_file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read the CA file {ca_file}: {exc}") from None
    if not text.strip():
        raise InvalidInput(f"the CA file {ca_file} is empty (--no-ca removes a directory's CA)")
    return text


def _ca_change(ca_file: str | None, no_ca: bool) -> str | None:
    """``directory set``'s CA: the file's PEM, "" to remove the CA (--no-ca), or None."""
    if no_ca and ca_file is not None:
        raise InvalidInput("give --ca-file or --no-ca, not both")
    return "" if no_ca else _read_ca(ca_file)


def _warn_insecure(skip: bool) -> None:
    if skip:
        note(
            "warning: TLS certificate verification is OFF for this directory: anyone on the "
            "path can read the passwords sent to it. This choice is logged and audited."
        )


def _given(kind_values: dict[str, Any], common: dict[str, Any]) -> dict[str, Any]:
    """The inputs given, by their names (the same as the API's JSON fields)."""
    given = {k: v for k, v in kind_values.items() if v is not None}
    given.update({k: v for k, v in common.items() if v is not None and v != {}})
    return given


def _trust_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--ca-file, for add and set."""
    return click.option(
        "--ca-file", type=click.Path(dir_okay=False), help="PEM CA certificate(s) to trust."
    )(func)


def _tuning_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--interval, --push-cap and --option KEY=VALUE, for add and set."""
    func = click.option(
        "--option", "raw_options", multiple=True, help="KEY=VALUE (see the README)."
    )(func)
    func = click.option("--push-cap", type=int, help="Pushes one run may make (default 500).")(func)
    return click.option(
        "--interval", type=int, help="Seconds between the agent's runs (default 60)."
    )(func)


def show(data: Mapping[str, Any], as_json: bool) -> None:
    """A directory: the common fields and its kind's settings."""
    kind = registry.kind_of(str(data.get("kind", "")))
    fields = [*_HEAD, *((s.name, s.heading) for s in kind.settings)]
    if len(kind.binds) > 1:
        fields.append(("bind_kind", kind.bind_heading))
    shown = dict(data)
    if shown.get("bind_credential_id") is None:  # hidden without directory_admin.use
        shown["bind_credential_id"] = "set (not shown: it needs directory_admin.use)"
    emit(data, as_json, lambda: details(shown, [*fields, *_TAIL]))


@click.group("directory")
def directory_group() -> None:
    """Directories: the connections to the directory services a client's accounts live in.

    A NAME argument is a directory's name (any case) or id; names are unique in the vault.
    """


@directory_group.command(
    "add",
    cls=KindCommand,
    epilog="Each kind has its own options: see `credsync directory add --kind KIND --help` "
    f"(KIND: {', '.join(k.name.replace('_', '-') for k in registry.KINDS)}).",
)
@click.argument("client")
@click.argument("name")
@click.option(
    "--kind", type=click.Choice(KIND_CHOICES), required=True, help="The directory service."
)
@_trust_options
@click.option("--insecure-skip-verify", is_flag=True, help="Do not check the certificate (unsafe).")
@_tuning_options
@json_option
@flag_names(ca_pem="--ca-file")
@click.pass_context
def directory_add(
    ctx: click.Context,
    /,
    client: str,
    name: str,
    kind: str,
    ca_file: str | None,
    insecure_skip_verify: bool,
    interval: int | None,
    push_cap: int | None,
    raw_options: tuple[str, ...],
    as_json: bool,
    **kind_values: str | None,
) -> None:
    """Add a directory to a client (needs directory.setup and directory_admin.use).

    \b
    Examples:
      credsync directory add Contoso contoso-ad --kind active-directory \\
          --url ldaps://127.0.0.1 --tls-server-name dc1.contoso.com \\
          --base-dn 'OU=Staff,DC=contoso,DC=com' --bind-credential 3f2a9c1e \\
          --ca-file contoso-ca.pem
      credsync directory add Contoso contoso-365 --kind entra \\
          --tenant-id 72f988bf-86f1-41af-91ab-2d7cd011db47 \\
          --client-id 0b6f3b8e-1c4d-4d0e-9a57-3e1f0c2d9b11 --certificate-credential 8c1d2e3f
    """
    rt = runtime(ctx)
    _warn_insecure(insecure_skip_verify)
    descriptor = registry.kind_of(kind)
    given = _given(
        kind_values,
        {
            "ca_pem": _read_ca(ca_file),
            "insecure_skip_verify": insecure_skip_verify,
            "options": _options(interval, push_cap, raw_options),
        },
    )
    show(rt.ports.directories.add(client, name, descriptor.name, given), as_json)


@directory_group.command("list")
@click.argument("client", required=False)
@json_option
@click.pass_context
def directory_list(ctx: click.Context, client: str | None, as_json: bool) -> None:
    """List directories (of one client, or all).

    \b
    Example:
      credsync directory list Contoso --json
    """
    rows = runtime(ctx).ports.directories.list(client)
    emit(rows, as_json, lambda: table(rows, LIST_COLUMNS) if rows else "No directories.")


@directory_group.command("show")
@click.argument("name")
@json_option
@click.pass_context
def directory_show(ctx: click.Context, name: str, as_json: bool) -> None:
    """Show one directory.

    \b
    Example:
      credsync directory show contoso-ad
    """
    show(runtime(ctx).ports.directories.show(name), as_json)


def _set_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Every kind's settings and ways to sign in (the directory's kind checks them)."""
    for option in reversed(kind_options(None)):
        func = click.option(*option.opts, option.name, help=option.help)(func)
    return click.option("--bind-credential", BIND_FIELD, help=_bind_help(None))(func)


@directory_group.command("set")
@click.argument("name")
@_set_options
@_trust_options
@click.option(
    "--no-ca", is_flag=True, help="Remove the directory's CA: trust the system's CAs again."
)
@click.option("--insecure-skip-verify", type=click.Choice(["on", "off"]))
@_tuning_options
@json_option
@flag_names(ca_pem="--ca-file")
@click.pass_context
def directory_set(
    ctx: click.Context,
    /,
    name: str,
    ca_file: str | None,
    no_ca: bool,
    insecure_skip_verify: str | None,
    interval: int | None,
    push_cap: int | None,
    raw_options: tuple[str, ...],
    as_json: bool,
    **kind_values: str | None,
) -> None:
    """Change a directory's connection or options (the options of its kind; see
    `credsync directory add --kind KIND --help`).

    \b
    Examples:
      credsync directory set contoso-ad --push-cap 2000
      credsync directory set contoso-ad --option min_account_ratio=30
      credsync directory set contoso-365 --option never_expires=1
      credsync directory set contoso-ad --no-ca
    """
    rt = runtime(ctx)
    skip = None if insecure_skip_verify is None else insecure_skip_verify == "on"
    _warn_insecure(bool(skip))
    given = _given(
        kind_values,
        {
            "ca_pem": _ca_change(ca_file, no_ca),
            "insecure_skip_verify": skip,
            "options": _options(interval, push_cap, raw_options),
        },
    )
    show(rt.ports.directories.change(name, given), as_json)


@directory_group.command("remove")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask.")
@json_option
@click.pass_context
def directory_remove(ctx: click.Context, name: str, yes: bool, as_json: bool) -> None:
    """Remove a directory with its links, runs and flags (credentials stay).

    \b
    Example:
      credsync directory remove contoso-ad --yes
    """
    rt = runtime(ctx)
    if not yes:
        confirm(f"Directory {name!r}, its links, runs and flags will be forgotten.")
    data = rt.ports.directories.remove(name)
    emit(data, as_json, f"Directory {data['name']} removed.")


@directory_group.command("test")
@click.argument("name")
@json_option
@click.pass_context
def directory_test(ctx: click.Context, name: str, as_json: bool) -> None:
    """Check each step of reaching a directory and exit 8 when a step failed: TCP, TLS and
    its certificate, signing in (a bind, or the app's token), the rights credsync needs
    (search, reset passwords; an app's permissions and directory role), reading users. A
    failed step says what is missing in the directory's own words.

    \b
    Example:
      credsync directory test contoso-ad
    """
    tested = runtime(ctx).ports.directories.test(name)
    rows = tested["steps"]
    emit(
        tested,
        as_json,
        lambda: table(rows, [("step", "Step"), ("outcome", "Outcome"), ("detail", "Detail")],
                      max_width=200),
    )  # fmt: skip
    failed = [r for r in rows if r["outcome"] == "failed"]
    if failed:
        raise ConnectorError(f"directory {name}: step {failed[0]['step']} failed")


# ``credsync directory auto-create`` lives in a module of its own.
from credsync.cli.commands.auto_create import directory_auto_create  # noqa: E402

directory_group.add_command(directory_auto_create)
