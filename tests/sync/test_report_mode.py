"""Report mode against the real Samba AD DC: every status, flags, and lockout safety."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from credsync.errors import InvalidInput
from credsync.sync.resolve import Resolver
from credsync.types import Secret

from .helpers import SyncWorld, add_directory


def test_first_run_links_and_binds_once_then_no_bind_while_unchanged(sw_both: SyncWorld) -> None:
    sw = sw_both
    user = sw.ad.create_user()
    cred = sw.add(user)
    first = sw.run()
    assert first.state == "done", first.message
    assert first.kind == "full"
    assert sw.items(first)[cred.id] == ("in_sync", "verify")
    assert first.summary["binds"] == 1
    second = sw.run()
    assert second.kind == "incremental"
    # Neither side changed: not re-checked (counted), the link keeps its last check.
    assert cred.id not in sw.items(second)
    assert second.summary["unchanged"] == 1
    assert sw.links() == {cred.id: "in_sync"}
    assert second.summary["binds"] == 0
    third = sw.run(full=True)
    assert sw.in_step(third, cred.id)
    assert third.summary["binds"] == 0
    assert sw.flags() == {}


@pytest.mark.parametrize("name_form", ["sam", "netbios", "upn"])
def test_credentials_link_by_every_name_form(sw: SyncWorld, name_form: str) -> None:
    user = sw.ad.create_user()
    username = {
        "sam": user.name.upper(),
        "netbios": f"{sw.ad.facts.netbios_domain}\\{user.name}",
        "upn": user.upn,
    }[name_form]
    cred = sw.add(user, username=username)
    assert sw.items(sw.run())[cred.id] == ("in_sync", "verify")


def test_a_wrong_vault_password_is_a_mismatch_flag_and_is_never_bound_twice(sw: SyncWorld) -> None:
    user = sw.ad.create_user()
    sw.ad.admin.apply_lockout_policy(user.dn, threshold=2)  # two bad binds would lock it
    cred = sw.add(user, "Not-The-Passw0rd!")
    report = sw.run()
    assert sw.items(report)[cred.id][0] == "mismatch"
    assert sw.flags() == {cred.id: "mismatch"}
    assert sw.ad.admin.account_state(user.dn)["badPwdCount"] == 1
    for n in range(3):
        again = sw.run(full=True)
        if n == 0:  # the flag now says the bind is not repeated: a new detail, listed
            assert sw.items(again)[cred.id] == ("mismatch", "flag")
        else:  # then as its flag says: counted, not listed
            assert sw.still_flagged(again, cred.id, "mismatch")
        assert again.summary["binds"] == 0
    state = sw.ad.admin.account_state(user.dn)
    assert state["badPwdCount"] == 1  # lockout safety: one failed bind per pwdLastSet
    assert state["lockoutTime"] == 0


def test_a_password_changed_in_the_directory_is_changed_in_directory(sw: SyncWorld) -> None:
    user = sw.ad.create_user()
    cred = sw.add(user)
    sw.run()
    sw.ad.admin.reset_password(user.dn, "Changed-By-Helpdesk-1!")
    report = sw.run()
    assert report.kind == "incremental"
    status, action = sw.items(report)[cred.id]
    assert (status, action) == ("changed_in_directory", "verify")
    flag = sw.vault.flags.list(sw.admin, sw.client)[0]
    assert flag.status == "changed_in_directory"
    assert flag.directory == sw.directory


def _mismatch_then_directory_reset(sw: SyncWorld, new_password: str) -> tuple:
    """A credential whose vault password never worked (one failed bind at the first
    pwdLastSet), then a helpdesk reset in AD that no run has seen yet."""
    user = sw.ad.create_user()
    cred = sw.add(user, "Wrong-From-The-Start-1!")
    sw.run()
    sw.ad.admin.reset_password(user.dn, new_password)
    flag = sw.vault.flags.list(sw.admin, sw.client)[0]
    return user, cred, flag, Resolver(sw.vault, sw.engine(), sw.admin)


def test_accepting_the_directorys_password_checks_it_with_one_bind(sw: SyncWorld) -> None:
    _, cred, flag, resolver = _mismatch_then_directory_reset(sw, "Fresh-Directory-Pw-1!")
    result = asyncio.run(resolver.accept(flag.id, Secret("Fresh-Directory-Pw-1!")))
    assert result.outcome == "accepted_password"
    assert result.detail == "checked with one bind"
    assert sw.reveal(cred) == "Fresh-Directory-Pw-1!"
    history = sw.vault.credentials.history(sw.admin, None, cred.id)
    assert history[0].source == "directory"
    assert sw.flags() == {}
    after = sw.run()
    assert sw.in_step(after, cred.id)
    assert after.summary["binds"] == 0


def test_a_wrong_accepted_password_is_not_stored_and_spends_the_one_bind(sw: SyncWorld) -> None:
    user, cred, flag, resolver = _mismatch_then_directory_reset(sw, "Fresh-Directory-Pw-2!")
    with pytest.raises(InvalidInput, match="did not accept that password"):
        asyncio.run(resolver.accept(flag.id, Secret("Still-Wrong-Passw0rd!")))
    assert sw.reveal(cred) == "Wrong-From-The-Start-1!"  # nothing stored
    # That guess spent this pwdLastSet's one failed bind: the right password is now taken on
    # the operator's word, and the history says so.
    result = asyncio.run(resolver.accept(flag.id, Secret("Fresh-Directory-Pw-2!")))
    assert "not checked" in result.detail
    assert "not checked" in sw.vault.credentials.history(sw.admin, None, cred.id)[0].reason
    assert sw.ad.admin.account_state(user.dn)["lockoutTime"] == 0


def test_accepting_without_a_password_quiets_the_flag_until_the_directory_changes(
    sw: SyncWorld,
) -> None:
    user = sw.ad.create_user()
    cred = sw.add(user, "Unknown-To-Vault-1!")
    sw.run()
    flag = sw.vault.flags.list(sw.admin, sw.client)[0]
    result = asyncio.run(Resolver(sw.vault, sw.engine(), sw.admin).accept(flag.id, None))
    assert result.outcome == "accepted"
    quiet = sw.run(full=True)
    assert sw.items(quiet)[cred.id] == ("password_unknown", "none")
    assert quiet.summary["binds"] == 0
    assert sw.flags() == {}
    sw.ad.admin.reset_password(user.dn, "Moved-On-Again-1!")
    loud = sw.run()
    assert sw.items(loud)[cred.id][0] in ("mismatch", "changed_in_directory")
    assert cred.id in sw.flags()


def _unknown(sw: SyncWorld) -> list[str]:
    """The client's credentials whose directory password the vault does not know."""
    page = sw.vault.credentials.list(sw.admin, sw.client, password_unknown=True)
    return [c.id for c in page.items]


def test_a_directory_password_accepted_without_it_is_unknown_until_one_is_set(
    sw_both: SyncWorld,
) -> None:
    """Accepting the directory's state without its password leaves the vault's password
    stale: the credential says so (status password_unknown, ``password_unknown_in``) and is
    listed, run after run, until a password is set; the next run then checks that one."""
    sw = sw_both
    user = sw.ad.create_user()
    cred = sw.add(user)
    bystander = sw.add(sw.ad.create_user())
    sw.run()
    sw.ad.admin.reset_password(user.dn, "Reset-By-Helpdesk-7!")  # nobody tells the vault
    sw.run()
    [flag] = sw.vault.flags.list(sw.admin, sw.client)
    assert _unknown(sw) == []

    asyncio.run(Resolver(sw.vault, sw.engine(), sw.admin).accept(flag.id, None))
    shown = sw.vault.credentials.get(sw.admin, cred.id)
    assert shown.password_unknown_in == (sw.directory,)
    assert shown.to_json()["password_unknown_in"] == [sw.directory]
    assert sw.vault.credentials.get(sw.admin, bystander.id).password_unknown_in == ()
    assert _unknown(sw) == [cred.id]
    assert sw.vault.credentials.password_unknown_counts(sw.admin) == {sw.client: 1}
    from credsync.sync.views import checks_of

    [check] = checks_of(sw.vault.db, sw.admin, [cred.id])[cred.id]
    assert check.status == "password_unknown"
    assert "unknown to the vault" in check.detail
    found = sw.vault.credentials.search(sw.admin, cred.title)
    assert [c.password_unknown_in for c in found] == [(sw.directory,)]

    for _ in range(2):  # runs keep it so, and bind nothing
        again = sw.run(full=True)
        assert sw.items(again)[cred.id] == ("password_unknown", "none")
        assert again.summary["binds"] == 0
        assert _unknown(sw) == [cred.id]
    assert sw.flags() == {}

    sw.set_password(cred, "Reset-By-Helpdesk-7!")  # the password, learned from the helpdesk
    assert sw.vault.credentials.get(sw.admin, cred.id).password_unknown_in == ()
    assert _unknown(sw) == []
    # A bind already failed at this pwdLastSet: the new password is not bound (lockout
    # safety) but flagged, and accepting it with the password takes it on the operator's word.
    checked = sw.run()
    assert checked.summary["binds"] == 0
    assert sw.items(checked)[cred.id] == ("mismatch", "flag")
    [again] = sw.vault.flags.list(sw.admin, sw.client)
    resolver = Resolver(sw.vault, sw.engine(), sw.admin)
    done = asyncio.run(resolver.accept(again.id, Secret("Reset-By-Helpdesk-7!")))
    assert done.outcome == "accepted_password"
    assert sw.in_step(sw.run(full=True), cred.id)
    assert sw.flags() == {}
    assert _unknown(sw) == []


def test_a_wrong_password_set_after_an_acceptance_is_flagged_again(sw: SyncWorld) -> None:
    user = sw.ad.create_user()
    cred = sw.add(user)
    sw.run()
    sw.ad.admin.reset_password(user.dn, "Reset-By-Helpdesk-8!")
    sw.run()
    [flag] = sw.vault.flags.list(sw.admin, sw.client)
    asyncio.run(Resolver(sw.vault, sw.engine(), sw.admin).accept(flag.id, None))
    sw.set_password(cred, "A-Wrong-Guess-Pa55!")
    assert _unknown(sw) == []
    assert sw.items(sw.run())[cred.id][0] in ("mismatch", "changed_in_directory")
    assert cred.id in sw.flags()


@pytest.mark.parametrize(
    ("make", "status"),
    [
        ("delete", "account_missing"),
        ("disable", "account_disabled"),
        ("expire_password", "password_expired"),
    ],
)
def test_account_states_are_flagged_without_a_bind(sw: SyncWorld, make: str, status: str) -> None:
    sw.ad.create_user()  # a bystander: an OU with no account left would trip a safety rail
    user = sw.ad.create_user()
    cred = sw.add(user)
    sw.run()
    getattr(sw.ad.admin, make)(user.dn)
    report = sw.run(full=True)
    assert sw.items(report)[cred.id] == (status, "flag")
    assert report.summary["binds"] == 0
    assert sw.flags() == {cred.id: status}


def test_a_locked_out_account_is_flagged(sw: SyncWorld) -> None:
    user = sw.ad.create_user()
    cred = sw.add(user)
    sw.run()
    sw.ad.admin.lock_out(user.dn)
    report = sw.run(full=True)
    assert sw.items(report)[cred.id] == ("locked_out", "flag")
    sw.ad.admin.unlock(user.dn)
    cleared = sw.run(full=True)
    assert sw.items(cleared)[cred.id][0] == "in_sync"
    assert sw.flags() == {}


def test_unmatched_and_conflicting_credentials_are_reported(sw: SyncWorld) -> None:
    user = sw.ad.create_user()
    nobody = sw.add(None, username="no-such-user")
    first = sw.add(user)
    second = sw.add(user, username=user.upn)
    report = sw.run()
    items = sw.items(report)
    assert items[nobody.id] == ("unmatched", "flag")
    assert {items[first.id][0], items[second.id][0]} == {"in_sync", "conflict"}
    # Ambiguity (several accounts answering to one name) can't be built in one AD domain:
    # Samba refuses a UPN that is another account's name. The planner's tests cover it.


def test_the_same_account_in_two_directories_is_a_conflict(sw: SyncWorld) -> None:
    user = sw.ad.create_user()
    sw.add(user)
    sw.run()
    other = add_directory(
        sw.vault,
        sw.admin,
        sw.client,
        sw.directory + "-again",
        kind="active-directory",
        url=sw.ad.facts.ldaps_url,
        base_dn=sw.ad.dn,
        bind_credential=sw.bind_credential_id,
        ca_pem=sw.ad.facts.ca_file.read_text(),
        tls_server_name=sw.ad.facts.tls_server_name,
    )
    report = asyncio.run(sw.engine().run(other.name))
    assert [i.status for i in report.items] == ["conflict"]
    assert sw.directory in report.items[0].detail


def test_renamed_accounts_stay_linked(sw: SyncWorld) -> None:
    user = sw.ad.create_user()
    cred = sw.add(user)
    sw.run()
    # A name of its own: sAMAccountName is unique in the domain, and an interrupted run of
    # this test may have left its renamed account on the shared DC.
    renamed = f"ren{uuid.uuid4().hex[:12]}"
    sw.ad.admin.conn.modify(user.dn, {"sAMAccountName": [("MODIFY_REPLACE", [renamed])]})
    report = sw.run(full=True)
    assert sw.in_step(report, cred.id)  # still linked, in step as before: counted, not listed


def test_dry_run_changes_nothing(sw: SyncWorld) -> None:
    user = sw.ad.create_user()
    cred = sw.add(user, "Not-The-Passw0rd!")
    plan = sw.run(dry_run=True)
    assert plan.dry_run
    assert sw.items(plan)[cred.id] == ("pending", "verify")
    assert sw.ad.admin.account_state(user.dn)["badPwdCount"] == 0
    assert sw.flags() == {}
    assert sw.vault.directories.get(sw.admin, sw.directory).cursor is None


def test_runs_are_stored_with_their_items(sw: SyncWorld) -> None:
    from credsync.sync.reports import list_runs, load_run

    user = sw.ad.create_user()
    sw.add(user)
    report = sw.run()
    with sw.vault.db.read() as conn:
        listed = list_runs(conn, client_ref=sw.client)
        loaded = load_run(conn, report.id[:8])
    assert [r.id for r in listed] == [report.id]
    assert loaded.items == report.items
    assert loaded.to_json()["items"][0]["status"] == "in_sync"
