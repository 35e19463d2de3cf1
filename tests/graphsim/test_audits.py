"""The directory audit log: GET /auditLogs/directoryAudits[/{id}], its permissions, $filter
subset, ordering and paging, the visibility delay and retention on the simulator's clock, and the
entries written by the app's resets and by the portal helpers."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from credsync.testing.graphsim import GraphSimulator, SimTenant, simulator_fixture
from credsync.testing.graphsim._audits import AUDIT_PROPERTIES

from .conftest import Graph, client_for, error_of
from .reference import schema
from .test_schema import check

PATH = "/auditLogs/directoryAudits"
AUDIT_READ = ("AuditLog.Read.All", "Directory.Read.All")
NEW_PASSWORD = "Rot4ted!Secret"
SELF = "Reset password (self-service)"

# a simulator of this module's own: these tests move its clock by days
clock_sim = simulator_fixture(scope="module", seed=11, name="clock_sim")


@pytest.fixture
def auditor(http: httpx.Client, sim: GraphSimulator, tenant: SimTenant) -> Graph:
    return client_for(http, sim, tenant, tenant.add_app(permissions=AUDIT_READ))


def _values(graph: Graph, query: str = "") -> list[dict[str, Any]]:
    answer = graph.get(PATH + query)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["value"])


def _reset_by_app(graph: Graph, user_id: str, password: str = NEW_PASSWORD) -> httpx.Response:
    return graph.patch(f"/users/{user_id}", {"passwordProfile": {"password": password}})


# --- permissions --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("permissions", "allowed"),
    [
        (("AuditLog.Read.All", "Directory.Read.All"), True),
        (("AuditLog.Read.All",), False),
        (("Directory.Read.All",), False),
        (("Directory.ReadWrite.All", "User.ReadWrite.All"), False),
        (("AuditLog.Read.All", "Directory.ReadWrite.All"), False),
    ],
)
def test_both_permissions_are_needed(http, sim, tenant, permissions, allowed) -> None:
    entry = tenant.user_changed_password(tenant.user_ids()[0], NEW_PASSWORD)
    graph = client_for(http, sim, tenant, tenant.add_app(permissions=permissions))
    for path in (PATH, f"{PATH}/{entry['id']}"):
        answer = graph.get(path)
        if allowed:
            assert answer.status_code == 200, answer.text
        else:
            assert answer.status_code == 403, answer.text
            error = error_of(answer)
            assert error["code"] == "Authorization_RequestDenied"


def test_the_default_app_cannot_read_the_audit_log(graph: Graph) -> None:
    """DEFAULT_PERMISSIONS hold Directory.Read.All but not AuditLog.Read.All."""
    assert graph.get(PATH).status_code == 403


# --- entries written ----------------------------------------------------------------------------
def test_the_apps_reset_is_logged_as_initiated_by_the_app(graph, auditor, tenant) -> None:
    user = tenant.create_user(display_name="Ada Reset")
    before = tenant.get_user(user.id)["lastPasswordChangeDateTime"]
    assert _reset_by_app(graph, user.id).status_code == 204
    assert tenant.check_password(user.id, NEW_PASSWORD)
    (entry,) = _values(auditor, f"?$filter=targetResources/any(t: t/id eq '{user.id}')")
    assert entry["activityDisplayName"] == "Reset user password"
    assert entry["category"] == "UserManagement"
    assert entry["loggedByService"] == "Core Directory"
    assert entry["result"] == "success"
    assert entry["initiatedBy"]["user"] is None
    app = entry["initiatedBy"]["app"]
    assert app["appId"] == tenant.default_app.client_id
    assert app["servicePrincipalId"] == tenant.default_app.service_principal_id
    (target,) = entry["targetResources"]
    assert (target["id"], target["type"], target["userPrincipalName"]) == (
        user.id,
        "User",
        user.upn,
    )
    assert tenant.get_user(user.id)["lastPasswordChangeDateTime"] >= before
    assert NEW_PASSWORD not in str(entry)


def test_a_refused_weak_password_is_logged_as_a_failure(graph, auditor, tenant) -> None:
    user = tenant.create_user()
    answer = _reset_by_app(graph, user.id, "weakpass")
    assert answer.status_code == 400
    assert tenant.check_password(user.id, user.password)
    (entry,) = _values(auditor, f"?$filter=targetResources/any(t: t/id eq '{user.id}')")
    assert entry["result"] == "failure"
    assert "complexity" in entry["resultReason"]
    assert entry["initiatedBy"]["app"]["appId"] == tenant.default_app.client_id
    assert "weakpass" not in str(entry)


def test_a_denied_or_non_password_patch_writes_no_entry(http, sim, graph, auditor, tenant) -> None:
    user = tenant.create_user()
    assert graph.patch(f"/users/{user.id}", {"displayName": "Renamed"}).status_code == 204
    no_role = tenant.add_app(permissions=("User-PasswordProfile.ReadWrite.All",))
    assert _reset_by_app(client_for(http, sim, tenant, no_role), user.id).status_code == 403
    assert _values(auditor, f"?$filter=targetResources/any(t: t/id eq '{user.id}')") == []


def test_a_reset_inside_a_batch_is_logged(graph, auditor, tenant) -> None:
    user = tenant.create_user()
    batch = graph.post(
        "/$batch",
        {
            "requests": [
                {
                    "id": "1",
                    "method": "PATCH",
                    "url": f"/users/{user.id}",
                    "headers": {"Content-Type": "application/json"},
                    "body": {"passwordProfile": {"password": NEW_PASSWORD}},
                }
            ]
        },
    )
    assert batch.json()["responses"][0]["status"] == 204
    (entry,) = _values(auditor, f"?$filter=targetResources/any(t: t/id eq '{user.id}')")
    assert entry["initiatedBy"]["app"]["appId"] == tenant.default_app.client_id


def test_the_portal_helpers(auditor, tenant) -> None:
    user = tenant.create_user(display_name="Portal Person")
    admin = tenant.create_user(upn=f"it.admin@{tenant.domain}", admin_role="User Administrator")
    stamps = [tenant.get_user(user.id)["lastPasswordChangeDateTime"]]

    changed = tenant.user_changed_password(user.id, "Ch4nged!ByUser")
    assert tenant.check_password(user.id, "Ch4nged!ByUser")
    stamps.append(tenant.get_user(user.id)["lastPasswordChangeDateTime"])
    reset = tenant.admin_reset(user.id, "Res3t!ByAdmin", by=admin.upn)
    assert tenant.check_password(user.id, "Res3t!ByAdmin")
    stamps.append(tenant.get_user(user.id)["lastPasswordChangeDateTime"])
    sspr = tenant.sspr_reset(user.id, "S3lf!Service")
    assert tenant.check_password(user.id, "S3lf!Service")
    stamps.append(tenant.get_user(user.id)["lastPasswordChangeDateTime"])
    assert stamps == sorted(stamps)

    assert (changed["activityDisplayName"], changed["loggedByService"]) == (
        "Change user password",
        "Core Directory",
    )
    assert changed["initiatedBy"]["user"]["id"] == user.id
    assert changed["initiatedBy"]["app"] is None
    assert (reset["activityDisplayName"], reset["loggedByService"]) == (
        "Reset user password",
        "Core Directory",
    )
    assert reset["initiatedBy"]["user"]["userPrincipalName"] == admin.upn
    assert reset["initiatedBy"]["user"]["id"] == admin.id
    assert (sspr["activityDisplayName"], sspr["loggedByService"]) == (
        "Reset password (self-service)",
        "Self-service Password Management",
    )
    assert sspr["initiatedBy"]["user"]["id"] == user.id
    listed = _values(auditor, f"?$filter=targetResources/any(t: t/id eq '{user.id}')")
    assert [e["id"] for e in listed] == [sspr["id"], reset["id"], changed["id"]]  # newest first
    for entry in listed:
        assert entry["targetResources"][0]["id"] == user.id
        assert entry["result"] == "success"
    fetched = auditor.get(f"{PATH}/{reset['id']}")
    assert fetched.status_code == 200
    assert {k: v for k, v in fetched.json().items() if k != "@odata.context"} == reset


def test_a_helper_with_a_weak_password_logs_a_failure_and_raises(tenant) -> None:
    user = tenant.create_user()
    stamp = tenant.get_user(user.id)["lastPasswordChangeDateTime"]
    with pytest.raises(ValueError, match="complexity"):
        tenant.sspr_reset(user.id, "short")
    assert tenant.check_password(user.id, user.password)
    assert tenant.get_user(user.id)["lastPasswordChangeDateTime"] == stamp
    (entry,) = [e for e in tenant.audit_entries() if e["targetResources"][0]["id"] == user.id]
    assert (entry["result"], entry["activityDisplayName"]) == (
        "failure",
        "Reset password (self-service)",
    )
    assert entry["resultReason"]


def test_an_admin_reset_by_default_names_the_tenants_admin(tenant) -> None:
    entry = tenant.admin_reset(tenant.user_ids()[1], NEW_PASSWORD)
    assert entry["initiatedBy"]["user"]["userPrincipalName"] == f"admin@{tenant.domain}"


# --- $filter ------------------------------------------------------------------------------------
@pytest.fixture
def world(graph: Graph, tenant: SimTenant) -> dict[str, Any]:
    """One entry of each kind, on two users."""
    first, second = tenant.create_user(upn=f"first@{tenant.domain}"), tenant.create_user()
    admin = tenant.create_user(upn=f"helpdesk@{tenant.domain}", display_name="Help Desk")
    assert _reset_by_app(graph, first.id).status_code == 204
    return {
        "first": first,
        "second": second,
        "admin": admin,
        "app": tenant.default_app.client_id,
        "changed": tenant.user_changed_password(second.id, "Ch4nged!ByUser"),
        "reset": tenant.admin_reset(first.id, "Res3t!ByAdmin", by=admin.upn),
        "sspr": tenant.sspr_reset(second.id, "S3lf!Service"),
        "again": tenant.admin_reset(second.id, "Res3t!Again", by=admin.upn),
    }


def _names(graph: Graph, text: str) -> list[str]:
    return sorted(e["activityDisplayName"] for e in _values(graph, f"?$filter={text}"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("activityDisplayName eq 'Reset user password'", ["Reset user password"] * 3),
        ("startswith(activityDisplayName,'Change')", ["Change user password"]),
        ("startswith(activityDisplayName, 'reset')", [SELF] + ["Reset user password"] * 3),
        ("loggedByService eq 'Self-service Password Management'", [SELF]),
        ("category eq 'UserManagement' and result eq 'success'", None),
        ("category eq 'GroupManagement'", []),
        ("result eq 'failure'", []),
        ("initiatedBy/user/userPrincipalName eq 'HELPDESK@{domain}'", ["Reset user password"] * 2),
        ("startswith(initiatedBy/user/userPrincipalName,'helpdesk@')", ["Reset user password"] * 2),
        ("initiatedBy/user/id eq '{second}'", ["Change user password", SELF]),
        ("initiatedBy/app/appId eq '{app}'", ["Reset user password"]),
        ("targetResources/any(t: t/id eq '{first}')", ["Reset user password"] * 2),
        ("targetResources/any(x:x/id eq '{second}') and loggedByService eq 'Core Directory'",
         ["Change user password", "Reset user password"]),
        ("targetResources/any(t: startswith(t/displayName, 'first'))", ["Reset user password"] * 2),
        ("activityDisplayName eq 'Reset user password' and initiatedBy/app/appId eq '{app}'",
         ["Reset user password"]),
    ],
)  # fmt: skip
def test_each_filter(auditor, world, tenant, text, expected) -> None:
    text = text.format(
        domain=tenant.domain, first=world["first"].id, second=world["second"].id, app=world["app"]
    )
    if expected is None:
        expected = _names(auditor, "category eq 'UserManagement'")
        assert len(expected) == 5
    assert _names(auditor, text) == sorted(expected)


def test_filters_on_the_activity_time(auditor, world, sim) -> None:
    entries = _values(auditor)
    stamp = entries[0]["activityDateTime"]
    assert len(_values(auditor, f"?$filter=activityDateTime ge {stamp}")) >= 1
    assert len(_values(auditor, f"?$filter=activityDateTime le {stamp}")) == len(entries)
    assert _values(auditor, f"?$filter=activityDateTime gt {stamp}") == []
    assert _values(auditor, "?$filter=activityDateTime lt 2000-01-01") == []
    assert len(_values(auditor, "?$filter=activityDateTime gt 2000-01-01T00:00:00.5Z")) == 5
    equal = _values(auditor, f"?$filter=activityDateTime eq {stamp}")
    assert equal
    assert all(e["activityDateTime"] == stamp for e in equal)
    answer = auditor.get(PATH + "?$filter=activityDateTime ge 'yesterday'")
    assert answer.status_code == 400


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("operationType eq 'Update'", "operationType"),
        ("loggedByService ne 'Core Directory'", "'ne'"),
        ("startswith(loggedByService,'Core')", "'startswith'"),
        ("initiatedBy/app/appId eq 'a' or result eq 'success'", "'or'"),
        ("not (result eq 'success')", "'not'"),
        ("result in ('success', 'failure')", "'in'"),
        ("endswith(activityDisplayName,'password')", "'endswith'"),
        ("targetResources/any(t: t/type eq 'User')", "t/type"),
        ("initiatedBy/user/ipAddress eq '1.2.3.4'", "initiatedBy/user/ipAddress"),
        ("activityDisplayName eq", "Invalid filter clause"),
    ],
)
def test_a_filter_outside_the_subset_is_refused_naming_it(auditor, text, named) -> None:
    answer = auditor.get(f"{PATH}?$filter={text}")
    assert answer.status_code == 400, answer.text
    assert named in error_of(answer)["message"]


# --- ordering, paging, options ------------------------------------------------------------------
def test_ordering_and_paging(auditor, tenant, sim) -> None:
    user = tenant.create_user()
    made = []
    for number in range(7):
        made.append(tenant.user_changed_password(user.id, f"Ch4nged!{number:02d}")["id"])
        sim.advance_clock(1)
    query = f"?$filter=targetResources/any(t: t/id eq '{user.id}')"
    newest = [e["id"] for e in _values(auditor, query)]
    assert newest == made[::-1]
    oldest = [e["id"] for e in _values(auditor, query + "&$orderby=activityDateTime asc")]
    assert oldest == made
    assert [e["id"] for e in _values(auditor, query + "&$orderby=activityDateTime desc")] == newest

    pages: list[list[str]] = []
    url: str | None = PATH + query + "&$top=3"
    while url:
        answer = auditor.get(url)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        pages.append([e["id"] for e in body["value"]])
        url = body.get("@odata.nextLink")
        if url:
            assert "$skiptoken=" in url
            assert url.startswith(f"{sim.graph_url}/v1.0{PATH}?")
            # an entry that happens meanwhile neither repeats nor shifts the pages
            tenant.user_changed_password(user.id, f"Mean!While{len(pages)}")
    assert [len(p) for p in pages] == [3, 3, 1]
    assert [i for page in pages for i in page] == made[::-1]
    ascending, _last = auditor.all(PATH + query + "&$orderby=activityDateTime asc&$top=4")
    assert [e["id"] for e in ascending][:7] == made


def test_top_select_and_refused_options(auditor, tenant) -> None:
    for _ in range(2):
        tenant.user_changed_password(tenant.user_ids()[2], NEW_PASSWORD)
    assert auditor.get(PATH + "?$top=1000").status_code == 200
    for top in ("0", "1001", "many"):
        assert auditor.get(f"{PATH}?$top={top}").status_code == 400
    (first,) = _values(auditor, "?$top=1&$select=id,activityDisplayName")
    assert set(first) == {"id", "activityDisplayName"}
    for query in (
        "?$orderby=category",
        "?$orderby=activityDateTime sideways",
        "?$skip=1",
        "?$expand=initiatedBy",
        "?$select=password",
    ):
        answer = auditor.get(PATH + query)
        assert answer.status_code == 400, query
        error_of(answer)
    bad = auditor.get(PATH + "?$skiptoken=forged")
    assert bad.status_code == 400
    assert error_of(bad)["code"] == "Directory_ExpiredPageToken"
    missing = auditor.get(f"{PATH}/Directory_nothing")
    assert missing.status_code == 404
    assert error_of(missing)["code"] == "Request_ResourceNotFound"


def test_answers_have_graphs_properties_and_types(auditor, world) -> None:
    s = schema()
    props = s.properties("microsoft.graph.directoryAudit")
    for name, kind in AUDIT_PROPERTIES.items():
        assert props.get(name) == kind, f"directoryAudit.{name}: {props.get(name)}"
    entries = _values(auditor)
    assert len(entries) == 5
    checked = sum(
        check(s, entry, "microsoft.graph.directoryAudit", f"audit[{i}]")
        for i, entry in enumerate(entries)
    )
    single = auditor.get(f"{PATH}/{entries[0]['id']}").json()
    checked += check(s, single, "microsoft.graph.directoryAudit", "single")
    assert checked > 100
    assert set(entries[0]) == set(AUDIT_PROPERTIES)


# --- the visibility delay and retention, on a clock of their own ---------------------------------
@pytest.fixture(scope="module")
def clock_http(clock_sim: GraphSimulator) -> Iterator[httpx.Client]:
    with httpx.Client(verify=ssl.create_default_context(cafile=str(clock_sim.ca_file))) as client:
        yield client


def _fresh(client: Graph) -> Graph:
    client._token = None  # the clock moved past the token's lifetime
    return client


def test_an_entry_is_invisible_until_the_delay_has_passed(clock_http, clock_sim) -> None:
    tenant = clock_sim.add_tenant(users=3, groups=0)
    tenant.audit_delay = 120  # Microsoft's 95th percentile
    auditor = client_for(clock_http, clock_sim, tenant, tenant.add_app(permissions=AUDIT_READ))
    entry = tenant.sspr_reset(tenant.user_ids()[0], NEW_PASSWORD)
    assert _values(auditor) == []
    assert auditor.get(f"{PATH}/{entry['id']}").status_code == 404
    clock_sim.advance_clock(115)  # (real time passes too: leave it a few seconds)
    assert _values(auditor) == []
    clock_sim.advance_clock(5)
    assert [e["id"] for e in _values(auditor)] == [entry["id"]]
    assert auditor.get(f"{PATH}/{entry['id']}").status_code == 200
    # activityDateTime is when it happened, not when it became visible
    assert _values(auditor)[0]["activityDateTime"] == entry["activityDateTime"]


@pytest.mark.parametrize(("premium", "days"), [(False, 7), (True, 30)])
def test_retention(clock_http, clock_sim, premium, days) -> None:
    tenant = clock_sim.add_tenant(users=3, groups=0)
    tenant.premium = premium
    auditor = client_for(clock_http, clock_sim, tenant, tenant.add_app(permissions=AUDIT_READ))
    old = tenant.user_changed_password(tenant.user_ids()[0], NEW_PASSWORD)
    clock_sim.advance_clock(days * 86400 - 60)
    recent = tenant.user_changed_password(tenant.user_ids()[1], NEW_PASSWORD)
    assert [e["id"] for e in _values(_fresh(auditor))] == [recent["id"], old["id"]]
    clock_sim.advance_clock(61)
    assert [e["id"] for e in _values(_fresh(auditor))] == [recent["id"]]
    assert auditor.get(f"{PATH}/{old['id']}").status_code == 404
    assert [e["id"] for e in tenant.audit_entries()] == [recent["id"]]
