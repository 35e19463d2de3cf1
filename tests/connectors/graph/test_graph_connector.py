"""The Graph connector against the Graph simulator: credentials, tokens, paging, throttling and
faults, pushes with options and refusals, batching, delta, and secrets kept out of sight."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Any

import httpx
import pytest

from credsync.connectors.base import Account, PasswordOptions, StepOutcome
from credsync.connectors.graph import GraphConnector
from credsync.errors import (
    AccountNotFound,
    DirectoryAuthFailed,
    DirectoryDenied,
    PermanentConnectorError,
    PolicyRejected,
)
from credsync.testing.conformance import run
from credsync.testing.graphsim import GraphSimulator, ThrottleConfig
from credsync.types import Secret

from .world import GraphWorld, strong

READER = ("User.Read.All",)
PUSHER = ("User.ReadWrite.All", "User-PasswordProfile.ReadWrite.All")


def steps_of(conn: GraphConnector) -> dict[str, Any]:
    return {s.name: s for s in run(conn.test_connection())}


async def _all(conn: GraphConnector) -> list[Account]:
    return [a async for a in conn.iter_accounts()]


# --- signing in -----------------------------------------------------------------------------
@pytest.mark.parametrize("certificate", [True, False], ids=["certificate", "secret"])
def test_certificate_and_secret_both_sign_in(gw: GraphWorld, certificate: bool) -> None:
    user = gw.create_user()
    conn = GraphConnector(gw.config(certificate=certificate))
    try:
        steps = steps_of(conn)
        assert all(s.outcome is StepOutcome.OK for s in steps.values()), steps
        assert ("certificate" if certificate else "client secret") in steps["token"].detail
        assert run(conn.get_account(user.id)).upn == user.username
    finally:
        run(conn.close())


def test_the_credential_option_is_trusted(gw: GraphWorld) -> None:
    """A PEM given as a "secret" is sent as a client secret (and refused by the tenant)."""
    conn = GraphConnector(gw.config(certificate=True, options={"credential": "secret"}))
    try:
        steps = steps_of(conn)
        assert steps["token"].outcome is StepOutcome.FAILED
        assert "AADSTS" in steps["token"].detail
    finally:
        run(conn.close())


def test_an_encrypted_private_key_is_refused_clearly(gw: GraphWorld) -> None:
    app = gw.tenant.default_app
    encrypted = app.private_key_pem.replace("PRIVATE KEY", "ENCRYPTED PRIVATE KEY")
    conn = GraphConnector(gw.config(bind_password=Secret(app.certificate_pem + encrypted)))
    try:
        with pytest.raises(DirectoryAuthFailed, match="encrypted, which is not supported"):
            run(conn.get_account(str(uuid.uuid4())))
    finally:
        run(conn.close())


def test_one_token_serves_many_calls(gw: GraphWorld) -> None:
    users = [gw.create_user() for _ in range(3)]
    before = gw.tenant.stats["tokens"]
    conn = gw.connector()
    try:
        for user in users:
            run(conn.get_account(user.id))
        run(_all(conn))
        run(conn.changes_since(None))
        assert conn.token_requests == 1
        assert gw.tenant.stats["tokens"] - before == 1
    finally:
        run(conn.close())


def test_an_expired_token_is_renewed_once(graph_sim: GraphSimulator) -> None:
    """Graph answers 401 to an expired token: the connector drops it and signs in again."""
    with GraphSimulator(port=0, seed=3) as sim:  # a clock of this test's own
        gw = GraphWorld(sim, sim.add_tenant(users=0, groups=0))
        user = gw.create_user()
        conn = gw.connector()
        try:
            run(conn.get_account(user.id))
            sim.advance_clock(2 * 3600)
            run(conn.get_account(user.id))
            assert conn.token_requests == 2
        finally:
            run(conn.close())


def test_an_app_without_the_push_permission(gw: GraphWorld) -> None:
    app = gw.tenant.add_app(permissions=READER, directory_role="User Administrator")
    user = gw.create_user()
    conn = GraphConnector(gw.config(app))
    try:
        steps = steps_of(conn)
        assert steps["permissions"].outcome is StepOutcome.WARNING
        assert "User-PasswordProfile.ReadWrite.All" in steps["permissions"].detail
        assert steps["read users"].outcome is StepOutcome.OK
        account = run(conn.get_account(user.id))
        with pytest.raises(DirectoryDenied) as caught:
            run(conn.set_password(account, Secret(strong()), PasswordOptions()))
        assert "User-PasswordProfile.ReadWrite.All" in str(caught.value)
        assert gw.tenant.check_password(user.id, user.password)
    finally:
        run(conn.close())


def test_an_app_that_cannot_read_users_fails_the_permissions_step(gw: GraphWorld) -> None:
    app = gw.tenant.add_app(permissions=("Group.Read.All",), directory_role=None)
    conn = GraphConnector(gw.config(app))
    try:
        steps = run(conn.test_connection())
        by_name = {s.name: s for s in steps}
        assert by_name["permissions"].outcome is StepOutcome.FAILED
        assert "Group.Read.All" in by_name["permissions"].detail
        assert [s.outcome for s in steps[-2:]] == [StepOutcome.SKIPPED] * 2
    finally:
        run(conn.close())


def test_directory_roles_are_named(gw: GraphWorld) -> None:
    ua = gw.tenant.add_app(permissions=PUSHER, directory_role="User Administrator")
    none = gw.tenant.add_app(permissions=PUSHER, directory_role=None)
    for app, outcome, words in (
        (gw.tenant.default_app, StepOutcome.OK, "Privileged Authentication Administrator"),
        (ua, StepOutcome.OK, "User Administrator (may reset passwords of non-admin users"),
        (none, StepOutcome.WARNING, "pushes need User Administrator"),
    ):
        conn = GraphConnector(gw.config(app))
        try:
            step = steps_of(conn)["directory role"]
            assert step.outcome is outcome
            assert words in step.detail
        finally:
            run(conn.close())


def test_insecure_skip_verify_is_a_tls_warning(gw: GraphWorld) -> None:
    conn = gw.connector(ca_file=gw.wrong_ca_file(), insecure_skip_verify=True)
    try:
        steps = steps_of(conn)
        assert steps["tls"].outcome is StepOutcome.WARNING
        assert "NOT checked" in steps["tls"].detail
        assert steps["token"].outcome is StepOutcome.OK
        assert steps["read users"].outcome is StepOutcome.OK
    finally:
        run(conn.close())


def test_an_unreachable_authority_fails_the_first_step(gw: GraphWorld) -> None:
    conn = gw.connector(options={"authority": "https://127.0.0.1:1"})
    try:
        steps = run(conn.test_connection())
        assert steps[0].name == "connect"
        assert steps[0].outcome is StepOutcome.FAILED
        assert "authority 127.0.0.1:1" in steps[0].detail
    finally:
        run(conn.close())


# --- reading --------------------------------------------------------------------------------
def test_paging_follows_next_links(graph_sim: GraphSimulator) -> None:
    tenant = graph_sim.add_tenant(users=2500, groups=0)
    gw = GraphWorld(graph_sim, tenant)
    conn = gw.connector(options={"page_size": "300"})
    try:
        tenant.reset_stats()
        accounts = run(_all(conn))
        assert len({a.id for a in accounts}) == len(accounts) == tenant.users_count()
        assert tenant.stats["reads"] == -(-tenant.users_count() // 300)  # 9 pages
    finally:
        run(conn.close())


def test_a_looping_next_link_is_refused(gw: GraphWorld) -> None:
    """A faithful Graph never sends a nextLink twice, so the simulator cannot: Graph is a tiny
    local httpx MockTransport here (tokens still come from the simulator)."""
    loop_link = f"{gw.sim.graph_url}/v1.0/users?$skiptoken=again"
    pages = 0

    def graph(request: httpx.Request) -> httpx.Response:
        nonlocal pages
        pages += 1
        user = {"id": str(uuid.uuid4()), "userPrincipalName": f"u{pages}@x.test"}
        return httpx.Response(200, json={"value": [user], "@odata.nextLink": loop_link})

    conn = GraphConnector(gw.config(), transport=httpx.MockTransport(graph))
    try:
        with pytest.raises(PermanentConnectorError, match="refusing to loop") as caught:
            run(_all(conn))
        assert loop_link in str(caught.value)
        assert pages <= 3
    finally:
        run(conn.close())


def _throttling() -> dict[str, float]:
    """This process's throttling counters (what /metrics reports), by sample name and label."""
    from credsync import telemetry

    return {
        f"{s.name}{s.labels.get('status', '')}": s.value
        for family in telemetry.collector().collect()
        if family.name.startswith("credsync_directory_")
        for s in family.samples
        if s.name.endswith("_total")
    }


def test_a_429_with_retry_after_is_waited_out(gw: GraphWorld) -> None:
    user = gw.create_user()
    gw.tenant.inject_fault(method="GET", path_prefix="/v1.0/users", status=429, retry_after=1)
    conn = gw.connector()
    before = _throttling()
    try:
        started = time.monotonic()
        assert run(conn.get_account(user.id)).id == user.id
        assert time.monotonic() - started >= 0.9
        assert gw.tenant.stats["by_status"].get(429) == 1
    finally:
        run(conn.close())
    after = _throttling()
    # counted for /metrics: the 429, one retry, the second of Retry-After waited
    for name, grew in (
        ("credsync_directory_throttled_responses_total429", 1.0),
        ("credsync_directory_retries_total", 1.0),
        ("credsync_directory_retry_wait_seconds_total", 1.0),
    ):
        assert after[name] - before.get(name, 0.0) == grew, name


def test_throttled_reads_all_finish(gw: GraphWorld) -> None:
    users = [gw.create_user() for _ in range(4)]
    gw.tenant.throttle = ThrottleConfig(
        enabled=True, read_units=4, read_window=1.0, write_units=3000, write_window=150.0
    )
    conn = gw.connector()

    async def read_all() -> list[Account]:
        return list(await asyncio.gather(*(conn.get_account(u.id) for u in users * 2)))

    try:
        assert len(run(read_all())) == 8
        assert gw.tenant.stats["throttled"] >= 1
    finally:
        run(conn.close())


def test_a_503_is_retried(gw: GraphWorld) -> None:
    user = gw.create_user()
    gw.tenant.inject_fault(method="GET", path_prefix="/v1.0/users", status=503, times=2)
    conn = gw.connector()
    try:
        assert run(conn.get_account(user.id)).id == user.id
        assert gw.tenant.stats["by_status"].get(503) == 2
    finally:
        run(conn.close())


def test_a_dropped_connection_is_retried_for_reads(gw: GraphWorld) -> None:
    user = gw.create_user()
    gw.tenant.inject_fault(method="GET", path_prefix="/v1.0/users", status=0, times=1)
    conn = gw.connector()
    try:
        assert run(conn.get_account(user.id)).id == user.id
    finally:
        run(conn.close())


def test_get_account_by_something_not_an_id(gw: GraphWorld) -> None:
    user = gw.create_user()
    conn = gw.connector()
    try:
        with pytest.raises(AccountNotFound):
            run(conn.get_account(user.username))  # a UPN is a name, not the stable id
    finally:
        run(conn.close())


# --- pushing --------------------------------------------------------------------------------
def test_set_password_with_must_change_and_never_expires(gw: GraphWorld) -> None:
    user = gw.create_user()
    conn = gw.connector()
    new = strong()
    try:
        before = run(conn.get_account(user.id))
        after = run(conn.set_password(before, Secret(new), PasswordOptions(True, True)))
    finally:
        run(conn.close())
    stored = gw.tenant.get_user(user.id)
    assert "DisablePasswordExpiration" in stored["passwordPolicies"]
    assert stored["passwordProfile"]["forceChangePasswordNextSignIn"] is True
    assert gw.tenant.check_password(user.id, new)
    assert after.must_change_password
    assert after.password_expired
    assert after.password_stamp == stored["lastPasswordChangeDateTime"]
    assert after.password_stamp != before.password_stamp


def test_default_options_leave_policies_alone(gw: GraphWorld) -> None:
    user = gw.create_user()
    conn = gw.connector()
    try:
        account = run(conn.get_account(user.id))
        after = run(conn.set_password(account, Secret(strong()), PasswordOptions()))
    finally:
        run(conn.close())
    stored = gw.tenant.get_user(user.id)
    assert "DisablePasswordExpiration" not in (stored.get("passwordPolicies") or "")
    assert stored["passwordProfile"]["forceChangePasswordNextSignIn"] is False
    assert not after.must_change_password


def test_an_on_premises_synced_user_is_refused_verbatim(gw: GraphWorld) -> None:
    user = gw.create_user(on_premises_sync=True)
    conn = gw.connector()
    try:
        account = run(conn.get_account(user.id))
        assert account.synced_from_on_premises
        with pytest.raises(PermanentConnectorError) as caught:
            run(conn.set_password(account, Secret(strong()), PasswordOptions()))
    finally:
        run(conn.close())
    assert not isinstance(caught.value, PolicyRejected)
    assert "on-premises mastered Directory Sync objects" in str(caught.value)
    assert gw.tenant.check_password(user.id, user.password)


def test_a_user_administrator_may_not_reset_an_admin(gw: GraphWorld) -> None:
    ua = gw.tenant.add_app(permissions=PUSHER, directory_role="User Administrator")
    admin = gw.create_user(admin_role="Global Administrator")
    plain = gw.create_user()
    weak, strong_app = GraphConnector(gw.config(ua)), gw.connector()
    try:
        pushed = run(weak.set_password(run(weak.get_account(plain.id)), Secret(strong()),
                                       PasswordOptions()))  # fmt: skip
        assert pushed.id == plain.id
        with pytest.raises(DirectoryDenied) as caught:
            run(weak.set_password(run(weak.get_account(admin.id)), Secret(strong()),
                                  PasswordOptions()))  # fmt: skip
        assert "Privileged Authentication Administrator" in str(caught.value)
        new = strong()
        run(strong_app.set_password(run(strong_app.get_account(admin.id)), Secret(new),
                                    PasswordOptions()))  # fmt: skip
        assert gw.tenant.check_password(admin.id, new)
    finally:
        run(weak.close())
        run(strong_app.close())


def test_concurrent_pushes_share_batches(gw: GraphWorld) -> None:
    users = [gw.tenant.create_user(upn=f"b{i}-{uuid.uuid4().hex[:6]}@{gw.tenant.domain}")
             for i in range(200)]  # fmt: skip
    new = {u.id: strong() for u in users}
    conn = gw.connector()

    async def push_all() -> list[Account]:
        accounts = [a async for a in conn.iter_accounts()]
        gate = asyncio.Semaphore(conn.max_in_flight)

        async def push(account: Account) -> Account:
            async with gate:
                return await conn.set_password(account, Secret(new[account.id]), PasswordOptions())

        return list(await asyncio.gather(*(push(a) for a in accounts)))

    try:
        gw.tenant.reset_stats()
        pushed = run(push_all())
    finally:
        run(conn.close())
    assert {a.id for a in pushed} == set(new)
    stats = gw.tenant.stats
    assert stats["password_writes"] == 200
    # 10 users (PATCH + GET) per batch; the simulator counts inner requests as requests
    assert stats["batches"] <= 25
    http_requests = stats["batches"] + stats["requests"] - 400  # and one page of users
    assert http_requests <= 26
    assert all(gw.tenant.check_password(uid, pw) for uid, pw in new.items())


def test_throttled_pushes_all_land(gw: GraphWorld) -> None:
    users = [gw.tenant.create_user(upn=f"t{i}-{uuid.uuid4().hex[:6]}@{gw.tenant.domain}")
             for i in range(30)]  # fmt: skip
    gw.tenant.throttle = ThrottleConfig(
        enabled=True, read_units=8000, read_window=10.0, write_units=10, write_window=1.0
    )
    new = {u.id: strong() for u in users}
    conn = gw.connector()

    async def push_all() -> None:
        accounts = [a async for a in conn.iter_accounts()]
        await asyncio.gather(
            *(conn.set_password(a, Secret(new[a.id]), PasswordOptions()) for a in accounts)
        )

    before = _throttling()
    try:
        run(push_all())
    finally:
        run(conn.close())
    assert gw.tenant.stats["throttled"] >= 1
    assert all(gw.tenant.check_password(uid, pw) for uid, pw in new.items())
    after = _throttling()  # the batches' throttled answers are counted too
    throttled = "credsync_directory_throttled_responses_total429"
    assert after[throttled] - before.get(throttled, 0.0) >= 1
    retries = "credsync_directory_retries_total"
    assert after[retries] - before.get(retries, 0.0) >= 1


# --- delta ----------------------------------------------------------------------------------
def test_delta_full_quiet_reset_and_deletions(gw: GraphWorld) -> None:
    quiet, changing, soft, hard = (gw.create_user() for _ in range(4))
    conn = gw.connector()
    try:
        first = run(conn.changes_since(None))
        assert first.full
        assert not first.removed
        assert {quiet.id, changing.id, soft.id, hard.id} <= {a.id for a in first.changed}
        nothing = run(conn.changes_since(first.cursor))
        assert not nothing.full
        assert (nothing.changed, nothing.removed) == ((), ())
        gw.reset_password(changing, strong())
        reset = run(conn.changes_since(nothing.cursor))
        assert [a.id for a in reset.changed] == [changing.id]
        gw.tenant.soft_delete(soft.id)
        gw.tenant.hard_delete(hard.id)
        gone = run(conn.changes_since(reset.cursor))
        assert set(gone.removed) == {soft.id, hard.id}
        assert quiet.id not in {a.id for a in gone.changed}
    finally:
        run(conn.close())


def test_a_cursor_of_another_tenant_gives_a_full_read(
    graph_sim: GraphSimulator, gw: GraphWorld
) -> None:
    other = GraphWorld(graph_sim, graph_sim.add_tenant(users=0, groups=0))
    other.create_user()
    mine = gw.create_user()
    theirs, conn = other.connector(), gw.connector()
    try:
        cursor = run(theirs.changes_since(None)).cursor
        result = run(conn.changes_since(cursor))
        assert result.full
        assert {a.id for a in result.changed} == {mine.id}
    finally:
        run(theirs.close())
        run(conn.close())


def test_a_refused_delta_link_gives_a_full_read(gw: GraphWorld) -> None:
    user = gw.create_user()
    conn = gw.connector()
    try:
        cursor = run(conn.changes_since(None)).cursor
        gw.tenant.inject_fault(
            method="GET", path_prefix="/v1.0/users/delta", status=410,
            code="resyncRequired", message="Resync required.",
        )  # fmt: skip
        result = run(conn.changes_since(cursor))
        assert result.full
        assert user.id in {a.id for a in result.changed}
    finally:
        run(conn.close())


# --- secrets --------------------------------------------------------------------------------
def test_no_secret_in_reprs_errors_or_logs(
    gw: GraphWorld, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    app = gw.tenant.default_app
    wrong_secret = "Wrong-" + uuid.uuid4().hex
    weak_password = "weakpass" + uuid.uuid4().hex[:6]  # lower case and digits: 2 classes
    good_password = strong()
    user = gw.create_user()
    seen: list[str] = []
    for config, action in (
        (gw.config(bind_password=Secret(wrong_secret)), "token"),
        (gw.config(certificate=True), "push"),
        (gw.config(), "push"),
    ):
        conn = GraphConnector(config)
        try:
            seen.append(repr(conn))
            seen.extend(f"{s!r} {s.detail}" for s in run(conn.test_connection()))
            if action == "push":
                account = run(conn.get_account(user.id))
                with pytest.raises(PolicyRejected) as caught:
                    run(conn.set_password(account, Secret(weak_password), PasswordOptions()))
                seen.append(f"{caught.value!r} {caught.value}")
                assert "does not comply" in str(caught.value)
                done = run(conn.set_password(account, Secret(good_password), PasswordOptions()))
                seen.append(repr(done))
            else:
                with pytest.raises(DirectoryAuthFailed) as failed:
                    run(conn.get_account(user.id))
                seen.append(f"{failed.value!r} {failed.value}")
        finally:
            run(conn.close())
    seen.append(caplog.text)
    text = "\n".join(seen)
    key_body = app.private_key_pem.splitlines()[1]
    for secret in (wrong_secret, app.client_secret, key_body, weak_password, good_password):
        assert secret not in text
