"""``credsync capture key|enroll|list|revoke``: the vault's side of capture (a directory's
capture key, the forwarders enrolled for it). Each works on a local vault and through
``--server`` alike (the capture port)."""

from __future__ import annotations

import click

from credsync.cli.output import details, emit, json_option, note, table, when
from credsync.cli.runtime import runtime

__all__ = ["enroll_cmd", "key_cmd", "list_cmd", "revoke_cmd"]

FORWARDER_COLUMNS = [
    ("id", "Id"),
    ("directory", "Directory"),
    ("name", "Name"),
    ("enrolled_at", "Enrolled"),
    ("last_seq", "Last seq"),
    ("last_seen_at", "Last seen"),
    ("revoked_at", "Revoked"),
]


@click.command("key")
@click.argument("directory")
@json_option
@click.pass_context
def key_cmd(ctx: click.Context, directory: str, as_json: bool) -> None:
    """Print DIRECTORY's capture key: its fingerprint and ASCII-armoured public key, to
    install on the directory's DCs (the key is made on first ask; its secret part never
    leaves the vault). Needs directory.setup.

    \b
    Examples:
      credsync capture key contoso-ad --json
      credsync capture key contoso-ad
    """
    data = runtime(ctx).ports.capture.key(directory)
    if not as_json:
        note(f"fingerprint {data['fingerprint']} (smb.conf: password hash gpg key ids)")
    emit(data, as_json, data["public_key"].rstrip("\n"))


@click.command("enroll")
@click.argument("directory")
@click.option("--name", help="A name to know the forwarder by (e.g. the DC's host name).")
@json_option
@click.pass_context
def enroll_cmd(ctx: click.Context, directory: str, name: str | None, as_json: bool) -> None:
    """Enrol a forwarder for DIRECTORY: prints its id and token, this once (the vault keeps
    only the token's public key). Give both to `credsync capture samba` on the DC. Needs
    directory.setup.

    \b
    Example:
      credsync capture enroll contoso-ad --name dc1 --json
    """
    data = runtime(ctx).ports.capture.enroll(directory, name)
    emit(
        data,
        as_json,
        lambda: (
            details(
                data,
                [("forwarder_id", "Forwarder"), ("directory", "Directory"), ("token", "Token")],
            )
            + "\nThe token is shown this once: keep it on the DC only."
        ),
    )


@click.command("list")
@click.option("--directory", help="Only this directory's forwarders (name or id).")
@json_option
@click.pass_context
def list_cmd(ctx: click.Context, directory: str | None, as_json: bool) -> None:
    """List enrolled forwarders (revoked ones too), with the last batch each delivered; a
    remote agent's captures of a directory show as the forwarder "agent NAME". Needs
    directory.setup.

    \b
    Example:
      credsync capture list --directory contoso-ad
    """
    rows = runtime(ctx).ports.capture.list(directory)
    shown = [
        {
            **r,
            "enrolled_at": when(r["enrolled_at"]),
            "last_seen_at": when(r["last_seen_at"]),
            "revoked_at": when(r["revoked_at"]) if r["revoked_at"] else "",
        }
        for r in rows
    ]
    emit(
        rows,
        as_json,
        lambda: table(shown, FORWARDER_COLUMNS, max_width=40) if rows else "No forwarders.",
    )


@click.command("revoke")
@click.argument("forwarder_id")
@json_option
@click.pass_context
def revoke_cmd(ctx: click.Context, forwarder_id: str, as_json: bool) -> None:
    """Revoke a forwarder: its token stops working at once (its next batch is refused).
    Needs directory.setup.

    \b
    Example:
      credsync capture revoke 0b5e0c1e-9d3c-4f55-9a41-6a4a5a1d7c11
    """
    data = runtime(ctx).ports.capture.revoke(forwarder_id)
    emit(data, as_json, f"Forwarder {data['id']} ({data['name']}) of {data['directory']} revoked.")
