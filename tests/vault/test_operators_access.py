"""Operators, roles, sign-in by password, API tokens and CLI sessions."""

from __future__ import annotations

import base64
import datetime as dt
import time

import pytest
import sqlalchemy as sa

from credsync.errors import (
    AlreadyExists,
    AuthenticationFailed,
    InvalidInput,
    NotFound,
    PermissionDenied,
    WrongPassphrase,
)
from credsync.storage.tables import api_tokens, audit_log, cli_sessions, operators
from credsync.types import Secret
from credsync.vault import SYSTEM, KeyRing
from credsync.vault._time import utcnow

from .helpers import ADMIN_PASSWORD, PASSPHRASE, add_cred, audit_of, fast_kdf


def table_text(world, table) -> str:
    """Every value of every row of ``table``, as one string to search in."""
    with world.db.read() as conn:
        rows = conn.execute(sa.select(table)).all()
    return "\n".join(repr(tuple(row)) for row in rows)


def wait_until(moment: dt.datetime) -> None:
    """Sleep until ``moment`` has passed (a real wait, no clock games)."""
    while utcnow() <= moment:
        time.sleep(max(0.01, (moment - utcnow()).total_seconds() + 0.05))


# -- operators ---------------------------------------------------------------------------------
def test_add_list_and_show_operators(world):
    bob = world.vault.operators.add(world.admin, "Bob", Secret("bob-password-1234"), "technician")

    assert (bob.name, bob.role, bob.disabled_at, bob.last_login_at) == (
        "Bob",
        "technician",
        None,
        None,
    )
    listed = world.vault.operators.list(world.admin)
    assert [(o.name, o.role) for o in listed] == [("alice", "admin"), ("Bob", "technician")]
    assert world.vault.operators.get(world.admin, "bob").id == bob.id
    [entry] = audit_of(world, "operator.add", bob.id)
    assert entry.details == {"name": "Bob", "role": "technician"}

    actor = world.vault.access.login_password("BOB", Secret("bob-password-1234"))
    assert (actor.name, actor.role, actor.via) == ("Bob", "technician", "password")
    assert world.vault.operators.get(actor, "Bob").last_login_at is not None  # oneself: allowed
    with pytest.raises(PermissionDenied):
        world.vault.operators.get(actor, "alice")


def test_bad_operators_are_refused(world):
    ops = world.vault.operators
    with pytest.raises(AlreadyExists):
        ops.add(world.admin, "ALICE", Secret("other-password-1234"), "viewer")
    with pytest.raises(NotFound, match="no role named 'wizard'"):
        ops.add(world.admin, "carol", Secret("carol-password-1234"), "wizard")
    with pytest.raises(InvalidInput, match="at least 12"):
        ops.add(world.admin, "carol", Secret("short-pw"), "viewer")
    with pytest.raises(InvalidInput, match="too long"):
        ops.add(world.admin, "carol", Secret("p" * 1025), "viewer")
    for name in ("", "  ", "n" * 65, "ctl\x1bname"):
        with pytest.raises(InvalidInput):
            ops.add(world.admin, name, Secret("carol-password-1234"), "viewer")
    with pytest.raises(NotFound):
        ops.get(world.admin, "nobody")

    assert [o.name for o in ops.list(world.admin)] == ["alice"]
    assert len(audit_of(world, "operator.add")) == 1  # the admin made by init


def test_set_role_disable_and_enable_are_audited(world):
    bob = world.vault.operators.add(world.admin, "bob", Secret("bob-password-1234"), "viewer")

    assert world.vault.operators.set_role(world.admin, "bob", "auditor").role == "auditor"
    with pytest.raises(NotFound):
        world.vault.operators.set_role(world.admin, "bob", "wizard")
    assert world.vault.operators.set_disabled(world.admin, "bob", True).disabled_at is not None
    assert world.vault.operators.set_disabled(world.admin, bob.id, False).disabled_at is None

    [role_entry] = audit_of(world, "operator.role", bob.id)
    assert role_entry.details == {"name": "bob", "from": "viewer", "to": "auditor"}
    assert len(audit_of(world, "operator.disable", bob.id)) == 1
    assert len(audit_of(world, "operator.enable", bob.id)) == 1
    assert world.vault.operators.get(world.admin, "bob").role == "auditor"


def test_the_last_active_admin_cannot_be_demoted_or_disabled(world):
    ops = world.vault.operators
    for attempt in (
        lambda: ops.set_role(world.admin, "alice", "technician"),
        lambda: ops.set_disabled(world.admin, "alice", True),
    ):
        with pytest.raises(InvalidInput, match="last active admin"):
            attempt()

    # a disabled admin does not count
    ops.add(world.admin, "carol", Secret("carol-password-1234"), "admin")
    ops.set_disabled(world.admin, "carol", True)
    with pytest.raises(InvalidInput, match="last active admin"):
        ops.set_role(world.admin, "alice", "viewer")

    # with another active admin, alice may step down; then bob is the last one
    ops.add(world.admin, "bob", Secret("bob-password-1234"), "admin")
    assert ops.set_role(world.admin, "alice", "viewer").role == "viewer"
    bob = world.vault.access.login_password("bob", Secret("bob-password-1234"))
    with pytest.raises(InvalidInput, match="last active admin"):
        ops.set_disabled(bob, "bob", True)
    with pytest.raises(InvalidInput, match="last active admin"):
        ops.set_role(bob, "bob", "technician")
    assert ops.set_role(bob, "bob", "admin").role == "admin"  # staying admin is fine
    assert [(o.name, o.role, o.disabled_at is None) for o in ops.list(bob)] == [
        ("alice", "viewer", True),
        ("bob", "admin", True),
        ("carol", "admin", False),
    ]


def test_set_password_by_oneself_or_an_admin(world):
    bob = world.operator("bob", "viewer")
    world.vault.operators.add(world.admin, "carol", Secret("carol-password-1234"), "viewer")

    world.vault.operators.set_password(bob, "bob", Secret("bob-new-password-99"))
    with pytest.raises(PermissionDenied):
        world.vault.operators.set_password(bob, "carol", Secret("carol-hijacked-pw"))
    with pytest.raises(InvalidInput, match="at least 12"):
        world.vault.operators.set_password(bob, "bob", Secret("short"))
    world.vault.operators.set_password(world.admin, "carol", Secret("carol-reset-by-admin"))

    with pytest.raises(AuthenticationFailed):
        world.vault.access.login_password("bob", Secret("bob-password-1234"))
    assert world.vault.access.login_password("bob", Secret("bob-new-password-99")).name == "bob"
    assert world.vault.access.login_password("carol", Secret("carol-reset-by-admin"))
    assert [e.actor for e in audit_of(world, "operator.password")] == ["alice", "bob"]
    stored = table_text(world, operators) + table_text(world, audit_log)
    for plain in ("bob-new-password-99", "carol-reset-by-admin", ADMIN_PASSWORD):
        assert plain not in stored


# -- signing in --------------------------------------------------------------------------------
def test_wrong_password_and_unknown_name_fail_alike_and_are_audited(world):
    with pytest.raises(AuthenticationFailed) as wrong:
        world.vault.access.login_password("alice", Secret("not-the-password"))
    with pytest.raises(AuthenticationFailed) as unknown:
        world.vault.access.login_password("mallory", Secret("not-the-password"))

    assert str(wrong.value) == str(unknown.value) == "wrong operator name or password"
    known, unknown_entry = reversed(audit_of(world, "auth.failed"))
    assert (known.actor, known.target_id) == ("system", "alice")
    assert unknown_entry.actor == "system"
    assert known.details == unknown_entry.details
    # what was typed as a name is not recorded (people type passwords into name prompts)
    assert unknown_entry.target_id == "(unknown operator)"
    logged = table_text(world, audit_log)
    assert "mallory" not in logged
    assert "not-the-password" not in logged
    assert world.vault.audit.verify(world.admin).ok
    assert world.vault.access.login_password(" Alice ", Secret(ADMIN_PASSWORD)).name == "alice"


def test_a_disabled_operator_can_use_neither_password_nor_token_nor_session(world):
    bob = world.operator("bob", "technician")
    _, token = world.vault.access.create_token(bob, "script")
    session = world.vault.access.create_session(bob, world.keys.kek(), dt.timedelta(hours=1))
    web = world.vault.web_sessions.start("bob", Secret("bob-password-1234"))

    world.vault.operators.set_disabled(world.admin, "bob", True)

    with pytest.raises(AuthenticationFailed, match="disabled"):
        world.vault.access.login_password("bob", Secret("bob-password-1234"))
    with pytest.raises(AuthenticationFailed, match="disabled"):
        world.vault.access.login_token(token)
    with pytest.raises(AuthenticationFailed, match="ended"):
        world.vault.access.open_session(session.token)
    with pytest.raises(AuthenticationFailed, match="ended"):
        world.vault.web_sessions.resume(web.token)
    with pytest.raises(AuthenticationFailed, match="disabled"):  # nor a new one, with a token
        world.vault.access.create_session(bob, world.keys.kek(), dt.timedelta(hours=1))
    [entry] = audit_of(world, "operator.disable")
    assert entry.details == {"name": "bob", "sessions_ended": 2}

    # Enabled again: the password and the API token work, the sessions stay ended for good.
    world.vault.operators.set_disabled(world.admin, "bob", False)
    assert world.vault.access.login_password("bob", Secret("bob-password-1234")).name == "bob"
    assert world.vault.access.login_token(token).name == "bob"
    with pytest.raises(AuthenticationFailed, match="ended"):
        world.vault.access.open_session(session.token)
    with pytest.raises(AuthenticationFailed, match="ended"):
        world.vault.web_sessions.resume(web.token)
    with world.db.read() as conn:
        assert conn.execute(sa.select(cli_sessions.c.id)).all() == []  # the sealed key is gone


def test_a_password_change_ends_every_session_of_the_operator(world):
    bob = world.operator("bob", "technician")
    carol = world.operator("carol", "viewer")
    kek = world.keys.kek()
    bob_cli = [world.vault.access.create_session(bob, kek, dt.timedelta(hours=1)) for _ in range(2)]
    bob_web = world.vault.web_sessions.start("bob", Secret("bob-password-1234"))
    carol_cli = world.vault.access.create_session(carol, kek, dt.timedelta(hours=1))
    carol_web = world.vault.web_sessions.start("carol", Secret("carol-password-1234"))
    _, bob_token = world.vault.access.create_token(bob, "script")
    _, carol_token = world.vault.access.create_token(carol, "script")

    # Bob changes his own password (from one of his sessions): all three end.
    change = world.vault.operators.set_password(bob, "bob", Secret("bob-new-password-99"))

    assert change.to_json() == {
        "operator": "bob",
        "sessions_ended": 3,
        "tokens_revoked": 0,
        "tokens_left": 1,
    }
    for session in bob_cli:
        with pytest.raises(AuthenticationFailed, match="ended"):
            world.vault.access.open_session(session.token)
    with pytest.raises(AuthenticationFailed, match="ended"):
        world.vault.web_sessions.resume(bob_web.token)
    assert world.vault.access.login_token(bob_token).name == "bob"  # tokens: only when asked
    assert world.vault.access.open_session(carol_cli.token)[0].name == "carol"  # others: kept
    assert world.vault.web_sessions.resume(carol_web.token)[0].name == "carol"

    # An admin's reset may revoke the API tokens too.
    reset = world.vault.operators.set_password(
        world.admin, "carol", Secret("carol-reset-by-admin"), revoke_tokens=True
    )
    assert (reset.sessions_ended, reset.tokens_revoked, reset.tokens_left) == (2, 1, 0)
    with pytest.raises(AuthenticationFailed, match="revoked"):
        world.vault.access.login_token(carol_token)
    with pytest.raises(AuthenticationFailed, match="ended"):
        world.vault.access.open_session(carol_cli.token)
    assert [e.details for e in audit_of(world, "operator.password")] == [
        {"name": "carol", "sessions_ended": 2, "tokens_revoked": 1},
        {"name": "bob", "sessions_ended": 3, "tokens_revoked": 0},
    ]


def test_a_sign_in_checked_before_a_password_change_or_disable_starts_no_session(world):
    """The password is checked outside any transaction (it is slow); a change committed
    before the session is written must not leave a session made with the old password."""
    world.operator("bob", "technician")
    checked = world.vault.access.check_password("bob", Secret("bob-password-1234"))
    world.vault.operators.set_password(world.admin, "bob", Secret("bob-new-password-99"))
    with world.db.write() as conn, pytest.raises(AuthenticationFailed, match="wrong"):
        world.vault.access.signed_in(conn, checked)

    checked = world.vault.access.check_password("bob", Secret("bob-new-password-99"))
    world.vault.operators.set_disabled(world.admin, "bob", True)
    with world.db.write() as conn, pytest.raises(AuthenticationFailed, match="disabled"):
        world.vault.access.signed_in(conn, checked)


# -- API tokens --------------------------------------------------------------------------------
def test_tokens_sign_in_and_are_listed_and_revoked(world):
    bob = world.operator("bob", "technician")
    carol = world.operator("carol", "viewer")
    info, token = world.vault.access.create_token(bob, " nightly backup ")

    assert token.reveal().startswith("cst_")
    assert "cst_" not in repr(token)
    assert (info.name, info.operator, info.revoked_at, info.expires_at) == (
        "nightly backup",
        "bob",
        None,
        None,
    )
    actor = world.vault.access.login_token(token)
    assert (actor.name, actor.role, actor.via) == ("bob", "technician", "token")
    assert actor.permissions == bob.permissions

    [mine] = world.vault.access.list_tokens(bob)
    assert mine.id == info.id
    assert mine.last_used_at is not None
    assert world.vault.access.list_tokens(carol) == []
    with pytest.raises(PermissionDenied):
        world.vault.access.list_tokens(carol, everyone=True)
    assert [t.id for t in world.vault.access.list_tokens(world.admin, everyone=True)] == [info.id]
    with pytest.raises(PermissionDenied):
        world.vault.access.revoke_token(carol, info.id)
    with pytest.raises(PermissionDenied):
        world.vault.access.create_token(carol, "for bob", operator="bob")

    revoked = world.vault.access.revoke_token(bob, info.id)
    assert revoked.revoked_at is not None
    with pytest.raises(AuthenticationFailed, match="unknown or revoked"):
        world.vault.access.login_token(token)
    with pytest.raises(NotFound):
        world.vault.access.revoke_token(world.admin, "no-such-token")
    assert [e.details for e in audit_of(world, "token.create")] == [
        {"name": "nightly backup", "operator": "bob"}
    ]
    assert len(audit_of(world, "token.revoke", info.id)) == 1


def test_an_admin_may_make_and_revoke_tokens_for_others(world):
    world.operator("bob", "viewer")
    info, token = world.vault.access.create_token(world.admin, "for bob", operator="bob")

    assert info.operator == "bob"
    assert world.vault.access.login_token(token).name == "bob"
    world.vault.access.revoke_token(world.admin, info.id)
    with pytest.raises(AuthenticationFailed):
        world.vault.access.login_token(token)


def test_revoke_all_tokens_of_oneself_or_as_admin_of_another(world):
    bob = world.operator("bob", "technician")
    carol = world.operator("carol", "viewer")
    bob_tokens = [world.vault.access.create_token(bob, f"script {n}")[1] for n in range(2)]
    _, gone = world.vault.access.create_token(bob, "revoked already")
    world.vault.access.revoke_token(bob, world.vault.access.list_tokens(bob)[-1].id)
    _, carol_token = world.vault.access.create_token(carol, "carol's")

    with pytest.raises(PermissionDenied):
        world.vault.access.revoke_all_tokens(carol, "bob")
    done = world.vault.access.revoke_all_tokens(bob)

    assert done.to_json() == {"operator": "bob", "revoked": 2}
    for token in [*bob_tokens, gone]:
        with pytest.raises(AuthenticationFailed, match="revoked"):
            world.vault.access.login_token(token)
    assert world.vault.access.login_token(carol_token).name == "carol"
    assert world.vault.access.revoke_all_tokens(world.admin, "carol").revoked == 1
    with pytest.raises(AuthenticationFailed, match="revoked"):
        world.vault.access.login_token(carol_token)
    assert [(e.actor, e.details) for e in audit_of(world, "token.revoke_all")] == [
        ("alice", {"operator": "carol", "revoked": 1}),
        ("bob", {"operator": "bob", "revoked": 2}),
    ]


def test_bad_tokens_and_token_requests_are_refused(world):
    _, token = world.vault.access.create_token(world.admin, "real")
    raw = token.reveal()
    for bad in ("", "cst_", "cst_" + "A" * 43, raw[:-1], raw + "x", "Bearer " + raw, raw[4:]):
        with pytest.raises(AuthenticationFailed):
            world.vault.access.login_token(Secret(bad))
    for name in ("", "   ", "n" * 101):
        with pytest.raises(InvalidInput):
            world.vault.access.create_token(world.admin, name)
    for lifetime in (dt.timedelta(0), dt.timedelta(seconds=-5)):
        with pytest.raises(InvalidInput, match="positive"):
            world.vault.access.create_token(world.admin, "t", expires_in=lifetime)
    with pytest.raises(NotFound):
        world.vault.access.create_token(world.admin, "t", operator="nobody")
    assert len(world.vault.access.list_tokens(world.admin)) == 1


def test_tokens_expire(world):
    lasting, lasting_token = world.vault.access.create_token(
        world.admin, "lasting", expires_in=dt.timedelta(days=30)
    )
    short, short_token = world.vault.access.create_token(
        world.admin, "short", expires_in=dt.timedelta(seconds=1)
    )
    assert short.expires_at is not None
    assert short.created_at < short.expires_at <= short.created_at + dt.timedelta(seconds=1)

    wait_until(short.expires_at)

    with pytest.raises(AuthenticationFailed, match="'short' has expired"):
        world.vault.access.login_token(short_token)
    assert world.vault.access.login_token(lasting_token).name == "alice"
    assert lasting.expires_at > utcnow() + dt.timedelta(days=29)


def test_the_token_value_is_never_stored(world):
    tokens = [world.vault.access.create_token(world.admin, f"t{i}")[1] for i in range(3)]
    for token in tokens:
        world.vault.access.login_token(token)  # also records last use

    stored = table_text(world, api_tokens) + table_text(world, audit_log)
    for token in tokens:
        raw = token.reveal()
        assert raw not in stored
        assert raw[len("cst_") :] not in stored
        assert raw[4:24] not in stored  # not even a piece of it


# -- CLI sessions ------------------------------------------------------------------------------
def test_a_session_opens_the_vault_without_the_passphrase(world):
    client = world.vault.clients.add(world.admin, world.keys, "Contoso")
    cred = add_cred(world, client.name, "Via session", "Session-Pa55!")
    bob = world.operator("bob", "technician")

    session = world.vault.access.create_session(bob, world.keys.kek(), dt.timedelta(hours=8))

    raw = session.token.reveal()
    assert raw.startswith(f"css_{session.id}_")
    assert raw not in repr(session)
    assert session.expires_at > utcnow() + dt.timedelta(hours=7)
    actor, kek = world.vault.access.open_session(session.token)
    assert (actor.name, actor.via, actor.permissions) == ("bob", "session", bob.permissions)
    revealed = world.vault.credentials.reveal(actor, KeyRing.of(kek), cred.id)
    assert revealed.password == Secret("Session-Pa55!")
    assert raw[len(f"css_{session.id}_") :] not in table_text(world, cli_sessions)
    [entry] = audit_of(world, "session.create", session.id)
    assert entry.actor == "bob"

    assert world.vault.access.end_session(bob, session.token) == 1
    with pytest.raises(AuthenticationFailed, match="ended"):
        world.vault.access.open_session(session.token)
    assert len(audit_of(world, "session.end")) == 1


def test_garbled_sessions_fail_authentication(world):
    session = world.vault.access.create_session(
        world.admin, world.keys.kek(), dt.timedelta(hours=1)
    )
    raw = session.token.reveal()
    session_id, key = raw[len("css_") :].split("_", 1)
    other_key = base64.urlsafe_b64encode(bytes(32)).decode().rstrip("=")
    other_id = session_id[:-1] + ("0" if session_id[-1] != "0" else "1")
    garbled = {
        "empty": "",
        "prefix only": "css_",
        "no key": "css_nonsense",
        "no prefix": raw[4:],
        "key cut short": raw[:-3],
        "junk after the key": f"css_{session_id}_{key}!!",
        "key with a padding": f"css_{session_id}_{key}=",
        "key not base64": f"css_{session_id}_%%%%",
        "wrong key": f"css_{session_id}_{other_key}",
        "no such session": f"css_{other_id}_{key}",
        "token prefix": f"cst_{session_id}_{key}",
    }
    for label, text in garbled.items():
        with pytest.raises(AuthenticationFailed) as refused:
            world.vault.access.open_session(Secret(text))
        assert key not in str(refused.value), label
    assert world.vault.access.open_session(session.token)[0].name == "alice"


def test_session_lifetimes_are_bounded_and_sessions_expire(world):
    kek = world.keys.kek()
    for ttl in (dt.timedelta(0), dt.timedelta(seconds=-1), dt.timedelta(days=7, seconds=1)):
        with pytest.raises(InvalidInput, match="between"):
            world.vault.access.create_session(world.admin, kek, ttl)
    with pytest.raises(InvalidInput, match="operator"):
        world.vault.access.create_session(SYSTEM, kek, dt.timedelta(hours=1))

    short = world.vault.access.create_session(world.admin, kek, dt.timedelta(seconds=1))
    week = world.vault.access.create_session(world.admin, kek, dt.timedelta(days=7))
    wait_until(short.expires_at)

    with pytest.raises(AuthenticationFailed, match="expired"):
        world.vault.access.open_session(short.token)
    assert world.vault.access.open_session(week.token)[0].name == "alice"


def test_ending_sessions_of_oneself_or_everyone(world):
    bob = world.operator("bob", "technician")
    kek = world.keys.kek()
    bob_sessions = [
        world.vault.access.create_session(bob, kek, dt.timedelta(hours=1)) for _ in range(2)
    ]
    alice_session = world.vault.access.create_session(world.admin, kek, dt.timedelta(hours=1))

    # bob cannot end alice's session by presenting it, nor everyone's
    assert world.vault.access.end_session(bob, alice_session.token) == 0
    with pytest.raises(PermissionDenied):
        world.vault.access.end_session(bob, None, everyone=True)
    assert world.vault.access.open_session(alice_session.token)[0].name == "alice"

    assert world.vault.access.end_session(bob, None) == 2
    for session in bob_sessions:
        with pytest.raises(AuthenticationFailed):
            world.vault.access.open_session(session.token)
    assert world.vault.access.end_session(world.admin, None, everyone=True) == 1
    with pytest.raises(AuthenticationFailed):
        world.vault.access.open_session(alice_session.token)


def test_key_rotation_ends_sessions_and_changes_the_passphrase(world):
    client = world.vault.clients.add(world.admin, world.keys, "Contoso")
    cred = add_cred(world, client.name, "Survives rotation", "Rotate-Pa55!")
    session = world.vault.access.create_session(
        world.admin, world.keys.kek(), dt.timedelta(hours=1)
    )
    old_keys = KeyRing.of(world.keys.kek())

    rewrapped = world.vault.rotate_key(
        world.admin, old_keys, Secret("a brand new passphrase"), kdf=fast_kdf()
    )

    assert rewrapped == 1
    assert not old_keys.unlocked  # the old key is forgotten
    with pytest.raises(AuthenticationFailed, match="ended"):
        world.vault.access.open_session(session.token)
    with pytest.raises(WrongPassphrase):
        world.vault.unlock(Secret(PASSPHRASE))
    new_keys = KeyRing.of(world.vault.unlock(Secret("a brand new passphrase")))
    revealed = world.vault.credentials.reveal(world.admin, new_keys, cred.id)
    assert revealed.password == Secret("Rotate-Pa55!")
    [entry] = audit_of(world, "key.rotate")
    assert entry.details["data_keys"] == 1
    assert entry.details["sessions_ended"] == 1
    assert entry.details["key_generation"] == 2
    assert "brand new" not in table_text(world, audit_log)
    with pytest.raises(InvalidInput):
        world.vault.rotate_key(world.admin, new_keys, Secret("short"), kdf=fast_kdf())


# -- custom roles ------------------------------------------------------------------------------
def test_custom_roles_add_list_and_delete(world):
    role = world.vault.operators.add_role(
        world.admin,
        " Helpdesk ",
        ["vault.read", "secret.reveal", "vault.read"],
        "reads and reveals",
    )

    assert (role.name, role.permissions, role.builtin) == (
        "helpdesk",
        ("secret.reveal", "vault.read"),
        False,
    )
    listed = {r.name: r for r in world.vault.operators.roles(world.admin)}
    assert set(listed) == {
        "admin",
        "auditor",
        "directory_manager",
        "helpdesk",
        "technician",
        "viewer",
    }
    assert [n for n, r in listed.items() if not r.builtin] == ["helpdesk"]
    assert listed["helpdesk"].description == "reads and reveals"

    actor = world.operator("dora", "helpdesk")
    assert actor.permissions == {"vault.read", "secret.reveal"}
    with pytest.raises(InvalidInput, match="held by dora"):
        world.vault.operators.delete_role(world.admin, "helpdesk")
    world.vault.operators.set_role(world.admin, "dora", "viewer")
    world.vault.operators.delete_role(world.admin, "helpdesk")
    assert "helpdesk" not in {r.name for r in world.vault.operators.roles(world.admin)}
    assert [e.details for e in audit_of(world, "role.add")] == [
        {"permissions": ["secret.reveal", "vault.read"]}
    ]
    assert [e.target_id for e in audit_of(world, "role.delete")] == ["helpdesk"]


def test_bad_roles_are_refused(world):
    ops = world.vault.operators
    with pytest.raises(InvalidInput, match=r"unknown permission vault\.destroy"):
        ops.add_role(world.admin, "odd", ["vault.read", "vault.destroy"])
    with pytest.raises(InvalidInput, match="at least one permission"):
        ops.add_role(world.admin, "empty", [])
    with pytest.raises(InvalidInput):
        ops.add_role(world.admin, "", ["vault.read"])
    with pytest.raises(AlreadyExists):
        ops.add_role(world.admin, "Technician", ["vault.read"])
    for builtin in ("admin", "technician", "directory_manager", "auditor", "viewer"):
        with pytest.raises(InvalidInput, match="built in"):
            ops.delete_role(world.admin, builtin)
    with pytest.raises(NotFound):
        ops.delete_role(world.admin, "nonexistent")
    assert len(ops.roles(world.admin)) == 5
    assert audit_of(world, "role.add") == []


def test_a_custom_roles_permissions_change_for_its_holders_next_request(world):
    ops = world.vault.operators
    ops.add_role(world.admin, "helpdesk", ["vault.read"], "reads")
    world.operator("dora", "helpdesk")
    _, token = world.vault.access.create_token(world.admin, "dora's", operator="dora")
    assert world.vault.access.login_token(token).permissions == {"vault.read"}

    role = ops.change_role(
        world.admin, " Helpdesk ", permissions=["secret.reveal", "vault.read", "secret.reveal"]
    )
    assert (role.name, role.permissions, role.description) == (
        "helpdesk",
        ("secret.reveal", "vault.read"),
        "reads",
    )
    assert world.vault.access.login_token(token).permissions == {"vault.read", "secret.reveal"}
    role = ops.change_role(world.admin, "helpdesk", description="reads and reveals")
    assert role.permissions == ("secret.reveal", "vault.read")
    listed = {r.name: r for r in ops.roles(world.admin)}
    assert listed["helpdesk"].description == "reads and reveals"
    assert [e.details for e in audit_of(world, "role.change")] == [  # newest first
        {"description": "reads and reveals"},
        {"from": ["vault.read"], "to": ["secret.reveal", "vault.read"]},
    ]


def test_role_changes_are_refused_to_others_and_for_built_in_roles(world):
    ops = world.vault.operators
    ops.add_role(world.admin, "helpdesk", ["vault.read"])
    bob = world.operator("bob", "directory_manager")
    with pytest.raises(PermissionDenied, match="admin"):
        ops.change_role(bob, "helpdesk", permissions=["admin"])
    for builtin in ("admin", "technician", "viewer"):
        with pytest.raises(InvalidInput, match="built in"):
            ops.change_role(world.admin, builtin, permissions=["vault.read"])
    with pytest.raises(InvalidInput, match=r"unknown permission vault\.destroy"):
        ops.change_role(world.admin, "helpdesk", permissions=["vault.destroy"])
    with pytest.raises(InvalidInput, match="at least one permission"):
        ops.change_role(world.admin, "helpdesk", permissions=[])
    with pytest.raises(InvalidInput, match="nothing to change") as nothing:
        ops.change_role(world.admin, "helpdesk")
    assert nothing.value.fields == ("permissions", "description")
    with pytest.raises(NotFound):
        ops.change_role(world.admin, "nonexistent", permissions=["vault.read"])
    assert {r.name: r.permissions for r in ops.roles(world.admin)}["helpdesk"] == ("vault.read",)
    assert audit_of(world, "role.change") == []
