"""Operations in-process (issue 18): /healthz, /readyz with each of its checks failing for
real (a locked vault, a schema behind, an agent not heard from), request ids, /metrics and
who may read it, and the JSON log lines of a request."""

from __future__ import annotations

import io
import json
import logging
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from credsync.agent.heartbeat import Heartbeat
from credsync.api.state import ServerState
from credsync.logcontext import JsonFormatter, fields
from credsync.server.app import create_app
from credsync.server.health import AgentWatch
from credsync.storage.database import SCHEMA_REVISION
from credsync.types import Secret
from credsync.vault import KeyRing
from vault.helpers import ADMIN_PASSWORD

from .conftest import ApiWorld

V1 = "/api/v1"
TOKEN = "scrape-token-for-the-tests-0123456789"


def _app(api: ApiWorld, **options: object) -> TestClient:
    return TestClient(create_app(api.state, **options), raise_server_exceptions=False)  # type: ignore[arg-type]


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def _scrape(http: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers["cache-control"] == "no-store"
    return _samples(response.text)


# -- /healthz and /readyz --------------------------------------------------------------------
def test_healthz_answers_without_sign_in_and_is_never_cached(api: ApiWorld) -> None:
    response = _app(api).get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})
    assert response.headers["cache-control"] == "no-store"


def test_readyz_is_ready_with_every_check_named(api: ApiWorld) -> None:
    api.world.keys.kek()  # the server unlocks at start
    response = _app(api).get("/readyz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready"
    assert set(body["checks"]) == {"database", "schema", "vault", "agent"}
    assert all(check["ok"] for check in body["checks"].values())
    assert SCHEMA_REVISION in body["checks"]["schema"]["detail"]
    assert "no agent expected" in body["checks"]["agent"]["detail"]
    assert response.headers["cache-control"] == "no-store"


def test_readyz_is_503_naming_a_locked_vault(api: ApiWorld) -> None:
    locked = ServerState(api.world.vault, KeyRing(None))
    response = TestClient(create_app(locked)).get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["vault"]
    assert body["checks"]["vault"] == {"ok": False, "detail": "locked"}


def test_readyz_is_503_naming_a_schema_behind(api: ApiWorld) -> None:
    api.world.keys.kek()
    path = api.world.db.sqlite_path
    assert path is not None
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0035'")
    body = _app(api).get("/readyz").json()
    assert body["failed"] == ["schema"]
    assert "credsync db upgrade" in body["checks"]["schema"]["detail"]


def test_readyz_is_503_naming_an_unreachable_database(api: ApiWorld, tmp_path: Path) -> None:
    api.world.keys.kek()
    path = api.world.db.sqlite_path
    assert path is not None
    api.world.db.dispose()
    path.rename(tmp_path / "moved.db")  # the file gone: nothing to read
    body = _app(api).get("/readyz").json()
    assert body["failed"] == ["database", "schema"]
    assert "no credsync vault" in body["checks"]["database"]["detail"]


def test_readyz_expects_a_separate_agent_s_heartbeat(api: ApiWorld, tmp_path: Path) -> None:
    api.world.keys.kek()
    beat = tmp_path / "agent.heartbeat"
    http = _app(api, agent=AgentWatch(heartbeat_file=beat))
    missing = http.get("/readyz")
    assert missing.status_code == 503
    assert missing.json()["failed"] == ["agent"]
    assert "credsync agent" in missing.json()["checks"]["agent"]["detail"]
    Heartbeat(beat, "host:1").beat()
    assert http.get("/readyz").status_code == 200
    old = time.time() - 3600
    import os

    os.utime(beat, (old, old))  # an agent that stopped an hour ago
    stale = http.get("/readyz").json()
    assert stale["failed"] == ["agent"]
    assert "more than 60 s" in stale["checks"]["agent"]["detail"]


def test_readyz_watches_the_agent_in_the_process(api: ApiWorld) -> None:
    api.world.keys.kek()
    last: list[float | None] = [None]
    http = _app(api, agent=AgentWatch(beat=lambda: last[0]))
    assert http.get("/readyz").json()["failed"] == ["agent"]
    last[0] = time.time()
    assert http.get("/readyz").status_code == 200
    last[0] = time.time() - 120
    assert http.get("/readyz").json()["failed"] == ["agent"]


def test_readyz_expects_named_remote_agents_polling(api: ApiWorld) -> None:
    """--expect-remote-agent: /readyz fails naming a remote agent that has not polled within
    30 s (or is revoked), and lists the named agents' ages (only those)."""
    import datetime as dt

    from credsync.crypto.agent_keys import AgentKeys
    from credsync.storage import remote_agents as agent_rows
    from credsync.vault.remote_agents import RemoteAgents

    world = api.world
    world.keys.kek()
    from api.test_remote_agents_api import _directory

    _directory(world, "Contoso", "contoso-ad")
    agents = RemoteAgents(world.vault)
    ids = {}
    for name in ("site-a", "site-b", "site-c"):
        token = agents.enroll(world.admin, name, ["contoso-ad"]).token
        keys = AgentKeys.generate()
        ids[name] = agents.register(token, keys.sign_public, keys.box_public).id
    http = _app(api, agent=AgentWatch(remote_agents=("site-a", "site-b")))
    ready = http.get("/readyz")
    assert ready.status_code == 200, ready.text  # both registered just now
    assert set(ready.json()["remote_agents"]) == {"site-a", "site-b"}  # not site-c
    assert ready.json()["remote_agents"]["site-a"]["alive"] is True
    with world.db.write() as conn:  # site-b last polled two minutes ago
        agent_rows.seen(conn, ids["site-b"], dt.datetime.now(dt.UTC) - dt.timedelta(minutes=2))
    stale = http.get("/readyz")
    assert stale.status_code == 503
    body = stale.json()
    assert body["failed"] == ["remote_agents"]
    assert "site-b" in body["checks"]["remote_agents"]["detail"]
    assert "site-a" not in body["checks"]["remote_agents"]["detail"]
    assert body["remote_agents"]["site-b"]["alive"] is False
    assert body["remote_agents"]["site-b"]["last_seen_seconds"] >= 119
    agents.seen(ids["site-b"])  # it polls again
    assert http.get("/readyz").status_code == 200
    agents.revoke(world.admin, "site-a")
    revoked = http.get("/readyz").json()
    assert revoked["failed"] == ["remote_agents"]
    assert revoked["remote_agents"]["site-a"]["state"] == "revoked"
    # without the option, no remote agent is named
    assert "remote_agents" not in _app(api).get("/readyz").json()


# -- request ids -----------------------------------------------------------------------------
def test_a_well_formed_request_id_is_kept_and_a_bad_one_replaced(api: ApiWorld) -> None:
    http = _app(api)
    kept = http.get("/healthz", headers={"X-Request-ID": "lb-42.a:b_c"})
    assert kept.headers["x-request-id"] == "lb-42.a:b_c"
    for bad in ("two words", "x" * 129, 'quote"d', ""):
        answer = http.get("/healthz", headers={"X-Request-ID": bad})
        made = answer.headers["x-request-id"]
        assert made != bad, bad
        assert len(made) == 32, bad
        assert made.isalnum(), bad
    first, second = http.get("/healthz"), http.get("/healthz")
    assert first.headers["x-request-id"] != second.headers["x-request-id"]
    # every answer: an API error, a page, a refused body
    assert "x-request-id" in http.get(f"{V1}/nope").headers
    assert "x-request-id" in http.get("/sign-in").headers
    too_big = http.post(f"{V1}/clients", content=b"x" * (2 << 20))
    assert too_big.status_code == 413
    assert "x-request-id" in too_big.headers


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The ``credsync`` logger's records as JSON lines (what ``--log-format json`` writes)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("credsync")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_each_request_is_a_json_line_with_its_id_and_route_not_its_path(
    api: ApiWorld, json_log: io.StringIO
) -> None:
    http = _app(api)
    http.headers["Authorization"] = f"Bearer {api.tokens['admin']}"
    answer = http.post(f"{V1}/clients", json={"name": "Secretive Client AB"})
    assert answer.status_code == 201
    http.get(f"{V1}/clients/Secretive%20Client%20AB", headers={"X-Request-ID": "req-7"})
    lines = [x for x in _lines(json_log) if x["logger"] == "credsync.http"]
    assert lines[0]["request_id"] == answer.headers["x-request-id"]
    assert str(lines[0]["message"]).startswith(f"POST {V1}/clients 201 ")
    shown = next(x for x in lines if x["request_id"] == "req-7")
    assert str(shown["message"]).startswith(f"GET {V1}/clients/{{ref}} 200 ")
    assert "Secretive" not in json_log.getvalue()  # the route's template, not the path
    for line in lines:
        assert {"time", "level", "logger", "message", "request_id", "pid"} <= set(line)
        assert str(line["time"]).endswith("Z")


def test_json_lines_carry_the_ids_of_what_they_are_about(json_log: io.StringIO) -> None:
    log = logging.getLogger("credsync.sync")
    with fields(client_id="c1", directory_id="d1"):
        with fields(run_id="r1"):
            log.info("inside")
        log.warning("outside the run", extra={"credential_id": "k1"})
    try:
        raise ValueError("a reason")
    except ValueError:
        log.exception("failed")
    inside, outside, failed = _lines(json_log)
    assert (inside["client_id"], inside["directory_id"], inside["run_id"]) == ("c1", "d1", "r1")
    assert "run_id" not in outside
    assert outside["credential_id"] == "k1"
    assert outside["level"] == "WARNING"
    assert inside["request_id"] is None
    assert failed["exception"]["type"] == "ValueError"  # type: ignore[index]


# -- /metrics --------------------------------------------------------------------------------
def test_metrics_are_off_without_a_scrape_token(api: ApiWorld) -> None:
    response = _app(api).get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 404
    assert "--metrics-token-file" in response.json()["error"]["message"]


def test_metrics_refuse_a_scrape_without_the_token(api: ApiWorld) -> None:
    http = _app(api, metrics_token=Secret(TOKEN))
    admin_token = {
        "Authorization": f"Bearer {api.tokens['admin']}"
    }  # an API token opens nothing here
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}, admin_token):
        refused = http.get("/metrics", headers=headers)
        assert refused.status_code == 401, headers
        assert refused.json()["error"]["code"] == "unauthenticated"
        assert "credsync_" not in refused.text
        assert refused.headers["www-authenticate"].startswith("Bearer")


def test_metrics_name_no_client_and_count_sign_ins(api: ApiWorld) -> None:
    api.world.keys.kek()
    http = _app(api, metrics_token=Secret(TOKEN))
    before = _scrape(http)
    admin = http.headers.copy()
    admin["Authorization"] = f"Bearer {api.tokens['admin']}"
    assert (
        http.post(f"{V1}/clients", json={"name": "Tailspin Hidden"}, headers=admin).status_code
        == 201
    )
    login = f"{V1}/auth/login"
    assert http.post(login, json={"name": "alice", "password": "wrong"}).status_code == 401
    assert http.post(login, json={"name": "alice", "password": ADMIN_PASSWORD}).status_code == 200
    after = _scrape(http)
    key = "credsync_sign_ins_total"
    for outcome in ("ok", "refused"):
        label = (("outcome", outcome), ("who", "operator"))
        assert after[(key, label)] - before.get((key, label), 0.0) == 1.0, outcome
    text = http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).text
    assert "Tailspin" not in text
    assert ("credsync_push_queue_depth", (("state", "waiting"),)) in after
    assert ("credsync_push_queue_oldest_age_seconds", ()) in after
    assert ("credsync_captures_waiting", ()) in after
    # bounded labels: only closed sets of names
    for _, labels in after:
        for name, _ in labels:
            assert name in {"state", "status", "outcome", "who", "le"}, name
