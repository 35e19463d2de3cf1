"""init, unlock, lock, whoami, key rotate, db."""

from __future__ import annotations

import datetime as dt
import re

import click

from credsync.cli.output import details, emit, json_option, note
from credsync.cli.runtime import interactive, read_secret, runtime
from credsync.errors import AlreadyExists, ConfigError, InvalidInput
from credsync.types import Secret

_DURATION = re.compile(r"^(\d+)([smhd])$")


def parse_duration(text: str) -> dt.timedelta:
    match = _DURATION.match(text.strip().lower())
    if not match:
        raise InvalidInput(f"duration {text!r} is not like 30m, 8h or 2d")
    amount, unit = int(match.group(1)), match.group(2)
    names = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
    return dt.timedelta(**{names[unit]: amount})


def _new_passphrase(rt_passphrase: Secret | None, from_stdin: bool, prompt: str) -> Secret:
    if from_stdin:
        return read_secret(prompt, from_stdin=True, what="passphrase", field="new_passphrase")
    if rt_passphrase is not None:
        return rt_passphrase
    if interactive():
        return read_secret(prompt, confirm=True, what="passphrase")
    raise InvalidInput("give the new passphrase on standard input (--new-passphrase-stdin)")


@click.command("init")
@click.option(
    "--admin", "admin_name", help="Name of the first admin operator (prompted if absent)."
)
@click.option("--kdf-time-cost", type=int, default=3, show_default=True, help="Argon2id passes.")
@click.option(
    "--kdf-memory-kib", type=int, default=65536, show_default=True, help="Argon2id memory (KiB)."
)
@click.option("--kdf-parallelism", type=int, default=4, show_default=True, help="Argon2id lanes.")
@json_option
@click.pass_context
def init_cmd(
    ctx: click.Context,
    admin_name: str | None,
    kdf_time_cost: int,
    kdf_memory_kib: int,
    kdf_parallelism: int,
    as_json: bool,
) -> None:
    """Create a vault: the master passphrase, the built-in roles and the first admin.

    \b
    Without a terminal, the passphrase comes from CREDSYNC_PASSPHRASE and the admin's
    password from CREDSYNC_ADMIN_PASSWORD.

    \b
    Examples:
      credsync init --admin alice
      CREDSYNC_PASSPHRASE=... CREDSYNC_ADMIN_PASSWORD=... credsync init --admin alice --json
    """
    from credsync.crypto import KdfParams
    from credsync.crypto.kdf import check_passphrase_strength
    from credsync.vault import Vault
    from credsync.vault.operators import check_operator_name, check_operator_password

    rt = runtime(ctx)
    if Vault.exists(rt.db):
        raise AlreadyExists(f"a vault already exists in {rt.db.safe_url}")
    params = KdfParams.new(
        time_cost=kdf_time_cost, memory_kib=kdf_memory_kib, parallelism=kdf_parallelism
    )
    # Each answer is checked as it comes (from the environment or a prompt), before the next
    # question: a passphrase too short is said before the admin's name is asked for.
    if rt.settings.passphrase is None and not interactive():
        raise ConfigError("set CREDSYNC_PASSPHRASE (no terminal to prompt for the passphrase)")
    passphrase = rt.settings.passphrase or read_secret(
        "New master passphrase", confirm=True, what="passphrase"
    )
    check_passphrase_strength(passphrase)
    if admin_name is None:
        if not interactive():
            raise ConfigError("give the first admin's name with --admin NAME")
        admin_name = str(click.prompt("First admin operator name", err=True))
    try:
        admin_name = check_operator_name(admin_name)
    except InvalidInput as err:
        raise InvalidInput(str(err), field="admin_name") from None
    if rt.settings.admin_password is None and not interactive():
        raise ConfigError("set CREDSYNC_ADMIN_PASSWORD (no terminal to prompt for it)")
    admin_password = rt.settings.admin_password or read_secret(
        f"Password for {admin_name}", confirm=True
    )
    check_operator_password(admin_password)
    vault, admin, _ = Vault.initialise(
        rt.db,
        passphrase=passphrase,
        admin_name=admin_name,
        admin_password=admin_password,
        kdf=params,
    )
    rt.set_vault(vault)
    data = {
        "home": str(rt.settings.home),
        "database": rt.db.safe_url,
        "admin": admin.to_json(),
        "kdf": {
            "algorithm": "argon2id",
            "time_cost": params.time_cost,
            "memory_kib": params.memory_kib,
            "parallelism": params.parallelism,
        },
    }
    emit(
        data,
        as_json,
        f"Vault created in {rt.db.safe_url}\nFirst admin: {admin.name}\n"
        "Keep the master passphrase safe: without it no secret can be read.",
    )


@click.command("unlock")
@click.option("--ttl", default="8h", show_default=True, help="How long the session lasts (max 7d).")
@click.option("--raw", is_flag=True, help="Print only the session value.")
@json_option
@click.pass_context
def unlock_cmd(ctx: click.Context, ttl: str, raw: bool, as_json: bool) -> None:
    """Open a session: derive the key once, then skip the derivation in later commands.

    Prints an `export CREDSYNC_SESSION=...` line. The session value is the only copy of the key
    that opens it; the vault stores only the master key sealed under it. `credsync lock` ends it.

    \b
    Examples:
      eval "$(credsync unlock)"
      export CREDSYNC_SESSION="$(credsync unlock --raw --ttl 30m)"
    """
    rt = runtime(ctx)
    actor = rt.actor
    kek = rt.keys.kek()
    info = rt.vault.access.create_session(actor, kek, parse_duration(ttl))
    token = info.token.reveal()
    if as_json:
        emit(
            {"session": token, "id": info.id, "expires_at": info.expires_at.isoformat()},
            True,
            "",
        )
    elif raw:
        click.echo(token)
    else:
        click.echo(f"export CREDSYNC_SESSION='{token}'")
        note(f"Session for {actor.name} until {info.expires_at:%Y-%m-%d %H:%M}Z.")


@click.command("lock")
@click.option("--all-sessions", is_flag=True, help="End every operator's sessions (admin).")
@click.pass_context
def lock_cmd(ctx: click.Context, all_sessions: bool) -> None:
    """End the current session (CREDSYNC_SESSION), or all of yours without one."""
    rt = runtime(ctx)
    ended = rt.vault.access.end_session(rt.actor, rt.settings.session, everyone=all_sessions)
    note(f"Ended {ended} session(s).")


@click.command("whoami")
@json_option
@click.pass_context
def whoami_cmd(ctx: click.Context, as_json: bool) -> None:
    """Show the operator, role, permissions and the vault in use."""
    rt = runtime(ctx)
    me = rt.ports.people.whoami()
    data = {
        **{k: v for k, v in me.items() if k != "database"},
        "home": str(rt.settings.home),
        "database": me["database"],
    }
    reach = data["clients"]
    shown = {
        **data,
        "clients": "all" if reach is None else ", ".join(c["name"] for c in reach) or "none",
        "mfa": "passed" if data["mfa"] else "not passed",
    }
    emit(
        data,
        as_json,
        lambda: details(
            shown,
            [
                ("operator", "Operator"),
                ("role", "Role"),
                ("permissions", "Permissions"),
                ("clients", "Clients"),
                ("via", "Signed in via"),
                ("mfa", "Second factor"),
                ("home", "Home"),
                ("database", "Database"),
            ],
        ),
    )


@click.group("key")
def key_group() -> None:
    """The master key."""


@key_group.command("rotate")
@click.option("--new-passphrase-stdin", is_flag=True, help="Read the new passphrase from stdin.")
@json_option
@click.pass_context
def key_rotate_cmd(ctx: click.Context, new_passphrase_stdin: bool, as_json: bool) -> None:
    """Change the master passphrase and re-wrap every client's data key (admin).

    Secrets are not re-encrypted. Every session ends. Without a terminal the new passphrase
    comes from standard input (--new-passphrase-stdin) or CREDSYNC_NEW_PASSPHRASE.

    \b
    Example:
      printf '%s\\n' "$NEW" | credsync key rotate --new-passphrase-stdin
    """
    rt = runtime(ctx)
    actor = rt.actor
    keys = rt.keys
    keys.kek()  # the current passphrase must open the vault before anything else
    new = _new_passphrase(rt.settings.new_passphrase, new_passphrase_stdin, "New master passphrase")
    count = rt.vault.rotate_key(actor, keys, new)
    emit(
        {"data_keys_rewrapped": count},
        as_json,
        f"Master key rotated: {count} data key(s) re-wrapped; all sessions ended.",
    )


@click.group("db")
def db_group() -> None:
    """The database schema."""


@db_group.command("status")
@json_option
@click.pass_context
def db_status_cmd(ctx: click.Context, as_json: bool) -> None:
    """Show the database and its schema revision."""
    from credsync.storage.database import SCHEMA_REVISION

    rt = runtime(ctx)
    current = rt.db.schema_revision()
    data = {"database": rt.db.safe_url, "revision": current, "required": SCHEMA_REVISION}
    emit(data, as_json, f"{rt.db.safe_url}: revision {current or 'none'} (needs {SCHEMA_REVISION})")


@db_group.command("upgrade")
@click.pass_context
def db_upgrade_cmd(ctx: click.Context) -> None:
    """Migrate the schema to this version of credsync (back up first)."""
    rt = runtime(ctx)
    rt.db.upgrade()
    note(f"{rt.db.safe_url} is at the current schema revision.")
