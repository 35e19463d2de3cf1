"""Security finding 8: operators without directory_admin.use learn nothing of directory_admin
credentials (the bind credentials of directories), on both backends:

- their ids answer as ids of nothing do (not "forbidden": that said the credential exists),
  and take no part in a prefix that would otherwise be ambiguous;
- a directory shows no bind credential id to them;
- an import (dry run or not) does not answer "duplicate" for a row like one: such a row is
  imported as a new credential, as if the hidden one were not there (no row is lost).

Each of these failed before the fix.
"""

from __future__ import annotations

import io
from typing import Any

import pytest

from credsync.errors import InvalidInput, NotFound
from credsync.storage import credentials as credential_rows
from credsync.types import CredentialType

from .flag_seed import add_ad_directory
from .helpers import Ctx


def _missing(call: Any) -> str:
    with pytest.raises(NotFound) as refused:
        call()
    return str(refused.value)


def test_a_directory_admin_id_is_not_found_like_an_id_of_nothing(ctx: Ctx) -> None:
    bind = ctx.add("bind", "Bind-Pa55!", type_="directory_admin")
    creds = ctx.vault.credentials
    nothing = "0" * 8 + bind.id[8:]
    for role in ("technician", "viewer", "auditor"):
        actor = ctx.as_role(role)
        for ref in (bind.id, bind.id[:8]):
            assert (
                _missing(lambda r=ref, a=actor: creds.get(a, r)) == f"no credential with id {ref}"
            )
        assert _missing(lambda a=actor: creds.get(a, nothing)) == f"no credential with id {nothing}"
        assert _missing(lambda a=actor: creds.history(a, None, bind.id)).startswith("no credential")
    technician = ctx.as_role("technician")
    assert _missing(lambda: creds.delete(technician, bind.id)).startswith("no credential")
    assert _missing(lambda: creds.restore(technician, bind.id)).startswith("no credential")
    manager = ctx.as_role("directory_manager")
    assert creds.get(manager, bind.id[:8]).id == bind.id


def test_a_hidden_credential_makes_no_prefix_ambiguous(ctx: Ctx) -> None:
    """Two credentials whose ids share their first 8 characters, one a directory_admin one:
    for an operator who may not know of it, the prefix names the other (it would answer
    "ambiguous" were the hidden one counted)."""
    prefix = "feedc0de"
    hidden_id, plain_id = (
        f"{prefix}-0000-4000-8000-{'a' * 12}",
        f"{prefix}-1111-4000-8000-{'b' * 12}",
    )
    with ctx.world.db.write() as conn:
        credential_rows.add_many(
            conn,
            ctx.client.id,
            [
                credential_rows.NewCredential(
                    hidden_id, None, "hidden", "svc", "", CredentialType.DIRECTORY_ADMIN.value,
                    "off", None, (),
                ),
                credential_rows.NewCredential(
                    plain_id, None, "plain", "user", "", CredentialType.LOGIN.value, None, None, ()
                ),
            ],
            by="test",
            now=ctx.client.created_at,
        )  # fmt: skip
    technician = ctx.as_role("technician")
    assert ctx.vault.credentials.get(technician, prefix).id == plain_id
    with pytest.raises(InvalidInput, match="ambiguous"):
        ctx.vault.credentials.get(ctx.as_role("directory_manager"), prefix)


def test_a_directory_shows_its_bind_credential_only_with_directory_admin_use(ctx: Ctx) -> None:
    name = f"hidden-{ctx.client.id[:8]}"
    directory_id, bind_id = add_ad_directory(ctx.world, ctx.client.id, name)
    dirs = ctx.vault.directories
    for role in ("technician", "viewer", "auditor"):
        actor = ctx.as_role(role)
        assert dirs.get(actor, name).bind_credential_id is None
        assert dirs.get(actor, name).to_json()["bind_credential_id"] is None
        [listed] = dirs.list(actor, ctx.client.id)
        assert listed.bind_credential_id is None
        assert bind_id not in str(listed.to_json())
    for role in ("directory_manager", "admin"):
        actor = ctx.admin if role == "admin" else ctx.as_role(role)
        assert dirs.get(actor, directory_id).bind_credential_id == bind_id
        assert dirs.list(actor, ctx.client.id)[0].to_json()["bind_credential_id"] == bind_id


def test_removing_a_directory_answers_without_its_bind_credential(ctx: Ctx) -> None:
    """directory.setup alone (a custom role) removes a directory; the answer hides the id."""
    name = f"gone-{ctx.client.id[:8]}"
    add_ad_directory(ctx.world, ctx.client.id, name)
    role = f"setup-only-{ctx.client.id[:8]}"
    ctx.vault.operators.add_role(ctx.admin, role, ["vault.read", "directory.setup"], "setup")
    actor = ctx.world.operator(f"op-{role}", role)
    assert ctx.vault.directories.remove(actor, name).bind_credential_id is None


CSV = "title,username,password\r\n{title},SVC-credsync,Some-Pa55word-1!\r\n"


@pytest.mark.parametrize("dry_run", [True, False])
def test_an_import_does_not_tell_of_a_hidden_credential(ctx: Ctx, dry_run: bool) -> None:
    ctx.add("AD bind", "Bind-Pa55!", type_="directory_admin", username="svc-credsync")
    data = CSV.format(title="AD bind").encode()

    def run(actor: Any, dry: bool) -> Any:
        return ctx.vault.csv.import_csv(
            actor, ctx.keys, ctx.name, io.BytesIO(data), dry_run=dry, source_name="x.csv"
        )

    technician = ctx.as_role("technician")
    report = run(technician, dry_run)
    assert (report.imported, report.rejected_count, report.rejected) == (1, 0, [])
    # It says what it says of a vault without the hidden credential.
    other = ctx.other_client()
    blank = ctx.vault.csv.import_csv(
        technician, ctx.keys, other.name, io.BytesIO(data), dry_run=dry_run, source_name="x.csv"
    )
    assert blank.to_json() == {**report.to_json(), "client": other.name}
    seen = ctx.vault.credentials.list(technician, ctx.name).items
    assert [c.title for c in seen] == ([] if dry_run else ["AD bind"])  # no row lost
    # Someone who may know of it is told of the duplicate.
    manager = run(ctx.as_role("directory_manager"), True)
    expected = 1 if dry_run else 2  # the bind, and the technician's new login credential
    assert manager.rejected_count == 1
    assert "duplicate" in manager.rejected[0].reason
    everyone = ctx.vault.credentials.list(ctx.admin, ctx.name).items
    assert len(everyone) == expected
