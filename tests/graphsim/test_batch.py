"""$batch: the limit, ids, dependsOn and 424, relative urls, inner throttling and faults."""

from __future__ import annotations

from credsync.testing.graphsim import ThrottleConfig

from .conftest import Graph, error_of


def _batch(graph: Graph, requests: list[dict]) -> dict:
    answer = graph.post("/$batch", {"requests": requests})
    assert answer.status_code == 200, answer.text
    return {r["id"]: r for r in answer.json()["responses"]}


def test_batch_answers_each_request(graph: Graph, tenant) -> None:
    user = tenant.create_user()
    answers = _batch(
        graph,
        [
            {"id": "1", "method": "GET", "url": f"/users/{user.id}?$select=id"},
            {
                "id": "2",
                "method": "PATCH",
                "url": f"users/{user.id}",
                "headers": {"Content-Type": "application/json"},
                "body": {"passwordProfile": {"password": "Batch3d!Secret"}},
            },
            {"id": "3", "method": "GET", "url": "/users/nobody@nowhere.test"},
        ],
    )
    assert answers["1"]["status"] == 200
    assert answers["1"]["body"]["id"] == user.id
    assert answers["2"]["status"] == 204
    assert "body" not in answers["2"]
    assert answers["3"]["status"] == 404
    assert answers["3"]["body"]["error"]["code"] == "Request_ResourceNotFound"
    assert tenant.check_password(user.id, "Batch3d!Secret")
    assert tenant.stats["batches"] >= 1


def test_depends_on_and_failed_dependency(graph: Graph, tenant) -> None:
    user = tenant.create_user()
    answers = _batch(
        graph,
        [
            {"id": "a", "method": "GET", "url": "/users/missing@nowhere.test"},
            {
                "id": "b",
                "method": "PATCH",
                "url": f"/users/{user.id}",
                "dependsOn": ["a"],
                "headers": {"Content-Type": "application/json"},
                "body": {"displayName": "Nope"},
            },
            {"id": "c", "method": "GET", "url": f"/users/{user.id}", "dependsOn": ["b"]},
            {"id": "d", "method": "GET", "url": f"/users/{user.id}?$select=displayName"},
        ],
    )
    assert answers["a"]["status"] == 404
    assert answers["b"]["status"] == 424
    assert answers["c"]["status"] == 424
    assert answers["d"]["status"] == 200
    assert tenant.get_user(user.id)["displayName"] != "Nope"


def test_batch_limits_refuse_the_whole_batch(graph: Graph) -> None:
    many = [{"id": str(i), "method": "GET", "url": "/users?$top=1"} for i in range(21)]
    answer = graph.post("/$batch", {"requests": many})
    assert answer.status_code == 400
    assert error_of(answer)["code"] == "BadRequest"
    twice = [{"id": "1", "method": "GET", "url": "/users"}] * 2
    assert graph.post("/$batch", {"requests": twice}).status_code == 400
    dangling = [{"id": "1", "method": "GET", "url": "/users", "dependsOn": ["9"]}]
    assert graph.post("/$batch", {"requests": dangling}).status_code == 400
    no_type = [{"id": "1", "method": "PATCH", "url": "/users/x", "body": {"a": 1}}]
    assert graph.post("/$batch", {"requests": no_type}).status_code == 400
    twenty = [{"id": str(i), "method": "GET", "url": "/users?$top=1"} for i in range(20)]
    assert graph.post("/$batch", {"requests": twenty}).status_code == 200


def test_inner_requests_are_throttled_and_checked(graph: Graph, tenant, http, sim) -> None:
    tenant.throttle = ThrottleConfig(write_units=3, write_window=300.0)
    users = [tenant.create_user() for _ in range(5)]
    answers = _batch(
        graph,
        [
            {
                "id": str(i),
                "method": "PATCH",
                "url": f"/users/{u.id}",
                "headers": {"Content-Type": "application/json"},
                "body": {"jobTitle": "T"},
            }
            for i, u in enumerate(users)
        ],
    )
    statuses = [answers[str(i)]["status"] for i in range(5)]
    assert statuses == [204, 204, 204, 429, 429]
    assert int(answers["3"]["headers"]["Retry-After"]) >= 1
    assert answers["3"]["body"]["error"]["code"] == "TooManyRequests"
    tenant.throttle = ThrottleConfig()
    reader = Graph(http, sim, tenant, tenant.add_app(permissions=("User.Read.All",)))
    inner = _batch(
        reader,
        [
            {
                "id": "1",
                "method": "PATCH",
                "url": f"/users/{users[0].id}",
                "headers": {"Content-Type": "application/json"},
                "body": {"jobTitle": "x"},
            }
        ],
    )
    assert inner["1"]["status"] == 403


def test_inner_fault(graph: Graph, tenant) -> None:
    tenant.inject_fault(method="GET", path_prefix="/v1.0/users", status=503, retry_after=7)
    answers = _batch(
        graph,
        [
            {"id": "1", "method": "GET", "url": "/users?$top=1"},
            {"id": "2", "method": "GET", "url": "/users?$top=1"},
        ],
    )
    assert answers["1"]["status"] == 503
    assert answers["1"]["headers"]["Retry-After"] == "7"
    assert answers["2"]["status"] == 200
