"""The vault's mail server settings and a real send: settings checked field by field, the
password sealed and never shown back, STARTTLS verified against the given CA with a sign-in,
failures that name the server and what it said, and only admins (audited, denials too)."""

from __future__ import annotations

import pytest

from credsync.errors import InvalidInput, MailError, PermissionDenied
from credsync.storage import mail_settings
from credsync.testing.smtp import MailTrap
from credsync.types import Secret
from vault.helpers import VaultWorld, audit_of


def _plain(world: VaultWorld, trap: MailTrap) -> None:
    world.vault.mail.set(
        world.admin,
        world.keys,
        {
            "host": "127.0.0.1",
            "port": trap.port,
            "security": "none",
            "from_address": "Vault <vault@msp.test>",
            "public_url": "https://vault.msp.test/",
        },
    )


def test_a_test_message_arrives_through_a_plain_local_server(
    world: VaultWorld, mail_trap: MailTrap
) -> None:
    """On SQLite and PostgreSQL."""
    _plain(world, mail_trap)
    shown = world.vault.mail.show(world.admin)
    assert shown["public_url"] == "https://vault.msp.test"
    assert shown["has_password"] is False
    said = world.vault.mail.test(world.admin, world.keys, "ops@msp.test")
    assert f"127.0.0.1:{mail_trap.port}" in said
    [got] = mail_trap.wait_for(1)
    assert got.recipients == ("ops@msp.test",)
    assert got.sender == "vault@msp.test"
    assert "https://vault.msp.test" in got.text
    assert audit_of(world, "mail.test")[0].details["ok"] is True


def test_starttls_with_the_given_ca_and_a_sign_in(
    sqlite_world: VaultWorld, mail_trap_tls: MailTrap
) -> None:
    world, trap = sqlite_world, mail_trap_tls
    given = {
        "host": "127.0.0.1",
        "port": trap.port,
        "security": "starttls",
        "username": "mailer",
        "password": Secret("smtp-pass-Q7"),
        "from_address": "vault@msp.test",
        "public_url": "https://vault.msp.test",
    }
    world.vault.mail.set(world.admin, world.keys, {**given, "ca_pem": trap.ca_pem})  # type: ignore[typeddict-item]
    world.vault.mail.test(world.admin, world.keys, "ops@msp.test")
    assert len(trap.wait_for(1)) == 1
    shown = world.vault.mail.show(world.admin)
    assert shown["has_password"] is True
    assert "smtp-pass-Q7" not in repr(shown)
    with world.db.read() as conn:
        row = mail_settings.get(conn)
    assert row is not None
    assert row.password_ct is not None
    assert b"smtp-pass-Q7" not in row.password_ct
    assert "password_ct" not in repr(row)
    assert "smtp-pass-Q7" not in str(audit_of(world, "mail.set")[0].details)
    # A wrong password: the server's refusal, quoted, never the password.
    world.vault.mail.set(world.admin, world.keys, {"password": Secret("wrong-pass-Q7")})
    with pytest.raises(MailError, match="refused the sign-in of 'mailer': 535") as caught:
        world.vault.mail.test(world.admin, world.keys, "ops@msp.test")
    assert "wrong-pass" not in str(caught.value)
    # Without the CA the server's certificate is not trusted: said so, nothing sent.
    world.vault.mail.set(
        world.admin, world.keys, {"ca_pem": "", "password": Secret("smtp-pass-Q7")}
    )
    with pytest.raises(MailError, match=r"127\.0\.0\.1:\d+: its TLS certificate is not trusted"):
        world.vault.mail.test(world.admin, world.keys, "ops@msp.test")
    assert len(trap.messages) == 1
    failed = audit_of(world, "mail.test")[0].details
    assert failed["ok"] is False
    assert "not trusted" in failed["error"]


def test_a_refused_recipient_and_an_absent_server_are_named(
    sqlite_world: VaultWorld, mail_trap: MailTrap
) -> None:
    world = sqlite_world
    _plain(world, mail_trap)
    mail_trap.refuse.add("nobody@msp.test")
    with pytest.raises(MailError, match=r"refused the recipient 'nobody@msp\.test': 550"):
        world.vault.mail.test(world.admin, world.keys, "nobody@msp.test")
    port = mail_trap.port
    mail_trap.stop()
    with pytest.raises(MailError, match=rf"mail server 127\.0\.0\.1:{port} could not be reached"):
        world.vault.mail.test(world.admin, world.keys, "ops@msp.test")


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"security": "none", "host": "smtp.example.com"}, "security"),
        ({"security": "ssl"}, "security"),
        ({"port": 70000}, "port"),
        ({"from_address": "not an address"}, "from_address"),
        ({"public_url": "ftp://vault"}, "public_url"),
        ({"invite_days": 0}, "invite_days"),
        ({"ca_pem": "nonsense"}, "ca_pem"),
        ({"username": "", "password": Secret("x-pass")}, "password"),
    ],
)
def test_bad_settings_name_their_field(
    sqlite_world: VaultWorld, given: dict[str, object], field: str
) -> None:
    base = {
        "host": "127.0.0.1",
        "security": "starttls",
        "from_address": "vault@msp.test",
        "public_url": "https://vault.msp.test",
    }
    with pytest.raises(InvalidInput) as caught:
        sqlite_world.vault.mail.set(sqlite_world.admin, sqlite_world.keys, {**base, **given})  # type: ignore[typeddict-item]
    assert caught.value.field == field
    assert not sqlite_world.vault.mail.configured()


def test_plain_to_another_host_only_when_allowed_explicitly(sqlite_world: VaultWorld) -> None:
    world = sqlite_world
    shown = world.vault.mail.set(
        world.admin,
        world.keys,
        {"host": "smtp.example.com", "security": "none", "allow_plain": True,
         "from_address": "vault@msp.test", "public_url": "https://vault.msp.test"},
    )  # fmt: skip
    assert (shown["port"], shown["allow_plain"]) == (25, True)
    assert audit_of(world, "mail.set")[0].details["allow_plain"] is True


def test_only_admins_see_and_change_the_mail_settings(sqlite_world: VaultWorld) -> None:
    world = sqlite_world
    operator = world.operator("bob", "directory_manager")
    with pytest.raises(PermissionDenied):
        world.vault.mail.set(operator, world.keys, {"host": "127.0.0.1"})
    with pytest.raises(PermissionDenied):
        world.vault.mail.show(operator)
    with pytest.raises(PermissionDenied):
        world.vault.mail.test(operator, world.keys, "ops@msp.test")


def test_the_mail_password_survives_a_master_key_rotation(
    sqlite_world: VaultWorld, mail_trap_tls: MailTrap
) -> None:
    from credsync.vault import KeyRing

    world, trap = sqlite_world, mail_trap_tls
    world.vault.mail.set(world.admin, world.keys, {
        "host": "127.0.0.1", "port": trap.port, "security": "starttls", "ca_pem": trap.ca_pem,
        "username": "mailer", "password": Secret("smtp-pass-Q7"),
        "from_address": "vault@msp.test", "public_url": "https://vault.msp.test",
    })  # fmt: skip
    new = Secret("another correct horse battery staple")
    world.vault.rotate_key(world.admin, world.keys, new)
    keys = KeyRing.of(world.vault.unlock(new))
    world.vault.mail.test(world.admin, keys, "ops@msp.test")
    assert len(trap.wait_for(1)) == 1
