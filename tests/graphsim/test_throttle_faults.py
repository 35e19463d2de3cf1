"""Throttling by resource units (429 + Retry-After and Graph's headers) and injected faults."""

from __future__ import annotations

import httpx
import pytest

from credsync.testing.graphsim import ThrottleConfig

from .conftest import Graph, error_of


def test_reads_are_throttled_with_retry_after(graph: Graph, tenant, sim) -> None:
    tenant.throttle = ThrottleConfig(read_units=10, read_window=100.0)
    statuses = []
    for _ in range(8):
        answer = graph.get("/users", params={"$top": 1})  # 2 units each (no $select)
        statuses.append(answer.status_code)
        assert answer.headers["x-ms-resource-unit"] == "2"
    assert statuses == [200] * 5 + [429] * 3
    assert int(answer.headers["Retry-After"]) == 20  # 2 units at 0.1 unit/s
    assert answer.headers["x-ms-throttle-information"] == "ResourceUnitLimitExceeded"
    assert tenant.id in answer.headers["x-ms-throttle-scope"]
    assert float(answer.headers["x-ms-throttle-limit-percentage"]) >= 0.8
    assert error_of(answer)["code"] == "TooManyRequests"
    assert error_of(answer)["message"] == "Too many requests."
    assert tenant.stats["throttled"] == 3
    assert tenant.stats["by_status"][429] == 3
    selected = graph.get("/users", params={"$select": "id"})
    assert selected.status_code == 429
    sim.advance_clock(20)  # refills the bucket
    ok = graph.get("/users", params={"$select": "id", "$top": 1})
    assert ok.status_code == 200
    assert ok.headers["x-ms-resource-unit"] == "1"  # $select takes one off


def test_throttling_can_be_switched_off(graph: Graph, tenant) -> None:
    tenant.throttle = ThrottleConfig(enabled=False, read_units=1, read_window=100.0)
    assert all(graph.get("/users").status_code == 200 for _ in range(5))


def test_throttling_is_per_app(http, sim, tenant, graph: Graph) -> None:
    tenant.throttle = ThrottleConfig(read_units=2, read_window=100.0)
    assert graph.get("/users").status_code == 200
    assert graph.get("/users").status_code == 429
    other = Graph(http, sim, tenant, tenant.add_app(permissions=("User.Read.All",)))
    assert other.get("/users").status_code == 200


def test_write_bucket(graph: Graph, tenant) -> None:
    tenant.throttle = ThrottleConfig(write_units=2, write_window=150.0)
    user = tenant.create_user()
    results = [graph.patch(f"/users/{user.id}", {"jobTitle": str(i)}) for i in range(3)]
    assert [r.status_code for r in results] == [204, 204, 429]
    assert results[2].headers["x-ms-throttle-information"] == "WriteLimitExceeded"
    assert int(results[2].headers["Retry-After"]) == 75
    assert graph.get("/users").status_code == 200  # reads have their own bucket


def test_injected_faults(graph: Graph, tenant) -> None:
    tenant.inject_fault(method="GET", path_prefix="/v1.0/users", status=503, times=2, retry_after=3)
    first, second, third = (graph.get("/users") for _ in range(3))
    assert (first.status_code, second.status_code, third.status_code) == (503, 503, 200)
    assert first.headers["Retry-After"] == "3"
    assert error_of(first)["code"] == "ServiceUnavailable"
    tenant.inject_fault(
        method="PATCH", path_prefix="/v1.0/users/", status=429, code="Custom", message="Slow down"
    )
    user = tenant.create_user()
    assert graph.get(f"/users/{user.id}").status_code == 200  # method must match
    custom = graph.patch(f"/users/{user.id}", {"jobTitle": "x"})
    assert custom.status_code == 429
    assert error_of(custom)["code"] == "Custom"
    assert error_of(custom)["message"] == "Slow down"
    assert tenant.stats["by_status"][503] == 2


def test_dropped_connection(graph: Graph, tenant) -> None:
    tenant.inject_fault(method="GET", path_prefix="/v1.0/users", status=0)
    with pytest.raises(httpx.RemoteProtocolError):
        graph.get("/users")
    assert graph.get("/users").status_code == 200


def test_a_connection_dropped_after_the_write_loses_only_the_answer(graph: Graph, tenant) -> None:
    user = tenant.create_user()
    tenant.inject_fault(method="PATCH", path_prefix="/v1.0/users", status=0, after=True)
    with pytest.raises(httpx.RemoteProtocolError):
        graph.patch(f"/users/{user.id}", {"passwordProfile": {"password": "Landed-Pa55word!"}})
    assert tenant.check_password(user.id, "Landed-Pa55word!")  # done, though nobody heard
    assert tenant.password_log.count(user.id, "Landed-Pa55word!") == 1
    answer = graph.patch(f"/users/{user.id}", {"passwordProfile": {"password": "Next-Pa55word!"}})
    assert answer.status_code == 204  # the fault was used up


def test_stats(graph: Graph, tenant) -> None:
    tenant.reset_stats()
    graph.get("/users")
    user = tenant.create_user()
    graph.patch(f"/users/{user.id}", {"passwordProfile": {"password": "Stat1stics!ok"}})
    stats = tenant.stats
    assert stats["requests"] == 2
    assert stats["reads"] == 1
    assert stats["writes"] == 1
    assert stats["password_writes"] == 1
    assert stats["by_status"] == {200: 1, 204: 1}


def test_a_fault_for_the_same_route_replaces_the_last(graph: Graph, tenant) -> None:
    tenant.inject_fault(method="GET", path_prefix="/v1.0/users", status=503, times=50)
    assert graph.get("/users").status_code == 503
    tenant.inject_fault(method="GET", path_prefix="/v1.0/users", status=500, times=1)
    assert graph.get("/users").status_code == 500
    assert graph.get("/users").status_code == 200
    tenant.inject_fault(method="GET", path_prefix="/v1.0/users", status=503, times=50)
    tenant.inject_fault(method="GET", path_prefix="/v1.0/users", status=503, times=0)
    assert graph.get("/users").status_code == 200


def test_a_tenant_wide_write_limit_holds_all_apps_together(graph: Graph, http, sim, tenant) -> None:
    """Entra: 18,000 writes per 5 minutes per tenant, whichever apps make them."""
    tenant.throttle = ThrottleConfig(
        write_units=10, write_window=150.0, tenant_write_units=3, tenant_write_window=300.0
    )
    user = tenant.create_user()
    other = Graph(http, sim, tenant, tenant.add_app(permissions=("User.ReadWrite.All",)))
    codes = [graph.patch(f"/users/{user.id}", {"jobTitle": "a"}).status_code for _ in range(2)]
    assert codes == [204, 204]
    assert other.patch(f"/users/{user.id}", {"jobTitle": "b"}).status_code == 204
    refused = other.patch(f"/users/{user.id}", {"jobTitle": "c"})
    assert refused.status_code == 429
    assert refused.headers["x-ms-throttle-scope"] == f"Tenant/Write/{tenant.id}"
    assert int(refused.headers["Retry-After"]) == 100  # one unit back at 3 per 300 s
    assert ThrottleConfig().tenant_write_units == 18000
    assert ThrottleConfig().tenant_write_window == 300.0


def test_injected_latency_matches_like_a_fault_and_replaces_the_last(graph: Graph, tenant) -> None:
    latency = tenant.latency
    latency.set(0.02, method="patch")  # /v1.0/users by default
    assert latency.of("PATCH", "/v1.0/users/abc") == 0.02
    assert latency.of("GET", "/v1.0/users/abc") == 0.0
    assert latency.of("PATCH", "/v1.0/groups/abc") == 0.0
    latency.set(0.01, method="PATCH")  # the same route: replaced
    latency.set(0.03, path_prefix="/v1.0/USERS/abc")  # any method, a narrower path: the longest
    assert latency.of("PATCH", "/v1.0/users/abc") == 0.03
    assert latency.of("PATCH", "/v1.0/users/other") == 0.01
    user = tenant.create_user()
    answer = graph.patch(f"/users/{user.id}", {"passwordProfile": {"password": "Sl0w-but-sure!"}})
    assert answer.status_code == 204  # delayed, then handled as ever
    assert tenant.check_password(user.id, "Sl0w-but-sure!")
    latency.set(0, method="PATCH")
    assert latency.of("PATCH", "/v1.0/users/other") == 0.0
    latency.clear()
    assert latency.of("GET", "/v1.0/users/abc") == 0.0
    with pytest.raises(ValueError, match="latency must be 0 or more seconds, not -1"):
        latency.set(-1)


def test_the_password_log_counts_each_users_writes_by_password(graph: Graph, tenant) -> None:
    user, other = tenant.create_user(), tenant.create_user()
    for password in ("First-Pa55word!", "First-Pa55word!", "Second-Pa55word!"):
        answer = graph.patch(f"/users/{user.id}", {"passwordProfile": {"password": password}})
        assert answer.status_code == 204, answer.text
    refused = graph.patch(f"/users/{user.id}", {"passwordProfile": {"password": "weak"}})
    assert refused.status_code == 400  # refused: not written
    tenant.set_password(other.id, "Portal-Pa55word!")  # the portal: no app wrote it
    log = tenant.password_log
    assert log.count(user.id) == 3
    assert log.count(user.id, "First-Pa55word!") == 2
    assert log.count(user.id, "Second-Pa55word!") == 1
    assert log.count(user.id, "weak") == 0
    assert log.count(other.id) == 0
