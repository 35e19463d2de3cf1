"""directory commands: add, list, show, set, test, remove."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from credsync.cli.output import details, emit, json_option, note, table
from credsync.cli.remote import path_of
from credsync.cli.runtime import Runtime, confirm, runtime
from credsync.errors import ConnectorError, InvalidInput

if TYPE_CHECKING:
    from credsync.connectors.base import TestStep

DIRECTORY_FIELDS = [
    ("id", "Id"),
    ("name", "Name"),
    ("client", "Client"),
    ("kind", "Kind"),
    ("url", "URL"),
    ("base_dn", "Base DN"),
    ("tenant_id", "Tenant"),
    ("app_id", "Client (app) id"),
    ("authority", "Authority"),
    ("bind_kind", "App credential"),
    ("bind_credential_id", "Bind credential"),
    ("ca", "CA"),
    ("tls_server_name", "TLS server name"),
    ("insecure_skip_verify", "Skip TLS verification"),
    ("options", "Options"),
    ("incremental", "Incremental cursor"),
    ("full_pass_at", "Last full pass"),
    ("account_count", "Accounts (last full pass)"),
    ("failures", "Failed runs in a row"),
    ("version", "Version"),
]
LIST_COLUMNS = [
    ("name", "Name"),
    ("client", "Client"),
    ("kind", "Kind"),
    ("url", "URL"),
    ("account_count", "Accounts"),
    ("full_pass_at", "Last full pass"),
    ("id", "Id"),
]
KIND = click.Choice(["active-directory", "active_directory", "entra", "entra-id", "azure-ad"])


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


def _app_credential(
    bind: str | None, certificate: str | None, secret: str | None, *, required: bool
) -> tuple[str | None, str | None]:
    """(credential id, bind kind) from --bind-credential / --certificate-credential /
    --secret-credential: at most one of them."""
    given = [(v, k) for v, k in ((bind, None), (certificate, "certificate"), (secret, "secret"))
             if v]  # fmt: skip
    if len(given) > 1:
        raise InvalidInput(
            "give one of --bind-credential, --certificate-credential, --secret-credential"
        )
    if not given:
        if required:
            raise InvalidInput(
                "give the credential to sign in with: --bind-credential (Active Directory), "
                "--certificate-credential or --secret-credential (Entra)"
            )
        return None, None
    return given[0]


def _entra_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The Entra connection options, for add and set."""
    for name, text in reversed(
        [
            ("--tenant-id", "Entra: the tenant id (GUID) or a domain of the tenant."),
            ("--client-id", "Entra: the application (client) id of the app registration."),
            (
                "--certificate-credential",
                "Entra: id of the directory_admin credential holding the app's certificate "
                "and private key (PEM).",
            ),
            (
                "--secret-credential",
                "Entra: id of the directory_admin credential holding the app's client secret.",
            ),
            ("--authority", "Entra: the identity platform (default Microsoft's global cloud)."),
        ]
    ):
        func = click.option(name, help=text)(func)
    return func


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


def _trust_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--ca-file and --tls-server-name, for add and set."""
    func = click.option(
        "--tls-server-name", help="The name the DC's certificate carries (connecting by IP)."
    )(func)
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


_API_CREDENTIAL = {None: "bind_credential", "certificate": "certificate_credential",
                   "secret": "secret_credential"}  # fmt: skip


def _api_connection(
    url: str | None,
    base_dn: str | None,
    bind: str | None,
    bind_kind: str | None,
    tenant_id: str | None,
    client_id: str | None,
    authority: str | None,
    ca_pem: str | None,
    tls_server_name: str | None,
    options: dict[str, int],
) -> dict[str, Any]:
    """The connection fields add and set send to the API, only those given (the API, like
    the vault, leaves the others as they are)."""
    given = {
        "url": url,
        "base_dn": base_dn,
        _API_CREDENTIAL[bind_kind]: bind,
        "tenant_id": tenant_id,
        "app_id": client_id,
        "authority": authority,
        "ca_pem": ca_pem,
        "tls_server_name": tls_server_name,
        "options": options or None,
    }
    return {key: value for key, value in given.items() if value is not None}


# Fields that mean nothing for the other kind, left out of the human view (JSON keeps them).
_AD_ONLY = {"base_dn", "tls_server_name"}
_ENTRA_ONLY = {"tenant_id", "app_id", "authority", "bind_kind"}


def _show(data: dict[str, object], as_json: bool) -> None:
    hidden = _AD_ONLY if data.get("kind") == "entra" else _ENTRA_ONLY
    fields = [(key, label) for key, label in DIRECTORY_FIELDS if key not in hidden]
    emit(data, as_json, lambda: details(data, fields))


@click.group("directory")
def directory_group() -> None:
    """Directories: the connections to the directory services a client's accounts live in.

    A NAME argument is a directory's name (any case) or id; names are unique in the vault.
    """


@directory_group.command("add")
@click.argument("client")
@click.argument("name")
@click.option("--kind", type=KIND, required=True, help="The directory service.")
@click.option(
    "--url",
    help="AD: ldaps://HOST[:PORT] or ldap://HOST[:PORT] (StartTLS). Entra: the Graph endpoint "
    "(default https://graph.microsoft.com).",
)
@click.option("--base-dn", help="AD: where the accounts are, e.g. DC=contoso,DC=com.")
@click.option("--bind-credential", help="AD: id of the directory_admin credential to bind as.")
@_entra_options
@_trust_options
@click.option("--insecure-skip-verify", is_flag=True, help="Do not check the certificate (unsafe).")
@_tuning_options
@json_option
@click.pass_context
def directory_add(
    ctx: click.Context,
    client: str,
    name: str,
    kind: str,
    url: str | None,
    base_dn: str | None,
    bind_credential: str | None,
    tenant_id: str | None,
    client_id: str | None,
    certificate_credential: str | None,
    secret_credential: str | None,
    authority: str | None,
    ca_file: str | None,
    tls_server_name: str | None,
    insecure_skip_verify: bool,
    interval: int | None,
    push_cap: int | None,
    raw_options: tuple[str, ...],
    as_json: bool,
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
    bind, bind_kind = _app_credential(
        bind_credential, certificate_credential, secret_credential, required=True
    )
    if rt.remote is not None:
        from credsync.vault.directories import clean_kind

        body = {
            "client": client,
            "name": name,
            "kind": clean_kind(kind),
            "insecure_skip_verify": insecure_skip_verify,
            **_api_connection(
                url, base_dn, bind, bind_kind, tenant_id, client_id, authority,
                _read_ca(ca_file), tls_server_name, _options(interval, push_cap, raw_options),
            ),
        }  # fmt: skip
        _show(rt.remote.post("/directories", body), as_json)
        return
    directory = rt.vault.directories.add(
        rt.actor,
        client,
        name,
        kind=kind,
        url=url,
        base_dn=base_dn,
        bind_credential=bind or "",
        tenant_id=tenant_id,
        app_id=client_id,
        authority=authority,
        bind_kind=bind_kind,
        ca_pem=_read_ca(ca_file),
        tls_server_name=tls_server_name,
        insecure_skip_verify=insecure_skip_verify,
        options=_options(interval, push_cap, raw_options),
    )
    _show(directory.to_json(), as_json)


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
    rt = runtime(ctx)
    if rt.remote is not None:
        rows = rt.remote.get("/directories", client=client)
    else:
        rows = [d.to_json() for d in rt.vault.directories.list(rt.actor, client)]
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
    rt = runtime(ctx)
    if rt.remote is not None:
        _show(rt.remote.get(path_of("directories", name)), as_json)
        return
    _show(rt.vault.directories.get(rt.actor, name).to_json(), as_json)


@directory_group.command("set")
@click.argument("name")
@click.option("--url")
@click.option("--base-dn")
@click.option("--bind-credential")
@_entra_options
@_trust_options
@click.option(
    "--no-ca", is_flag=True, help="Remove the directory's CA: trust the system's CAs again."
)
@click.option("--insecure-skip-verify", type=click.Choice(["on", "off"]))
@_tuning_options
@json_option
@click.pass_context
def directory_set(
    ctx: click.Context,
    name: str,
    url: str | None,
    base_dn: str | None,
    bind_credential: str | None,
    tenant_id: str | None,
    client_id: str | None,
    certificate_credential: str | None,
    secret_credential: str | None,
    authority: str | None,
    ca_file: str | None,
    tls_server_name: str | None,
    no_ca: bool,
    insecure_skip_verify: str | None,
    interval: int | None,
    push_cap: int | None,
    raw_options: tuple[str, ...],
    as_json: bool,
) -> None:
    """Change a directory's connection or options.

    \b
    Examples:
      credsync directory set contoso-ad --push-cap 2000
      credsync directory set contoso-ad --option min_account_ratio=30
      credsync directory set contoso-365 --option never_expires=1
      credsync directory set contoso-ad --no-ca
    """
    rt = runtime(ctx)
    ca_pem = _ca_change(ca_file, no_ca)
    skip = None if insecure_skip_verify is None else insecure_skip_verify == "on"
    _warn_insecure(bool(skip))
    bind, bind_kind = _app_credential(
        bind_credential, certificate_credential, secret_credential, required=False
    )
    if rt.remote is not None:
        body = _api_connection(
            url, base_dn, bind, bind_kind, tenant_id, client_id, authority, ca_pem,
            tls_server_name, _options(interval, push_cap, raw_options),
        )  # fmt: skip
        if skip is not None:
            body["insecure_skip_verify"] = skip
        _show(rt.remote.patch(path_of("directories", name), body), as_json)
        return
    directory = rt.vault.directories.update(
        rt.actor,
        name,
        url=url,
        base_dn=base_dn,
        bind_credential=bind,
        tenant_id=tenant_id,
        app_id=client_id,
        authority=authority,
        bind_kind=bind_kind,
        ca_pem=ca_pem,
        tls_server_name=tls_server_name,
        insecure_skip_verify=skip,
        options=_options(interval, push_cap, raw_options),
    )
    _show(directory.to_json(), as_json)


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
    if rt.remote is not None:
        data = rt.remote.delete(path_of("directories", name))
    else:
        data = rt.vault.directories.remove(rt.actor, name).to_json()
    emit(data, as_json, f"Directory {data['name']} removed.")


@directory_group.command("test")
@click.argument("name")
@json_option
@click.pass_context
def directory_test(ctx: click.Context, name: str, as_json: bool) -> None:
    """Check each step of reaching a directory and exit 8 when a step failed. AD: TCP, TLS
    and its certificate, bind, search rights, the right to reset passwords. Entra: TCP, TLS,
    the app's token, its permissions and its directory role (naming what is missing), reading
    users.

    \b
    Example:
      credsync directory test contoso-ad
    """
    rt = runtime(ctx)
    if rt.remote is not None:
        rows = rt.remote.post(path_of("directories", name, "test"))["steps"]
    else:
        steps = asyncio.run(_test(rt, name))
        rows = [{"step": s.name, "outcome": s.outcome.value, "detail": s.detail} for s in steps]
    emit(
        {"directory": name, "ok": all(r["outcome"] != "failed" for r in rows), "steps": rows},
        as_json,
        lambda: table(rows, [("step", "Step"), ("outcome", "Outcome"), ("detail", "Detail")],
                      max_width=200),
    )  # fmt: skip
    failed = [r for r in rows if r["outcome"] == "failed"]
    if failed:
        raise ConnectorError(f"directory {name}: step {failed[0]['step']} failed")


async def _test(rt: Runtime, name: str) -> list[TestStep]:
    from credsync.sync.engine import Engine

    connector = Engine(rt.vault, rt.keys, rt.actor).connect(name)
    try:
        return await connector.test_connection()
    finally:
        await connector.close()
