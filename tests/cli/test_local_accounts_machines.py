"""A client with two workgroup machines (two real Samba standalone servers, FILESRV1 and
FILESRV2), end to end through the command line: a credential ``FILESRV1\\user`` is FILESRV1's
business only (no ``unmatched`` flag on FILESRV2, not counted there), ``FILESRV1\\nosuch`` is
still flagged on FILESRV1, and enforce pushes each credential to its own machine only."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from impacket.dcerpc.v5 import samr

from credsync.connectors.local_accounts import LocalAccountsConnector
from credsync.connectors.local_accounts._client import SamrSession, login
from credsync.testing.samba_standalone import LocalMachine, LocalUser


def _works(machine: LocalMachine, name: str, password: str) -> bool:
    facts = machine.facts
    return login(facts.host, facts.port, facts.machine, name, password, 5).status is None


def _enumerate_every_kind(dce: Any, domain: Any) -> None:
    try:
        samr.hSamrEnumerateUsersInDomain(dce, domain, 0)
    except samr.DCERPCSessionError as exc:
        if exc.get_error_code() != 0x00000105:  # STATUS_MORE_ENTRIES: the first page came
            raise


def _listed(machine: LocalMachine, *users: LocalUser) -> None:
    """Make sure the machine lists ``users``. Samba's SAMR server keeps a domain's user
    enumeration for about 10 s after its last use (flushed by changes made over SAMR, not by
    pdbedit's), so an account the test world made may not show in a listing yet (a lookup by
    name sees it at once). It also drops the kept enumeration when one is asked for with
    other account flags (``_samr_EnumDomainUsers``: a different ``acct_flags`` frees it), so
    one enumeration of every kind of account, before the connector's own (normal accounts
    only), makes the latter a fresh one: no 11 s wait for the cache to run out."""
    wanted = {u.name for u in users}
    facts = machine.facts
    session = SamrSession(
        facts.host, facts.port, facts.machine, facts.admin_user, facts.admin_password, 10
    )
    try:
        session.call(_enumerate_every_kind)
    finally:
        session.close()

    async def names() -> set[str]:
        async with LocalAccountsConnector(machine.config()) as conn:
            return {a.username async for a in conn.iter_accounts()}

    listed = asyncio.run(names())
    assert wanted <= listed, f"{facts.machine} does not list {sorted(wanted - listed)}"


def _add_machine(cli, name: str, machine: LocalMachine) -> None:
    facts = machine.facts
    bind = cli.add_cred(
        "Contoso", f"{facts.machine} admin", facts.admin_password, "--type", "directory_admin",
        "--sync-mode", "off", username=f"{facts.machine}\\{facts.admin_user}",
    )  # fmt: skip
    cli.ok(
        "directory", "add", "Contoso", name, "--kind", "local-accounts", "--url", facts.url,
        "--machine", facts.machine, "--bind-credential", bind["id"][:8],
    )  # fmt: skip


@pytest.fixture
def two_machines(cli, local_machine: LocalMachine, local_machine_2: LocalMachine):
    """Client Contoso (directory sync on) with directories ``fs1`` (FILESRV1) and ``fs2``
    (FILESRV2), each bound with its own machine's admin credential."""
    assert local_machine.facts.machine == "FILESRV1"
    assert local_machine_2.facts.machine == "FILESRV2"
    cli.use_session()
    cli.add_client("Contoso")
    cli.ok("client", "set", "Contoso", "--directory-sync", "on")
    _add_machine(cli, "fs1", local_machine)
    _add_machine(cli, "fs2", local_machine_2)
    return cli


def _run_of(result: dict, directory: str) -> dict:
    (run,) = [r for r in result["runs"] if r["directory"] == directory]
    return run


def test_each_machine_plans_only_its_own_credentials(
    two_machines, local_machine: LocalMachine, local_machine_2: LocalMachine
) -> None:
    cli = two_machines
    one = local_machine.admin.create_user("One-Machine-Pw-1!")
    two = local_machine_2.admin.create_user("Two-Machine-Pw-2!")
    on_one = cli.add_cred("Contoso", "FS1 kiosk", "One-Machine-Pw-1!",
                          username=f"FILESRV1\\{one.name}")  # fmt: skip
    on_two = cli.add_cred("Contoso", "FS2 kiosk", "Two-Machine-Pw-2!",
                          username=f"filesrv2\\{two.name}")  # fmt: skip
    nosuch = cli.add_cred("Contoso", "FS1 typo", "Whatever-Pw-3!",
                          username="FILESRV1\\nosuch-local-21")  # fmt: skip
    _listed(local_machine, one)
    _listed(local_machine_2, two)
    result = cli.json("sync", "run", "Contoso")
    fs1, fs2 = _run_of(result, "fs1"), _run_of(result, "fs2")
    seen1 = {i["credential_id"]: i["status"] for i in fs1["items"]}
    seen2 = {i["credential_id"]: i["status"] for i in fs2["items"]}
    assert seen1 == {on_one["id"]: "in_sync", nosuch["id"]: "unmatched"}
    assert seen2 == {on_two["id"]: "in_sync"}
    assert fs2["summary"]["statuses"] == {"in_sync": 1}  # the others not counted there
    flags = cli.json("flags", "Contoso")
    assert [(f["credential_id"], f["directory"], f["status"]) for f in flags] == [
        (nosuch["id"], "fs1", "unmatched")
    ]
    # a machine's own bad name stays flagged; nothing of the other machine's appears
    again = cli.json("sync", "run", "Contoso")
    assert _run_of(again, "fs2")["summary"]["statuses"] == {"in_sync": 1}
    assert _run_of(again, "fs2")["summary"]["binds"] == 0


def test_enforce_pushes_each_credential_to_its_own_machine(
    two_machines, local_machine: LocalMachine, local_machine_2: LocalMachine
) -> None:
    cli = two_machines
    two = local_machine_2.admin.create_user("Before-Two-Pw-1!")
    cred = cli.add_cred("Contoso", "FS2 service", "After-Two-Only-Pw-9!",
                        username=f"FILESRV2\\{two.name}")  # fmt: skip
    _listed(local_machine_2, two)
    first = cli.json("sync", "run", "Contoso")  # links on fs2 (a mismatch), nothing on fs1
    assert [(i["status"], i["action"]) for i in _run_of(first, "fs2")["items"]] == [
        ("mismatch", "verify")
    ]
    assert _run_of(first, "fs1")["items"] == []
    cli.ok("cred", "sync-mode", cred["id"], "enforce", "--yes")
    result = cli.json("sync", "run", "Contoso")
    fs2 = [i for i in _run_of(result, "fs2")["items"] if i["credential_id"] == cred["id"]]
    assert [(i["status"], i["action"]) for i in fs2] == [("in_sync", "push")]
    assert [i for i in _run_of(result, "fs1")["items"] if i["credential_id"] == cred["id"]] == []
    assert _works(local_machine_2, two.name, "After-Two-Only-Pw-9!")
    assert cli.json("flags", "Contoso") == []


def test_a_flag_on_a_credential_that_names_another_machine_since_is_closed(two_machines) -> None:
    cli = two_machines
    cred = cli.add_cred("Contoso", "Someone", "Whatever-Pw-4!", username="nobody-local-21")
    cli.ok("sync", "run", "Contoso")  # a bare name: every machine's business, and no match
    flagged = {f["directory"]: f["status"] for f in cli.json("flags", "Contoso")}
    assert flagged == {"fs1": "unmatched", "fs2": "unmatched"}
    cli.ok("cred", "edit", cred["id"], "--username", "FILESRV9\\nobody-local-21")
    result = cli.json("sync", "run", "Contoso")
    for name in ("fs1", "fs2"):  # no machine of the client: neither plans nor counts it
        assert _run_of(result, name)["items"] == []
        assert _run_of(result, name)["summary"]["statuses"] == {}
    assert cli.json("flags", "Contoso") == []  # both closed by the full pass (out_of_scope)
