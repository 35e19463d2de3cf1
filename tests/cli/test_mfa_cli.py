"""Multi-factor sign-in on the command line: `operator mfa enroll` prints the secret and its
URI once (`--json`: secret, uri), `confirm` the recovery codes; password sign-in then needs
CREDSYNC_OPERATOR_OTP (never logged); an operator who must use MFA may sign in with the
password only to enrol; `operator mfa reset` is an admin's and audited."""

from __future__ import annotations

import time

import pyotp


def code(secret: str, offset: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30 * offset)


def enrol(cli) -> tuple[str, list[str]]:
    started = cli.json("operator", "mfa", "enroll")
    assert set(started) == {"operator", "secret", "uri"}
    assert started["uri"].startswith("otpauth://totp/credsync:")
    assert f"secret={started['secret']}" in started["uri"]
    done = cli.json("operator", "mfa", "confirm", code(started["secret"]))
    assert len(done["recovery_codes"]) == 10
    return started["secret"], done["recovery_codes"]


def test_enrol_then_password_sign_in_needs_the_code(cli) -> None:
    text = cli.ok("operator", "mfa", "enroll")
    assert "Secret: " in text.out
    assert "URI:    otpauth://" in text.out
    assert "credsync operator mfa confirm CODE" in text.err
    secret, codes = enrol(cli)  # a new pending secret replaces the first
    missing = cli.fails(3, "whoami")
    assert "second factor" in missing
    assert "CREDSYNC_OPERATOR_OTP" in missing
    assert cli.fails(
        3,
        "whoami",
        env={"CREDSYNC_OPERATOR_OTP": "000000" if code(secret, 1) != "000000" else "999999"},
    )
    signed = cli.json("whoami", env={"CREDSYNC_OPERATOR_OTP": code(secret, 1)})
    assert signed["operator"] == cli.admin
    assert signed["mfa"] is True
    # a recovery code works once
    assert cli.ok("whoami", env={"CREDSYNC_OPERATOR_OTP": codes[0]}).code == 0
    assert "wrong or was already used" in cli.fails(
        3, "whoami", env={"CREDSYNC_OPERATOR_OTP": codes[0]}
    )
    status = cli.json("operator", "mfa", "status", env={"CREDSYNC_OPERATOR_OTP": codes[1]})
    assert status == {
        "operator": cli.admin,
        "mfa": "on",
        "totp": "on",
        "security_keys": [],
        "required": False,
        "recovery_codes_left": 8,
    }
    log = (cli.home / "logs" / "credsync.log").read_text()
    assert secret not in log
    for c in codes[:2]:
        assert c not in log


def test_a_session_opened_with_mfa_creates_tokens_a_password_alone_does_not(cli) -> None:
    secret, _ = enrol(cli)
    session = cli.ok("unlock", "--raw", env={"CREDSYNC_OPERATOR_OTP": code(secret, 1)}).out.strip()
    made = cli.json("token", "create", "script", env={"CREDSYNC_SESSION": session}, only=True)
    token = made["token"]
    by_token = cli.fails(3, "token", "create", "again", env={"CREDSYNC_TOKEN": token}, only=True)
    assert "API tokens are created only by a sign-in that passed it" in by_token
    assert cli.json("whoami", env={"CREDSYNC_TOKEN": token}, only=True)["via"] == "token"


def test_required_but_not_enrolled_may_sign_in_only_to_enrol(cli) -> None:
    cli.ok("operator", "add", "bob", "--role", "technician", "--password-stdin",
           stdin="bob-cli-password-1234\n")  # fmt: skip
    cli.json("mfa", "require", "--role", "technician")
    bob = {"CREDSYNC_OPERATOR": "bob", "CREDSYNC_OPERATOR_PASSWORD": "bob-cli-password-1234"}
    refused = cli.fails(3, "client", "list", env=bob)
    assert "credsync operator mfa enroll" in refused
    started = cli.json("operator", "mfa", "enroll", env=bob)
    cli.json("operator", "mfa", "confirm", code(started["secret"]), env=bob)
    assert cli.ok(
        "client", "list", env={**bob, "CREDSYNC_OPERATOR_OTP": code(started["secret"], 1)}
    )
    assert cli.json("operator", "mfa", "status", "bob")["required"] is True
    # an admin's reset: bob is back to enrolling; audited
    assert cli.json("operator", "mfa", "reset", "bob") == {"operator": "bob", "sessions_ended": 0}
    assert "credsync operator mfa enroll" in cli.fails(3, "client", "list", env=bob)
    entries = cli.json("audit", "--action", "operator.mfa_reset")
    assert entries[0]["details"]["name"] == "bob"
    assert started["secret"] not in str(cli.json("audit", "--limit", "50"))
    assert cli.json("mfa", "show") == {"vault": False, "roles": ["technician"]}


def test_status_lists_security_keys_and_reset_removes_them(cli) -> None:
    """Keys are added on the dashboard (a browser's ceremony); the CLI shows their names and
    dates, never key material, says a key-only operator signs in on the dashboard, and an
    admin's reset removes them."""
    from credsync.crypto.webauthn import RelyingParty
    from credsync.storage import Database
    from credsync.types import Secret
    from credsync.vault import Vault
    from vault.soft_key import SoftKey, b64u

    cli.ok("operator", "add", "bob", "--role", "technician", "--password-stdin",
           stdin="bob-cli-password-1234\n")  # fmt: skip
    rp = RelyingParty("localhost", "http://localhost")
    key = SoftKey()
    db = Database(f"sqlite:///{cli.home / 'vault.db'}")
    try:
        vault = Vault.open(db)
        actor = vault.access.login_password("bob", Secret("bob-cli-password-1234"))
        options = vault.security_keys.registration_options(actor, rp)
        vault.security_keys.register(actor, rp, "Desk key", key.create(options))
    finally:
        db.dispose()
    shown = cli.json("operator", "mfa", "status", "bob")
    assert (shown["mfa"], shown["totp"]) == ("on", "off")
    assert [k["name"] for k in shown["security_keys"]] == ["Desk key"]
    assert shown["security_keys"][0]["last_used_at"] is None
    text = cli.ok("operator", "mfa", "status", "bob").out
    assert "Security keys: 1" in text
    assert "Desk key (added " in text
    assert "last used never" in text
    assert b64u(key.credential_id) not in text + str(shown)
    bob = {"CREDSYNC_OPERATOR": "bob", "CREDSYNC_OPERATOR_PASSWORD": "bob-cli-password-1234"}
    assert "sign in on the dashboard" in cli.fails(3, "client", "list", env=bob)
    cli.json("operator", "mfa", "reset", "bob")
    after = cli.json("operator", "mfa", "status", "bob")
    assert (after["mfa"], after["security_keys"]) == ("off", [])
    entries = cli.json("audit", "--action", "operator.mfa_reset")
    assert entries[0]["details"]["security_keys"] == 1
