"""The permission matrix: which built-in role may call which service operation.

Every cell runs the real operation as an operator of that role, signed in with a password.
A denied call raises PermissionDenied and leaves the audit log (so the vault) untouched; an
allowed call succeeds, and a mutating one leaves its audit entry.
"""

from __future__ import annotations

import datetime as dt
import io
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from credsync.errors import PermissionDenied
from credsync.types import Secret, SyncMode
from credsync.vault import KeyRing
from credsync.vault.drafts import make_draft
from credsync.vault.generator import PasswordPolicy

from .helpers import PASSPHRASE, audit_head, fast_kdf

ADMIN, TECH, DIRMGR, AUDITOR, VIEWER = (
    "admin",
    "technician",
    "directory_manager",
    "auditor",
    "viewer",
)
ROLES = (ADMIN, TECH, DIRMGR, AUDITOR, VIEWER)
EVERYONE = frozenset(ROLES)
WRITERS = frozenset({ADMIN, TECH, DIRMGR})  # vault.write (and secret.reveal)
DIRECTORY = frozenset({ADMIN, DIRMGR})  # directory.setup, directory_admin.use
AUDITORS = frozenset({ADMIN, AUDITOR})  # audit.read
ADMINS = frozenset({ADMIN})

EXPECTED_PERMISSIONS = {
    ADMIN: {"admin"},
    TECH: {"vault.read", "vault.write", "secret.reveal"},
    DIRMGR: {
        "vault.read",
        "vault.write",
        "secret.reveal",
        "directory.setup",
        "directory_admin.use",
    },
    AUDITOR: {"vault.read", "audit.read"},
    VIEWER: {"vault.read"},
}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def a_cred(ctx: Any, **fields: Any) -> str:
    return ctx.add(unique("cred"), **fields).id


def a_trashed_cred(ctx: Any) -> str:
    cred_id = a_cred(ctx)
    ctx.vault.credentials.delete(ctx.admin, cred_id)
    return cred_id


def victim(ctx: Any) -> str:
    """An operator that operator-management calls act on (made once per module)."""
    return ctx.as_role(VIEWER, name="victim").name


def rotate_key(ctx: Any, actor: Any) -> None:
    ctx.vault.rotate_key(actor, KeyRing.of(ctx.keys.kek()), Secret(PASSPHRASE), kdf=fast_kdf())
    # the shared vault's other tests need the new key
    ctx.world.keys = KeyRing.of(ctx.vault.unlock(Secret(PASSPHRASE)))


@dataclass(frozen=True)
class Op:
    name: str
    allowed: frozenset[str]
    call: Callable[[Any, Any, Any], object]  # (ctx, actor, prepared) -> result
    prepare: Callable[[Any], Any] = lambda ctx: None  # run as alice before the call
    audited: str | None = None  # the audit action an allowed call writes


V = "vault"
OPS = [
    # clients and folders
    Op("client list", EVERYONE, lambda c, a, _: c.vault.clients.list(a)),
    Op("client show", EVERYONE, lambda c, a, _: c.vault.clients.get(a, c.name)),
    Op("folder list", EVERYONE, lambda c, a, _: c.vault.clients.folders(a, c.name)),
    Op(
        "client add",
        WRITERS,
        lambda c, a, _: c.vault.clients.add(a, c.keys, unique("client")),
        audited="client.add",
    ),
    Op(
        "client add with directory sync",
        DIRECTORY,
        lambda c, a, _: c.vault.clients.add(a, c.keys, unique("client"), directory_sync=True),
        audited="client.add",
    ),
    Op(
        "client rename",
        WRITERS,
        lambda c, a, _: c.vault.clients.rename(a, c.name, unique("renamed")),
        audited="client.rename",
    ),
    Op(
        "client archive",
        WRITERS,
        lambda c, a, _: c.vault.clients.set_archived(a, c.name, True),
        audited="client.archive",
    ),
    Op(
        "client rotation",
        WRITERS,
        lambda c, a, _: c.vault.clients.set_rotation(a, c.name, 90),
        audited="client.rotation",
    ),
    Op(
        "client configure",
        DIRECTORY,
        lambda c, a, _: c.vault.clients.configure(a, c.name, default_sync_mode=SyncMode.OFF),
        audited="client.configure",
    ),
    Op(
        "folder add",
        WRITERS,
        lambda c, a, _: c.vault.clients.add_folder(a, c.name, "Servers"),
        audited="folder.add",
    ),
    Op(
        "folder delete",
        WRITERS,
        lambda c, a, _: c.vault.clients.delete_folder(a, c.name, "Empty"),
        prepare=lambda c: c.vault.clients.add_folder(c.admin, c.name, "Empty"),
        audited="folder.delete",
    ),
    # credentials
    Op("cred list", EVERYONE, lambda c, a, _: c.vault.credentials.list(a, c.name)),
    Op("cred search", EVERYONE, lambda c, a, _: c.vault.credentials.search(a, "cred")),
    Op("cred show", EVERYONE, lambda c, a, cid: c.vault.credentials.get(a, cid), a_cred),
    Op(
        "cred history",
        EVERYONE,
        lambda c, a, cid: c.vault.credentials.history(a, None, cid),
        a_cred,
    ),
    Op(
        "cred add",
        WRITERS,
        lambda c, a, _: c.vault.credentials.add(
            a, c.keys, c.name, make_draft(title="new", password=Secret("Pw-12345!"))
        ),
        audited="credential.add",
    ),
    Op(
        "cred add directory_admin",
        DIRECTORY,
        lambda c, a, _: c.vault.credentials.add(
            a,
            c.keys,
            c.name,
            make_draft(title="bind", password=Secret("Pw-12345!"), type_="directory_admin"),
        ),
        audited="credential.add",
    ),
    Op(
        "cred reveal",
        WRITERS,
        lambda c, a, cid: c.vault.credentials.reveal(a, c.keys, cid),
        a_cred,
        audited="credential.reveal",
    ),
    Op(
        "cred history reveal",
        WRITERS,
        lambda c, a, cid: c.vault.credentials.history(a, c.keys, cid, reveal=True),
        a_cred,
        audited="credential.history_reveal",
    ),
    Op(
        "cred set-password",
        WRITERS,
        lambda c, a, cid: c.vault.credentials.set_password(a, c.keys, cid, Secret("Pw-2-345!")),
        a_cred,
        audited="credential.password_set",
    ),
    Op(
        "cred edit",
        WRITERS,
        lambda c, a, cid: c.vault.credentials.edit(a, c.keys, cid, title="edited"),
        a_cred,
        audited="credential.edit",
    ),
    Op(
        "cred sync-mode off",
        WRITERS,
        lambda c, a, cid: c.vault.credentials.set_sync_mode(a, cid, SyncMode.OFF),
        a_cred,
        audited="credential.sync_mode",
    ),
    Op(
        "cred sync-mode enforce",
        DIRECTORY,
        lambda c, a, cid: c.vault.credentials.set_sync_mode(a, cid, SyncMode.ENFORCE),
        a_cred,
        audited="credential.sync_mode",
    ),
    Op(
        "cred delete",
        WRITERS,
        lambda c, a, cid: c.vault.credentials.delete(a, cid),
        a_cred,
        audited="credential.delete",
    ),
    Op(
        "cred restore",
        WRITERS,
        lambda c, a, cid: c.vault.credentials.restore(a, cid),
        a_trashed_cred,
        audited="credential.restore",
    ),
    Op(
        "cred purge",
        ADMINS,
        lambda c, a, cid: c.vault.credentials.purge(a, cid),
        a_trashed_cred,
        audited="credential.purge",
    ),
    # import / export
    Op(
        "csv import",
        WRITERS,
        lambda c, a, _: c.vault.csv.import_csv(
            a, c.keys, c.name, io.BytesIO(b"title,password\nimported,Pw-12345!\n")
        ),
        audited="import",
    ),
    Op(
        "csv export",
        ADMINS,
        lambda c, a, _: c.vault.csv.export_csv(a, c.keys, c.name, io.StringIO()),
        a_cred,
        audited="export",
    ),
    # audit
    Op("audit list", AUDITORS, lambda c, a, _: c.vault.audit.list(a)),
    Op("audit verify", AUDITORS, lambda c, a, _: c.vault.audit.verify(a)),
    # operators, roles, tokens, sessions
    Op("role list", EVERYONE, lambda c, a, _: c.vault.operators.roles(a)),
    Op("operator list", ADMINS, lambda c, a, _: c.vault.operators.list(a)),
    Op("operator show other", ADMINS, lambda c, a, name: c.vault.operators.get(a, name), victim),
    Op(
        "operator add",
        ADMINS,
        lambda c, a, _: c.vault.operators.add(a, unique("op"), Secret("op-password-1234"), VIEWER),
        audited="operator.add",
    ),
    Op(
        "operator set-role",
        ADMINS,
        lambda c, a, name: c.vault.operators.set_role(a, name, VIEWER),
        victim,
        audited="operator.role",
    ),
    Op(
        "operator enable",
        ADMINS,
        lambda c, a, name: c.vault.operators.set_disabled(a, name, False),
        victim,
        audited="operator.enable",
    ),
    Op(
        "operator set-password of another",
        ADMINS,
        lambda c, a, name: c.vault.operators.set_password(a, name, Secret("victim-password-1234")),
        victim,
        audited="operator.password",
    ),
    Op(
        "role add",
        ADMINS,
        lambda c, a, _: c.vault.operators.add_role(a, unique("role"), ["vault.read"]),
        audited="role.add",
    ),
    Op(
        "role delete",
        ADMINS,
        lambda c, a, name: c.vault.operators.delete_role(a, name),
        lambda c: c.vault.operators.add_role(c.admin, unique("role"), ["vault.read"]).name,
        audited="role.delete",
    ),
    Op("policy list", EVERYONE, lambda c, a, _: c.vault.policies.list(a)),
    Op(
        "policy add",
        ADMINS,
        lambda c, a, _: c.vault.policies.add(a, unique("policy"), PasswordPolicy(length=16)),
        audited="policy.add",
    ),
    Op(
        "policy delete",
        ADMINS,
        lambda c, a, name: c.vault.policies.delete(a, name),
        lambda c: c.vault.policies.add(c.admin, n := unique("policy"), PasswordPolicy()) or n,
        audited="policy.delete",
    ),
    Op(
        "token create for another",
        ADMINS,
        lambda c, a, name: c.vault.access.create_token(a, "script", operator=name),
        victim,
        audited="token.create",
    ),
    Op(
        "token list everyone",
        ADMINS,
        lambda c, a, _: c.vault.access.list_tokens(a, everyone=True),
    ),
    Op(
        "token revoke another's",
        ADMINS,
        lambda c, a, token_id: c.vault.access.revoke_token(a, token_id),
        lambda c: c.vault.access.create_token(c.admin, "alice's script")[0].id,
        audited="token.revoke",
    ),
    Op(
        "token revoke all of another's",
        ADMINS,
        lambda c, a, name: c.vault.access.revoke_all_tokens(a, name),
        victim,
        audited="token.revoke_all",
    ),
    Op(
        "session end everyone",
        ADMINS,
        lambda c, a, _: c.vault.access.end_session(a, None, everyone=True),
        audited="session.end",
    ),
    Op("key rotate", ADMINS, lambda c, a, _: rotate_key(c, a), audited="key.rotate"),
    # every operator may manage its own tokens
    Op(
        "token create for oneself",
        EVERYONE,
        lambda c, a, _: c.vault.access.create_token(a, "mine", expires_in=dt.timedelta(hours=1)),
        audited="token.create",
    ),
    Op("token list own", EVERYONE, lambda c, a, _: c.vault.access.list_tokens(a)),
]


@pytest.mark.parametrize("role", ROLES)
def test_builtin_roles_grant_the_documented_permissions(ctx, role):
    actor = ctx.as_role(role)
    assert actor.role == role
    assert actor.via == "password"
    assert set(actor.permissions) == EXPECTED_PERMISSIONS[role]


@pytest.mark.parametrize("op", OPS, ids=[op.name for op in OPS])
@pytest.mark.parametrize("role", ROLES)
def test_permission_matrix(ctx, role, op):
    actor = ctx.as_role(role)
    prepared = op.prepare(ctx)
    head = audit_head(ctx)

    if role in op.allowed:
        op.call(ctx, actor, prepared)
        if op.audited:
            [newest] = ctx.vault.audit.list(ctx.admin, limit=1)
            assert (newest.action, newest.actor) == (op.audited, actor.name)
    else:
        with pytest.raises(PermissionDenied) as denied:
            op.call(ctx, actor, prepared)
        assert actor.name in str(denied.value)
        assert audit_head(ctx) == head, "a refused call wrote to the vault"


def test_the_matrix_covers_every_role_with_both_outcomes():
    for role in ROLES:
        outcomes = {role in op.allowed for op in OPS}
        assert outcomes == ({True} if role == ADMIN else {True, False}), role
    assert len({op.name for op in OPS}) == len(OPS)


def test_a_custom_role_grants_exactly_its_permissions(ctx):
    name = unique("reader")
    ctx.vault.operators.add_role(
        ctx.admin, name, ["vault.read", "secret.reveal", "vault.export"], "reads and exports"
    )
    actor = ctx.world.operator(unique("exporter"), name)
    plain = ctx.add("plain", "Plain-Pa55!")
    ctx.add("bind", "Bind-Pa55!", type_="directory_admin")

    assert ctx.vault.credentials.reveal(actor, ctx.keys, plain.id).password == Secret("Plain-Pa55!")
    out = io.StringIO()
    assert ctx.vault.csv.export_csv(actor, ctx.keys, ctx.name, out) == 1  # no directory_admin
    assert "Bind-Pa55!" not in out.getvalue()
    assert "Plain-Pa55!" in out.getvalue()
    for denied in (
        lambda: ctx.vault.credentials.set_password(actor, ctx.keys, plain.id, Secret("x-Pa55!")),
        lambda: ctx.vault.clients.add(actor, ctx.keys, unique("client")),
        lambda: ctx.vault.audit.verify(actor),
        lambda: ctx.vault.operators.list(actor),
    ):
        with pytest.raises(PermissionDenied):
            denied()


def test_role_changes_apply_at_the_next_sign_in(world):
    actor = world.operator("carol", VIEWER)
    client = world.vault.clients.add(world.admin, world.keys, "Contoso")

    world.vault.operators.set_role(world.admin, "carol", TECH)

    with pytest.raises(PermissionDenied):  # the actor signed in as a viewer
        world.vault.clients.rename(actor, client.name, "Renamed")
    again = world.vault.access.login_password("carol", Secret("carol-password-1234"))
    assert again.role == TECH
    assert world.vault.clients.rename(again, client.name, "Renamed").name == "Renamed"
